//! kcf's domain: what is synced (entities, directions, modes), the message and its typed state
//! machine, bindings, connectors with their settings and mappings, and batch runs. No IO.

pub mod names;

mod auth;
mod batch;
mod connector;
mod entity;
mod ids;
mod message;
pub mod records;
mod retry;
mod secret;
mod status;
mod time;

pub use auth::{ApiToken, Session};
pub use batch::{BatchMode, BatchRun, BatchStatus, NewBatchRun};
pub use connector::{
    Binding, Connector, ConnectorState, EntitySettings, Mapping, MappingKind, Outage, Platform,
    Removal,
};
pub use entity::{Direction, ENTITIES, Entity, EntityInfo, Mode, Screen, SyncDirection};
pub use ids::{ConnectorId, InvalidId, MessageId, RecordKey};
pub use message::{
    Claimed, Enqueued, HistoryEntry, Lease, ManualAction, Message, NewMessage, SentDocument,
};
pub use names::{Named, UnknownName};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use status::{InvalidTransition, MessageStatus, Outcome, Transition};
pub use time::Timestamp;

/// For [`named_enum!`]'s OpenAPI schema, in crates that do not depend on utoipa themselves.
#[doc(hidden)]
pub use utoipa;
