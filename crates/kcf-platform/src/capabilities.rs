//! What a platform can do, as data: the engine sizes its work by it instead of knowing the
//! platform.

use std::time::Duration;

/// How a platform limits the requests a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitModel {
    /// No limit but the server's capacity.
    None,
    /// A number of requests per fixed window (BigCommerce: 150 per 30 s, by plan).
    FixedWindow {
        /// Requests per window.
        requests: u32,
        /// The window.
        window: Duration,
    },
    /// A bucket that leaks at a steady rate.
    LeakyBucket {
        /// The bucket's size, in requests.
        size: u32,
        /// Requests it drains per second.
        per_second: u32,
    },
    /// A bucket of query-cost points refilled per second (Shopify's GraphQL Admin API).
    QueryCost {
        /// The bucket's size, in points.
        points: u32,
        /// Points restored per second.
        restore_per_second: u32,
    },
    /// Concurrent requests and sessions by license (Acumatica).
    License,
}

/// A platform's capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Records one write request may carry (products updated together).
    pub write_batch: usize,
    /// Whether it notifies kcf of changes (webhooks, push notifications); without, batch and
    /// the schedule are the only way in.
    pub notifies: bool,
    /// Its rate-limit model.
    pub rate_limit: RateLimitModel,
    /// Stock levels one request may set.
    pub stock_batch: usize,
    /// Options a product may have (`None`: no limit of its own).
    pub max_options: Option<usize>,
    /// Variants a product may have.
    pub max_variants: usize,
}
