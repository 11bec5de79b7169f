//! Batch runs: list what a source changed in a window, then process it.

use serde::{Deserialize, Serialize};

use crate::{ConnectorId, Entity, Timestamp, named_enum};

named_enum! {
    /// How a batch window is chosen.
    pub enum BatchMode: "batch mode" {
        /// Since the last completed run, minus a lookback.
        Incremental = "incremental",
        /// An explicit From/To range.
        ByDate = "by-date",
        /// Everything.
        Full = "full",
    }
}

named_enum! {
    /// Where a batch run is.
    pub enum BatchStatus: "batch status" {
        /// Listing the source's changes page by page.
        Listing = "listing",
        /// Listed; its messages are queued.
        Listed = "listed",
        /// Every listed message reached a final status.
        Completed = "completed",
        /// Listing failed; the checkpoint says where to resume.
        Failed = "failed",
        /// A person cancelled it.
        Cancelled = "cancelled",
    }
}

/// A batch window for one connector and entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchRun {
    /// Its id.
    pub id: i64,
    /// The connector.
    pub connector: ConnectorId,
    /// The entity.
    pub entity: Entity,
    /// How the window was chosen.
    pub mode: BatchMode,
    /// Start of the window (inclusive).
    pub window_from: Timestamp,
    /// End of the window (exclusive), frozen when the run starts.
    pub window_to: Timestamp,
    /// Where it is.
    pub status: BatchStatus,
    /// The paging cursor or keyset reached so far, opaque to the store.
    pub checkpoint: Option<String>,
    /// Records listed so far.
    pub listed: u64,
    /// Messages enqueued (listed minus duplicates).
    pub enqueued: u64,
    /// The last error.
    pub error: Option<String>,
    /// When it started.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// The parameters of a new batch run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBatchRun {
    /// The connector.
    pub connector: ConnectorId,
    /// The entity.
    pub entity: Entity,
    /// How the window was chosen.
    pub mode: BatchMode,
    /// Start of the window (inclusive).
    pub window_from: Timestamp,
    /// End of the window (exclusive).
    pub window_to: Timestamp,
}
