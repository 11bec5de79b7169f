//! kcf's client for BigCommerce: the v3 catalog (products, category trees), v3 customers and
//! webhooks, and v2 orders and shipments, over `https://api.bigcommerce.com/stores/{hash}/…`
//! (or the sandbox's emulator, by changing the base URL).
//!
//! - [`BigCommerceClient`]: one per store, cheap to clone. Every call waits for the store's
//!   request budget (see [`RateLimitStatus`]; a spent budget or a 429 pauses the client and
//!   calls fail fast with [`Error::RateLimited`]) and returns a typed [`Error`] that says in
//!   plain words what happened and whether retrying can help ([`Error::is_retriable`]).
//! - [`model`]: the records as BigCommerce sends and takes them.
//! - [`mapping`]: those records to and from kcf's platform-neutral records.
//! - [`notify`]: incoming webhooks: parsing, and signature and header checks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kcf_bigcommerce::Error> {
//! use kcf_bigcommerce::{BigCommerceClient, BigCommerceConfig, ProductQuery};
//!
//! let client = BigCommerceClient::new(BigCommerceConfig::sandbox("http://127.0.0.1:8082"))?;
//! let page = client.products(&ProductQuery::default()).await?;
//! println!("{} products", page.total);
//! # Ok(())
//! # }
//! ```

mod catalog;
pub mod client;
pub mod config;
pub mod error;
pub mod inbound;
mod limit;
pub mod mapping;
pub mod model;
pub mod notify;
pub mod storefront;

pub use client::{
    BigCommerceClient, CategoryQuery, CustomerQuery, MAX_PAGE_SIZE, OrderQuery, Paged, ProductQuery,
};
pub use config::BigCommerceConfig;
pub use error::Error;
pub use inbound::WebhookReceiver;
pub use limit::{LimitEvent, RateLimitJournal, RateLimitStatus};
pub use mapping::MappingError;
pub use model::{
    Category, CategoryInput, Customer, CustomerInput, Hook, HookInput, Order, OrderAddress,
    OrderProduct, Product, ProductInput, Shipment, ShipmentInput, ShipmentItem,
};
pub use notify::{NotifyError, WebhookEvent};
pub use storefront::BigCommerceStore;
