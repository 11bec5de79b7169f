//! kcf's platform seam (the port): what the engine needs from an ERP ([`Erp`]) and from a
//! store ([`Storefront`]), expressed over the platform-neutral records of
//! [`kcf_domain::records`]; the optional inbound part ([`Inbound`]: check a notification on
//! its raw bytes, turn it into changes); each platform's [`Capabilities`] as data; and one
//! error type, [`PlatformError`], whose [`ErrorKind`] the worker acts on.
//!
//! A platform crate implements these next to its concrete client (`erp.rs`,
//! `storefront.rs`, `inbound.rs`) and keeps every wire fact to itself: status ids, batch
//! limits, value wrappers, preconditions, admin links. The engine only sees this crate.

mod capabilities;
mod erp;
mod error;
mod inbound;
mod journal;
mod listing;
mod outbox;
mod session;
mod storefront;

pub use capabilities::{Capabilities, RateLimitModel};
pub use erp::{Erp, ErpOrder};
pub use error::{ErrorKind, PlatformError, Result};
pub use inbound::{Change, Headers, Inbound, IngressSecrets, Notification, header_matches};
pub use journal::{JOURNAL_LEN, LimitEvent, RateLimitJournal};
pub use listing::{Listed, ListedPage, Window};
pub use outbox::{Outbox, Unrecorded};
pub use session::SessionKeeper;
pub use storefront::{
    Budget, OrderState, ProductWrite, StockWrite, StoreOrder, Storefront, TemplateWrite,
};
