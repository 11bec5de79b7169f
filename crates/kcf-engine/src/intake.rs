//! Real-time intake: an authenticated notification becomes durable messages, one per affected
//! record, deduplicated on the sender's id. The caller answers 2xx only after this returns Ok,
//! which is after the commit.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use kcf_domain::{
    ConnectorId, ConnectorState, Direction, Enqueued, Entity, EntitySettings, MessageStatus, Mode,
    NewMessage, Platform, RecordKey,
};

use crate::Engine;

/// Re-checks one webhook without a `webhook-id` may add after messages that already ran.
const RECHECKS: usize = 3;

/// What a notification became.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct IntakeReport {
    /// New messages stored.
    pub stored: usize,
    /// Records already stored under the same dedup key (a resend).
    pub duplicates: usize,
    /// Records not wanted, with why (entity inactive, real-time off, direction).
    pub ignored: Vec<String>,
}

/// Why a notification was refused. Nothing is stored.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No such connector.
    #[error("there is no connector '{0}'")]
    UnknownConnector(String),
    /// The secret header or signature did not match.
    #[error("{0}")]
    Unauthorized(String),
    /// The body is not a notification.
    #[error("{0}")]
    BadRequest(String),
    /// kcf's database could not store it; the sender should retry.
    #[error("kcf's database: {0}")]
    Store(#[from] kcf_store::StoreError),
}

pub use kcf_platform::Headers;

impl Engine {
    fn intake_runtime(
        &self,
        connector: &str,
    ) -> Result<std::sync::Arc<crate::connector::ConnectorRuntime>, IntakeError> {
        ConnectorId::parse(connector)
            .ok()
            .and_then(|id| self.runtime(&id))
            .ok_or_else(|| IntakeError::UnknownConnector(connector.to_owned()))
    }

    /// A notification from `platform`, one of the connector's two sides: checked on its raw
    /// bytes by that platform's receiver, then one message per change.
    pub async fn intake(
        &self,
        platform: Platform,
        connector: &str,
        headers: Headers<'_>,
        body: &[u8],
    ) -> Result<IntakeReport, IntakeError> {
        let conn = self.intake_runtime(connector)?;
        let (inbound, direction) = if conn.erp.platform() == platform {
            (conn.erp.inbound(), Direction::ErpToStore)
        } else if conn.store.platform() == platform {
            (conn.store.inbound(), Direction::StoreToErp)
        } else {
            return Err(IntakeError::UnknownConnector(connector.to_owned()));
        };
        let Some(inbound) = inbound else {
            return Err(IntakeError::BadRequest(format!(
                "{} does not send notifications; its changes come in by batch",
                platform.label()
            )));
        };
        inbound
            .verify(connector, &conn.spec.ingress, headers, body)
            .map_err(IntakeError::Unauthorized)?;
        let notification = inbound
            .read(headers, body)
            .map_err(IntakeError::BadRequest)?;
        let source = platform.as_str();
        let mut report = IntakeReport {
            ignored: notification.ignored,
            ..IntakeReport::default()
        };
        if notification.changes.is_empty() {
            return Ok(report);
        }
        let settings = self.settings(&conn.id).await?;
        let mut messages = Vec::new();
        for change in notification.changes {
            if let Some(why) = unwanted(&settings, &conn.id, change.entity, direction) {
                report
                    .ignored
                    .push(format!("{} {}: {why}", change.entity, change.key));
                continue;
            }
            let key = match RecordKey::parse(change.key.clone()) {
                Ok(key) => key,
                Err(e) => match change.key_field {
                    Some(field) => return Err(IntakeError::BadRequest(format!("{field}: {e}"))),
                    None => {
                        report.ignored.push(format!(
                            "{} '{}': not a usable key",
                            change.entity, change.key
                        ));
                        continue;
                    }
                },
            };
            messages.push(
                NewMessage::new(
                    conn.id.clone(),
                    change.entity,
                    direction,
                    Mode::RealTime,
                    key,
                    source,
                )
                .with_dedup_key(change.dedup_key)
                .with_description(change.description)
                .with_payload(change.payload),
            );
        }
        let Some(base) = notification.ambiguous else {
            self.enqueue(messages, &mut report, source).await?;
            return Ok(report);
        };
        // Without the sender's delivery id, a resend and a second change within the same
        // second look the same. A copy whose message has not run yet changes nothing (that
        // run reads the record as it is then). One whose message already ran, or is running,
        // may carry a later change: it becomes a re-check, keyed on the message it follows,
        // so that the change is not lost. A true resend then costs one read of the record.
        for mut message in messages {
            for _ in 0..RECHECKS {
                let [enqueued] = self
                    .enqueue(vec![message.clone()], &mut report, source)
                    .await?[..]
                else {
                    break;
                };
                if !enqueued.duplicate {
                    break;
                }
                let still_to_run = self.store.message(enqueued.id).await?.is_none_or(|m| {
                    matches!(m.status, MessageStatus::Pending | MessageStatus::Failed)
                });
                if still_to_run {
                    break;
                }
                message = message.with_dedup_key(format!("{base}:after:{}", enqueued.id.0));
            }
        }
        Ok(report)
    }

