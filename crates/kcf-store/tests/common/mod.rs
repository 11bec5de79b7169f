//! Helpers for the store's tests: fresh databases (kcf-testkit's `TestDb`), a connector, a message.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use kcf_domain::{
    Connector, ConnectorId, Direction, Entity, Mode, NewMessage, Platform, RecordKey,
};
use kcf_store::Store;

pub use kcf_testkit::TestDb;

pub fn cid(s: &str) -> ConnectorId {
    ConnectorId::parse(s).unwrap()
}

/// Creates connector `id` (BigCommerce ↔ Acumatica) with default settings.
pub async fn connector(store: &dyn Store, id: &str) -> ConnectorId {
    let c = Connector::new(
        cid(id),
        format!("Connector {id}"),
        Platform::Acumatica,
        Platform::BigCommerce,
    );
    store.put_connector(&c).await.unwrap();
    c.id
}

/// A real-time product message for `key`.
pub fn msg(connector: &ConnectorId, key: &str) -> NewMessage {
    NewMessage::new(
        connector.clone(),
        Entity::Product,
        Direction::ErpToStore,
        Mode::RealTime,
        RecordKey::parse(key).unwrap(),
        "acumatica",
    )
    .with_description(format!("Stock item {key}"))
    .with_payload(serde_json::json!({ "InventoryID": key }))
}
