// The store's operations, written once and compiled once per backend: each backend module
// declares `Db`, `Conn`, `SKIP_LOCKED`, `LOCK_ROW`, `LIKE`, `CLAIM_SCAN`, `DONE_SCAN` and
// `FTS5`, then `include!`s this file.
// The SQL is portable between SQLite and PostgreSQL (`$N` parameters work in both); what is
// not portable comes in through those constants. No function here opens a transaction: the
// caller decides (SQLite's group-commit writer, or a short PostgreSQL transaction).

use std::time::Duration;

use kcf_domain::{
    BatchRun, BatchStatus, Binding, Claimed, Connector, ConnectorId, ConnectorState, Entity,
    EntitySettings, Enqueued, HistoryEntry, Lease, ManualAction, Mapping, MappingKind, Message,
    MessageId, MessageStatus, NewBatchRun, NewMessage, Outcome, RetryPolicy, SentDocument,
    Timestamp, Transition,
};
use sqlx::{AssertSqlSafe, QueryBuilder, types::Json};

use crate::{
    BindingKey, Completion, FailOutcome, MessageFilter, Page, PageRequest, Result, StatusCount, StoreError,
    rows,
};

fn to_i64(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

fn foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

fn unknown_connector(e: sqlx::Error, id: &ConnectorId) -> StoreError {
    if foreign_key_violation(&e) { StoreError::UnknownConnector(id.clone()) } else { e.into() }
}

// One file per kind of operation, all in this one module (they share the helpers above).
include!("ops/intake.rs");
include!("ops/workers.rs");
include!("ops/people.rs");
include!("ops/reading.rs");
include!("ops/connectors.rs");
include!("ops/bindings.rs");
include!("ops/batches.rs");
include!("ops/retention.rs");
include!("ops/accounts.rs");