    /// The connector's entity settings as intake needs them (none: it is stopped), from a
    /// cache that this process's own changes clear at once and that others' reach within
    /// [`SETTINGS_FOR`].
    async fn settings(&self, id: &ConnectorId) -> Result<Arc<Vec<EntitySettings>>, IntakeError> {
        let generation = self.store.settings_generation();
        if let Some(hit) = self.intake_settings.get(id, generation) {
            return Ok(hit);
        }
        let connector = self.store.connector(id).await?;
        let settings = if connector.is_some_and(|c| c.state == ConnectorState::Stopped) {
            Vec::new()
        } else {
            self.store.entity_settings(id).await?
        };
        let settings = Arc::new(settings);
        self.intake_settings.put(id, generation, settings.clone());
        Ok(settings)
    }

    async fn enqueue(
        &self,
        messages: Vec<NewMessage>,
        report: &mut IntakeReport,
        source: &'static str,
    ) -> Result<Vec<Enqueued>, IntakeError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let enqueued = self.store.enqueue_many(messages).await?;
        let duplicates = enqueued.iter().filter(|e| e.duplicate).count();
        let stored = enqueued.len() - duplicates;
        report.duplicates += duplicates;
        report.stored += stored;
        metrics::counter!("kcf_notifications_total", "source" => source, "result" => "stored")
            .increment(stored as u64);
        metrics::counter!("kcf_notifications_total", "source" => source, "result" => "duplicate")
            .increment(duplicates as u64);
        Ok(enqueued)
    }
}

/// Why a record should not become a message, if it should not.
fn unwanted(
    settings: &[EntitySettings],
    id: &ConnectorId,
    entity: Entity,
    direction: Direction,
) -> Option<String> {
    let Some(s) = settings.iter().find(|s| s.entity == entity) else {
        return Some(format!(
            "connector {id} is stopped or has no settings for {entity}"
        ));
    };
    if !s.active {
        Some(format!("{entity} sync is not active"))
    } else if !s.realtime {
        Some(format!(
            "real-time {entity} sync is off (batches still run)"
        ))
    } else if !s.direction.allows(direction) {
        Some(format!("{entity} syncs {} only", s.direction))
    } else {
        None
    }
}

/// How long intake may use settings it read; another process's change takes at most this
/// long to reach it (this process's own changes reach it at once).
pub(crate) const SETTINGS_FOR: Duration = Duration::from_secs(1);

/// Each connector's entity settings as intake last read them: when, and at which
/// [`kcf_store::Store::settings_generation`].
#[derive(Debug, Default)]
pub(crate) struct SettingsCache(Mutex<HashMap<ConnectorId, Cached>>);

/// Read at, at generation, what was read.
type Cached = (Instant, u64, Arc<Vec<EntitySettings>>);

impl SettingsCache {
    fn get(&self, id: &ConnectorId, generation: u64) -> Option<Arc<Vec<EntitySettings>>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(id)
            .filter(|(at, g, _)| *g == generation && at.elapsed() < SETTINGS_FOR)
            .map(|(_, _, s)| s.clone())
    }

    fn put(&self, id: &ConnectorId, generation: u64, settings: Arc<Vec<EntitySettings>>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(id.clone(), (Instant::now(), generation, settings));
    }
}
