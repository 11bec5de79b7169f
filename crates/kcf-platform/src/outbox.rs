//! A note of what kcf sends: an adapter tells the engine each document just before it sends
//! it (the record as mapped), so a person can see what was sent even when it was refused.

/// Where an adapter notes what it is about to send.
pub trait Outbox: Send + Sync {
    /// `body` is about to go to `target` ("BigCommerce product 112 (update)"); `key` names
    /// the record when one call writes many.
    fn sending(&self, key: Option<&str>, target: String, body: serde_json::Value);
}

/// An outbox that keeps nothing (tools, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unrecorded;

impl Outbox for Unrecorded {
    fn sending(&self, _: Option<&str>, _: String, _: serde_json::Value) {}
}
