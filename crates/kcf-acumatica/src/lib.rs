//! kcf's client for Acumatica's contract-based REST API (endpoint `Default/24.200.001`) and
//! its push-notification parser.
//!
//! - [`AcumaticaClient`] signs in (cookie session or OAuth 2.0), signs in again once when a
//!   session expires, keeps at most `max_concurrent` requests in flight, reads and writes
//!   stock items, sales categories, customers, sales orders and shipments, runs actions to
//!   completion, and lists what changed in a window with keyset paging.
//! - [`wire`] is the only place that knows the `{"value": …}` wrapper; everything else works
//!   on plain JSON and the typed [`model`].
//! - [`mapping`] turns the models into kcf's platform-neutral records and back.
//! - [`notify`] reads push notifications into one change per record.
//! - [`Error::is_retriable`] is the one retry classifier.
//!
//! Tests run against the emulator in `kcf-sandbox` over real HTTP.

mod client;
mod config;
pub mod erp;
mod error;
pub mod inbound;
pub mod mapping;
pub mod model;
pub mod notify;
pub mod sandbox;
pub mod wire;

pub use client::{
    ACTION_WAIT, AcumaticaClient, ChangedQuery, ErpEntity, ErpList, Precondition, SessionKeeper,
};
pub use config::{AcumaticaAuth, AcumaticaConfig, DEFAULT_ENDPOINT};
pub use erp::AcumaticaErp;
pub use error::Error;
pub use inbound::PushReceiver;
pub use model::{Customer, ItemSalesCategory, SalesOrder, Shipment, StockItem};
pub use notify::{NotifyError, PushChange, PushNotification};
