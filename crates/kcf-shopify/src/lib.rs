//! kcf's client for Shopify: the GraphQL Admin API
//! (`POST {shop}/admin/api/{version}/graphql.json`, or the sandbox's emulator by changing the
//! shop URL), with the query-cost limiter fed by `extensions.cost.throttleStatus`.
//!
//! - [`ShopifyClient`]: one per shop, cheap to clone. Every query reserves the points it is
//!   expected to cost (see [`limit`]); a THROTTLED answer pauses the client and calls fail
//!   fast with [`Error::RateLimited`]. Errors say in plain words what happened and whether
//!   retrying can help ([`Error::is_retriable`]); `userErrors` become [`Error::Refused`].
//! - [`ShopifyStore`]: the [`kcf_platform::Storefront`] port (in `storefront.rs`, with
//!   `catalog.rs`, `people.rs` and `orders.rs`).
//! - [`inbound`]: webhooks, verified by their HMAC on the raw body.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kcf_shopify::Error> {
//! use kcf_shopify::{ShopifyClient, ShopifyConfig};
//!
//! let client = ShopifyClient::new(ShopifyConfig::sandbox("https://127.0.0.1:8083"))?;
//! println!("{}", client.test_connection().await?);
//! # Ok(())
//! # }
//! ```

mod catalog;
pub mod client;
pub mod config;
pub mod error;
pub mod inbound;
pub mod limit;
mod orders;
mod people;
mod stock;
pub mod storefront;

pub use catalog::key_tag;
pub use client::ShopifyClient;
pub use config::{ShopifyConfig, WeightUnit};
pub use error::{Error, UserError};
pub use inbound::WebhookReceiver;
pub use storefront::ShopifyStore;
