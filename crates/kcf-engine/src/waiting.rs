//! Why a message that is not finished has not run yet, in words: what a person looking at a
//! pending row needs to know ("waiting for Process: listed by batch run #12", "waiting
//! behind #311", "next attempt at 14:32:05", "the store is out").

use kcf_domain::{ConnectorState, Message, MessageStatus, Mode, Timestamp};
use kcf_store::{MessageFilter, PageRequest};

use crate::Engine;

impl Engine {
    /// Why `m` is waiting, or what happens next to it; `None` when it is finished and
    /// nothing more will happen by itself.
    pub async fn why_waiting(&self, m: &Message) -> Result<Option<String>, kcf_store::StoreError> {
        let now = Timestamp::now();
        match m.status {
            MessageStatus::Aborted => {
                return Ok(Some(format!(
                    "aborted after {} attempts: nothing more happens until a person retries it",
                    m.attempts
                )));
            }
            MessageStatus::Invalid => {
                return Ok(Some(
                    "cannot be synced as it is: fix the cause, then Retry (or Skip it)".into(),
                ));
            }
            MessageStatus::Processing => {
                return Ok(Some(format!(
                    "being processed by {}",
                    m.lease_owner.as_deref().unwrap_or("a worker")
                )));
            }
            MessageStatus::Pending | MessageStatus::Failed => {}
            _ => return Ok(None),
        }
        if let Some(c) = self.store.connector(&m.connector).await? {
            if c.state != ConnectorState::Running {
                return Ok(Some(format!(
                    "the connector is {}: nothing is processed until it is resumed",
                    c.state
                )));
            }
            if let Some(o) = &c.outage {
                return Ok(Some(if o.needs_person {
                    format!(
                        "{} refused kcf's sign-in: waits for the connection to be fixed",
                        o.system
                    )
                } else {
                    format!(
                        "{} is out: waits for it to answer (next probe {})",
                        o.system,
                        clock(o.next_probe_at)
                    )
                }));
            }
            if let Some(until) = c.paused_until.filter(|t| *t > now) {
                return Ok(Some(format!(
                    "the connector waits for a rate limit until {}",
                    clock(until)
                )));
            }
        }
        if m.mode == Mode::Batch && !m.manual {
            return Ok(Some(match m.batch_run {
                Some(run) => {
                    format!("waiting for Process: listed by batch run #{run}, not processed")
                }
                None => "waiting for Process".into(),
            }));
        }
        let older = self
            .store
            .list_messages(
                &MessageFilter {
                    connector: Some(m.connector.clone()),
                    entity: Some(m.entity),
                    record_key: Some(m.record_key.as_str().to_owned()),
                    statuses: vec![
                        MessageStatus::Pending,
                        MessageStatus::Failed,
                        MessageStatus::Processing,
                    ],
                    ..MessageFilter::default()
                },
                PageRequest {
                    before: Some(m.id),
                    limit: 20,
                },
            )
            .await?;
        if let Some(first) =
            older.items.iter().rev().find(|o| {
                o.status == MessageStatus::Processing || o.mode != Mode::Batch || o.manual
            })
        {
            return Ok(Some(format!(
                "waiting behind #{} of the same record ({})",
                first.id, first.status
            )));
        }
        let settings = self.store.entity_settings(&m.connector).await?;
        if let Some(s) = settings.iter().find(|s| s.entity == m.entity) {
            if s.paused {
                return Ok(Some(format!("{} is paused for this connector", m.entity)));
            }
            if !s.auto_process && !m.manual {
                return Ok(Some(
                    "auto-process is off for this entity: waits for Process".into(),
                ));
            }
        }
        Ok(Some(if m.next_attempt_at > now {
            format!("next attempt at {}", clock(m.next_attempt_at))
        } else {
            "due now: the next free worker takes it".into()
        }))
    }
}

/// A UTC time as the workspace shows it.
fn clock(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.0)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}
