//! Turning database rows into domain types, the same way for both backends.

use std::str::FromStr;

use kcf_domain::{
    BatchRun, Binding, Connector, ConnectorId, Entity, EntitySettings, HistoryEntry, Mapping,
    Message, MessageId, RecordKey, SentDocument, Timestamp,
};
use sqlx::{Row, types::Json};

use crate::{Result, StoreError};

/// Typed column access shared by both backends' rows.
pub(crate) trait Columns {
    fn i64(&self, col: &'static str) -> Result<i64>;
    fn opt_i64(&self, col: &'static str) -> Result<Option<i64>>;
    fn text(&self, col: &'static str) -> Result<String>;
    fn opt_text(&self, col: &'static str) -> Result<Option<String>>;
    fn flag(&self, col: &'static str) -> Result<bool>;
    fn json(&self, col: &'static str) -> Result<serde_json::Value>;
    fn opt_bytes(&self, col: &'static str) -> Result<Option<Vec<u8>>>;

    fn parsed<T: FromStr>(&self, col: &'static str) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        self.text(col)?
            .parse()
            .map_err(|e| StoreError::corrupt(col, e))
    }

    fn time(&self, col: &'static str) -> Result<Timestamp> {
        self.i64(col).map(Timestamp)
    }

    fn opt_time(&self, col: &'static str) -> Result<Option<Timestamp>> {
        self.opt_i64(col).map(|v| v.map(Timestamp))
    }

    fn count(&self, col: &'static str) -> Result<u64> {
        u64::try_from(self.i64(col)?).map_err(|e| StoreError::corrupt(col, e))
    }
}

macro_rules! impl_columns {
    ($row:ty) => {
        impl Columns for $row {
            fn i64(&self, col: &'static str) -> Result<i64> {
                Ok(self.try_get(col)?)
            }
            fn opt_i64(&self, col: &'static str) -> Result<Option<i64>> {
                Ok(self.try_get(col)?)
            }
            fn text(&self, col: &'static str) -> Result<String> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &'static str) -> Result<Option<String>> {
                Ok(self.try_get(col)?)
            }
            fn flag(&self, col: &'static str) -> Result<bool> {
                Ok(self.try_get(col)?)
            }
            fn json(&self, col: &'static str) -> Result<serde_json::Value> {
                Ok(self.try_get::<Json<serde_json::Value>, _>(col)?.0)
            }
            fn opt_bytes(&self, col: &'static str) -> Result<Option<Vec<u8>>> {
                Ok(self.try_get(col)?)
            }
        }
    };
}

impl_columns!(sqlx::sqlite::SqliteRow);
impl_columns!(sqlx::postgres::PgRow);

pub(crate) fn message(r: &impl Columns) -> Result<Message> {
    Ok(Message {
        id: MessageId(r.i64("id")?),
        connector: ConnectorId::parse(r.text("connector")?)?,
        entity: r.parsed("entity")?,
        direction: r.parsed("direction")?,
        mode: r.parsed("mode")?,
        record_key: RecordKey::stored(r.text("record_key")?),
        description: r.text("description")?,
        source: r.text("source")?,
        dedup_key: r.opt_text("dedup_key")?,
        status: r.parsed("status")?,
        attempts: u32::try_from(r.i64("attempts")?)
            .map_err(|e| StoreError::corrupt("attempts", e))?,
        postponed: u32::try_from(r.i64("postponed")?).unwrap_or(u32::MAX),
        crashes: u32::try_from(r.i64("crashes")?).unwrap_or(u32::MAX),
        next_attempt_at: r.time("next_attempt_at")?,
        manual: r.flag("manual")?,
        lease_owner: r.opt_text("lease_owner")?,
        lease_expires_at: r.opt_time("lease_expires_at")?,
        last_error: r.opt_text("last_error")?,
        payload: r.json("payload")?,
        source_modified_at: r.opt_time("source_modified_at")?,
        batch_run: r.opt_i64("batch_run")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub(crate) fn connector(r: &impl Columns) -> Result<Connector> {
    Ok(Connector {
        id: ConnectorId::parse(r.text("id")?)?,
        name: r.text("name")?,
        erp: r.parsed("erp")?,
        store: r.parsed("store")?,
        state: r.parsed("state")?,
        paused_until: r.opt_time("paused_until")?,
        pause_reason: r.opt_text("pause_reason")?,
        outage: match r.opt_time("outage_since")? {
            None => None,
            Some(since) => Some(kcf_domain::Outage {
                system: r
                    .opt_text("outage_system")?
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(kcf_domain::Platform::Acumatica),
                since,
                needs_person: r.flag("outage_needs_person")?,
                reason: r.opt_text("outage_reason")?.unwrap_or_default(),
                probes: u32::try_from(r.i64("outage_probes")?).unwrap_or(u32::MAX),
                next_probe_at: r.opt_time("outage_next_probe")?.unwrap_or(since),
            }),
        },
        settings: r.json("settings")?,
        sealed_credentials: r.opt_bytes("sealed_credentials")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub(crate) fn entity_settings(r: &impl Columns) -> Result<EntitySettings> {
    let entity: Entity = r.parsed("entity")?;
    let choices = entity.info().removals;
    // A row from before the choice existed, or a choice the entity no longer offers: its
    // default.
    let on_removal = match r.opt_text("on_removal")? {
        Some(v) => Some(
            v.parse()
                .map_err(|e| StoreError::corrupt("on_removal", e))?,
        ),
        None => None,
    }
    .filter(|choice| choices.contains(choice))
    .or(choices.first().copied());
    Ok(EntitySettings {
        connector: ConnectorId::parse(r.text("connector")?)?,
        entity,
        active: r.flag("active")?,
        direction: r.parsed("direction")?,
        realtime: r.flag("realtime")?,
        auto_process: r.flag("auto_process")?,
        paused: r.flag("paused")?,
        schedule: r.opt_text("schedule")?,
        max_attempts: u32::try_from(r.i64("max_attempts")?)
            .map_err(|e| StoreError::corrupt("max_attempts", e))?,
        fields: serde_json::from_value(r.json("fields")?)
            .map_err(|e| StoreError::corrupt("fields", e))?,
        on_removal,
    })
}

pub(crate) fn mapping(r: &impl Columns) -> Result<Mapping> {
    Ok(Mapping {
        connector: ConnectorId::parse(r.text("connector")?)?,
        kind: r.parsed("kind")?,
        erp_value: r.text("erp_value")?,
        store_value: r.text("store_value")?,
    })
}

pub(crate) fn binding(r: &impl Columns) -> Result<Binding> {
    Ok(Binding {
        connector: ConnectorId::parse(r.text("connector")?)?,
        entity: r.parsed("entity")?,
        erp_key: r.text("erp_key")?,
        external_id: r.text("external_id")?,
        fingerprint: r.opt_text("fingerprint")?,
        synced_at: r.time("synced_at")?,
    })
}

/// A `connector, entity, status, n` row of a count.
pub(crate) fn status_count(r: &impl Columns) -> Result<crate::StatusCount> {
    Ok(crate::StatusCount {
        connector: ConnectorId::parse(r.text("connector")?)?,
        entity: r.parsed("entity")?,
        status: r.parsed("status")?,
        count: r.count("n")?,
    })
}

pub(crate) fn sent(r: &impl Columns) -> Result<SentDocument> {
    Ok(SentDocument {
        message_id: MessageId(r.i64("message_id")?),
        at: r.time("at")?,
        target: r.text("target")?,
        body: r.json("body")?,
    })
}

pub(crate) fn history(r: &impl Columns) -> Result<HistoryEntry> {
    Ok(HistoryEntry {
        message_id: MessageId(r.i64("message_id")?),
        at: r.time("at")?,
        from: r
            .opt_text("from_status")?
            .map(|s| s.parse())
            .transpose()
            .map_err(|e| StoreError::corrupt("from_status", e))?,
        to: r.parsed("to_status")?,
        actor: r.text("actor")?,
        reason: r.opt_text("reason")?,
    })
}

pub(crate) fn batch_run(r: &impl Columns) -> Result<BatchRun> {
    Ok(BatchRun {
        id: r.i64("id")?,
        connector: ConnectorId::parse(r.text("connector")?)?,
        entity: r.parsed("entity")?,
        mode: r.parsed("mode")?,
        window_from: r.time("window_from")?,
        window_to: r.time("window_to")?,
        status: r.parsed("status")?,
        checkpoint: r.opt_text("checkpoint")?,
        listed: r.count("listed")?,
        enqueued: r.count("enqueued")?,
        error: r.opt_text("error")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub(crate) fn session(r: &impl Columns) -> Result<kcf_domain::Session> {
    Ok(kcf_domain::Session {
        username: r.text("username")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

pub(crate) fn api_token(r: &impl Columns) -> Result<kcf_domain::ApiToken> {
    Ok(kcf_domain::ApiToken {
        id: r.i64("id")?,
        name: r.text("name")?,
        hint: r.text("hint")?,
        created_by: r.text("created_by")?,
        created_at: r.time("created_at")?,
        last_used_at: r.opt_time("last_used_at")?,
        revoked_at: r.opt_time("revoked_at")?,
    })
}
