//! The shapes of store queries and their answers: filters, pages, counts, reports.

use kcf_domain::{ConnectorId, Entity, MessageId, MessageStatus, Mode, Timestamp};
use serde::{Deserialize, Serialize};

/// The largest page a list call returns.
pub const MAX_PAGE: u32 = 500;

/// Which messages to list or count. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFilter {
    /// Only this connector.
    pub connector: Option<ConnectorId>,
    /// Only this entity.
    pub entity: Option<Entity>,
    /// Only this mode.
    pub mode: Option<Mode>,
    /// Only these statuses.
    pub statuses: Vec<MessageStatus>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
    /// Record key or description contains this text (case-insensitive).
    pub text: Option<String>,
    /// Only messages of this batch run.
    pub batch_run: Option<i64>,
    /// Only this record (exactly).
    #[serde(default)]
    pub record_key: Option<String>,
}

/// A page request: newest first, keyset-paged by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Return messages with ids below this (the previous page's `next`).
    pub before: Option<MessageId>,
    /// How many (1 ..= [`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            before: None,
            limit: 50,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; none on the last page.
    pub next: Option<MessageId>,
}

/// How many messages an entity has in a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCount {
    /// The connector.
    pub connector: ConnectorId,
    /// The entity.
    pub entity: Entity,
    /// The status.
    pub status: MessageStatus,
    /// How many.
    pub count: u64,
}

/// What a manual action did to each message it named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionReport {
    /// Messages whose status changed.
    pub changed: Vec<MessageId>,
    /// Messages left alone, with why: `[id, reason]` pairs.
    #[schema(schema_with = refusals)]
    pub refused: Vec<(MessageId, String)>,
}

/// `[id, reason]` pairs, as a schema every OpenAPI 3.1 tool reads (an array of two, each an
/// id or a reason).
fn refusals() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type, schema::SchemaType};
    let pair = ArrayBuilder::new()
        .items(
            ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::Integer, Type::String])),
        )
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new().items(pair).build()
}

/// One finished lease for [`crate::Store::complete_many`]: its outcome and, as for
/// `complete`, a note (the reason in the history; the error of an Invalid message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The lease being finished.
    pub lease: kcf_domain::Lease,
    /// How it ended.
    pub outcome: kcf_domain::Outcome,
    /// Why, in plain words (`None`: nothing to say).
    pub note: Option<String>,
}

impl Completion {
    /// A completion without a note.
    pub fn new(lease: kcf_domain::Lease, outcome: kcf_domain::Outcome) -> Self {
        Self {
            lease,
            outcome,
            note: None,
        }
    }

    /// The same with a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailOutcome {
    /// Will be retried at this time.
    Retry(Timestamp),
    /// Out of attempts; waits for a person.
    Aborted,
    /// The lease was no longer ours; nothing changed.
    Fenced,
}

/// Which side of a binding to look up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKey<'a> {
    /// The ERP key.
    Erp(&'a str),
    /// The store's id.
    External(&'a str),
}
