//! One processor per entity and direction, written once against the platform ports
//! ([`kcf_platform::Erp`], [`kcf_platform::Storefront`]). Each fetches the current source
//! record (a notification only says *that* something changed), looks its target up by
//! binding (then by a deterministic reference) before creating anything, and records the
//! binding.

pub mod availability;
pub mod category;
pub mod customer;
pub mod order;
pub mod order_status;
pub mod product;
pub mod shipment;
pub mod template;

use kcf_domain::{Direction, Entity, Message};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyResult},
};

/// Applies one message.
#[tracing::instrument(skip_all, fields(connector = %m.connector, entity = %m.entity, key = %m.record_key, id = %m.id))]
pub async fn apply(ctx: &Ctx, m: &Message) -> ApplyResult {
    let key = m.record_key.as_str();
    match (m.entity, m.direction) {
        (Entity::Product, Direction::ErpToStore) => product::to_store(ctx, key).await,
        (Entity::Category, Direction::ErpToStore) => category::to_store(ctx, key).await,
        (Entity::Customer, Direction::ErpToStore) => customer::to_store(ctx, key).await,
        (Entity::Customer, Direction::StoreToErp) => customer::to_erp(ctx, key).await,
        (Entity::Order, Direction::StoreToErp) => order::to_erp(ctx, key).await,
        (Entity::Shipment, Direction::ErpToStore) => shipment::to_store(ctx, key).await,
        (Entity::OrderStatus, Direction::ErpToStore) => order_status::to_store(ctx, key).await,
        (Entity::OrderStatus, Direction::StoreToErp) => order_status::to_erp(ctx, key).await,
        (Entity::TemplateItem, Direction::ErpToStore) => template::to_store(ctx, key).await,
        (Entity::Availability, Direction::ErpToStore) => {
            availability::to_store_many(ctx, &[key.to_owned()])
                .await
                .pop()
                .unwrap_or_else(|| Err(crate::error::ApplyError::retry("no result")))
        }
        (entity, direction) => Ok(Applied::filtered(format!(
            "{entity} {direction} is not synced by kcf yet"
        ))),
    }
}

/// Whether messages of this kind are applied together (store batch updates).
pub fn batches(entity: Entity, direction: Direction) -> bool {
    matches!(entity, Entity::Product | Entity::Availability) && direction == Direction::ErpToStore
}

/// Applies messages of one batching kind together; one result per key, in order.
pub async fn apply_many(ctx: &Ctx, entity: Entity, keys: &[String]) -> Vec<ApplyResult> {
    match entity {
        Entity::Availability => availability::to_store_many(ctx, keys).await,
        _ => product::to_store_many(ctx, keys).await,
    }
}

/// Mapping tables are keyed ERP value → store value; finds the ERP value for a store value
/// (case-insensitive).
pub(crate) fn store_to_erp(
    table: &std::collections::BTreeMap<String, String>,
    store: &str,
) -> Option<String> {
    table
        .iter()
        .find(|(_, s)| s.eq_ignore_ascii_case(store))
        .map(|(e, _)| e.clone())
}

/// A store id inside a fingerprint: a number when it is one, so fingerprints taken when ids
/// were numbers stay equal.
pub(crate) fn id_value(id: &str) -> serde_json::Value {
    id.parse::<u64>()
        .map_or_else(|_| serde_json::Value::String(id.to_owned()), Into::into)
}
