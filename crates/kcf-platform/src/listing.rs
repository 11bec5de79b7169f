//! Listing what changed in a window, page by page.

use kcf_domain::Timestamp;

/// A batch window: [from, to); no `from` for a full listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start (inclusive); `None`: from the beginning.
    pub from: Option<Timestamp>,
    /// End (exclusive).
    pub to: Timestamp,
}

/// One record listed.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its key (the message's record key).
    pub key: String,
    /// A line for the message list.
    pub description: String,
    /// The record as listed (the batch grid's columns read it).
    pub payload: serde_json::Value,
    /// When the source last changed it.
    pub modified: Option<Timestamp>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListedPage {
    /// The records.
    pub records: Vec<Listed>,
    /// Where the next page starts (an opaque checkpoint); `None`: this was the last.
    pub next: Option<String>,
}
