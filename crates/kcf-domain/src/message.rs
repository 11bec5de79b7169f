//! The message: the unit of sync.

use serde::{Deserialize, Serialize};

use crate::{
    ConnectorId, Direction, Entity, MessageId, MessageStatus, Mode, RecordKey, Timestamp,
    Transition,
};

/// A message to add to the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// The connector it belongs to.
    pub connector: ConnectorId,
    /// What kind of record.
    pub entity: Entity,
    /// Which way it moves.
    pub direction: Direction,
    /// How it was started.
    pub mode: Mode,
    /// The record's key in its source system.
    pub record_key: RecordKey,
    /// A human description shown in lists ("Order #104 from jane@example.com").
    pub description: String,
    /// Where it came from (`acumatica`, `bigcommerce`, `batch`, `manual`…); dedup keys are
    /// unique per connector and source.
    pub source: String,
    /// The sender's idempotency key (notification id, webhook hash…), if it has one.
    pub dedup_key: Option<String>,
    /// The notification, or the listed record.
    pub payload: serde_json::Value,
    /// When the source last changed the record, if known.
    pub source_modified_at: Option<Timestamp>,
    /// The batch run that listed it.
    pub batch_run: Option<i64>,
    /// Waits for a person to press Process (a batch listing a person asked for); otherwise a
    /// batch message is processed as soon as a worker is free.
    pub wait_for_person: bool,
}

impl NewMessage {
    /// A message with an empty description and payload, to be filled in with the `with_*` methods.
    pub fn new(
        connector: ConnectorId,
        entity: Entity,
        direction: Direction,
        mode: Mode,
        record_key: RecordKey,
        source: impl Into<String>,
    ) -> Self {
        Self {
            connector,
            entity,
            direction,
            mode,
            record_key,
            description: String::new(),
            source: source.into(),
            dedup_key: None,
            payload: serde_json::Value::Null,
            source_modified_at: None,
            batch_run: None,
            wait_for_person: false,
        }
    }

    /// Sets the dedup key.
    pub fn with_dedup_key(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    /// Sets the payload.
    pub fn with_payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The connector it belongs to.
    pub connector: ConnectorId,
    /// What kind of record.
    pub entity: Entity,
    /// Which way it moves.
    pub direction: Direction,
    /// How it was started.
    pub mode: Mode,
    /// The record's key in its source system.
    pub record_key: RecordKey,
    /// A human description.
    pub description: String,
    /// Where it came from.
    pub source: String,
    /// The sender's idempotency key.
    pub dedup_key: Option<String>,
    /// Where it is in its life.
    pub status: MessageStatus,
    /// Attempts spent so far. A claim starts one; a try put off, a release at shutdown and a
    /// worker that died holding it give it back.
    pub attempts: u32,
    /// Tries put off because the other system was out or busy (they spend no attempt).
    #[serde(default)]
    pub postponed: u32,
    /// Workers that died holding it, in a row (they spend no attempt). At twice the entity's
    /// max attempts the message is aborted as one that kills every worker that takes it.
    #[serde(default)]
    pub crashes: u32,
    /// When it may next be claimed.
    pub next_attempt_at: Timestamp,
    /// A person asked for it to be processed (it is claimed even when auto-process is off).
    pub manual: bool,
    /// The worker holding it, while processing.
    pub lease_owner: Option<String>,
    /// When that worker's lease runs out.
    pub lease_expires_at: Option<Timestamp>,
    /// The last error, in plain words.
    pub last_error: Option<String>,
    /// The notification, or the listed record.
    pub payload: serde_json::Value,
    /// When the source last changed the record.
    pub source_modified_at: Option<Timestamp>,
    /// The batch run that listed it.
    pub batch_run: Option<i64>,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// The result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    /// The message (the existing one for a duplicate).
    pub id: MessageId,
    /// True when the dedup key was already known and nothing new was stored.
    pub duplicate: bool,
}

/// Proof that a worker holds a message: completion and failure are fenced by its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The message.
    pub id: MessageId,
    /// A fresh random token written by the claim.
    pub token: String,
    /// The worker that claimed it.
    pub owner: String,
    /// Which attempt this is (1-based).
    pub attempt: u32,
    /// When the lease runs out unless extended.
    pub expires_at: Timestamp,
}

/// A message claimed by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The message as it was claimed (status `processing`).
    pub message: Message,
    /// The lease to complete, fail or extend it with.
    pub lease: Lease,
}

/// One status change, with why it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// The message.
    pub message_id: MessageId,
    /// When.
    pub at: Timestamp,
    /// The status before (none when the message was created).
    pub from: Option<MessageStatus>,
    /// The status after.
    pub to: MessageStatus,
    /// Who did it: a worker id, `user:NAME`, `reaper`, `ingress`…
    pub actor: String,
    /// Why, in plain words (the error for a failure).
    pub reason: Option<String>,
}

/// What kcf last sent to the other system for a message: the record as it was mapped, kept
/// whether the write then worked or not (the record page's "Mapped to").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentDocument {
    /// The message.
    pub message_id: MessageId,
    /// When it was sent.
    pub at: Timestamp,
    /// Where it went, in words: `Acumatica SalesOrder`, `BigCommerce product 112`…
    pub target: String,
    /// The body as sent.
    pub body: serde_json::Value,
}

/// A person's action on messages, with who took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualAction {
    /// One of [`Transition::MANUAL`].
    pub transition: Transition,
    /// Who: `user:NAME` or `api:TOKEN-NAME`.
    pub actor: String,
    /// Why, if they said.
    pub reason: Option<String>,
}
