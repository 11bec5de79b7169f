//! Shipment, ERP → store: a confirmed shipment, with its packages' tracking numbers, becomes a
//! store shipment on the order it came from, with the shipped lines and quantities. The store
//! sets the order's status (Shipped, or Partially Shipped) as it does for its own shipments.

use kcf_domain::Entity;
use kcf_platform::ErpOrder;

use crate::{
    connector::Ctx,
    error::{Applied, ApplyResult},
};

/// The note written on the store shipment: how a lost binding is found again.
pub fn marker(ctx: &Ctx, shipment_key: &str) -> String {
    format!("{} shipment {shipment_key}", ctx.erp().platform().label())
}

/// ERP shipment `key` → store.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    if let Some(b) = ctx.by_erp(Entity::Shipment, key).await? {
        return Ok(Applied::processed(format!(
            "already in the store as shipment {}",
            b.external_id
        )));
    }
    let Some(record) = ctx.erp().shipment(key).await? else {
        return Ok(Applied::deleted(format!(
            "shipment {key} no longer exists in {}",
            ctx.erp().platform().label()
        )));
    };
    if !record.confirmed {
        return Ok(Applied::filtered(format!(
            "shipment {key} is {}; only confirmed shipments go to the store",
            record.status
        )));
    }
    let Some(order_id) = store_order_of(ctx, &record.order_key, None).await? else {
        return Ok(Applied::filtered(format!(
            "order {} did not come from the store",
            record.order_key
        )));
    };
    let mark = marker(ctx, key);
    if let Some(existing) = ctx.shop().shipment_marked(&order_id, &mark).await? {
        ctx.bind(Entity::Shipment, key, &existing, None).await?;
        return Ok(Applied::processed(format!(
            "found store shipment {existing} on order {order_id}"
        )));
    }
    let created = ctx
        .shop()
        .create_shipment(&order_id, &record, &mark, ctx)
        .await?;
    ctx.bind(Entity::Shipment, key, &created, None).await?;
    Ok(Applied::processed(format!(
        "created store shipment {created} on order {order_id} (tracking {})",
        if record.tracking_numbers.is_empty() {
            "none".to_owned()
        } else {
            record.tracking_numbers.join(", ")
        }
    )))
}

/// The store order id of an ERP order (in any form the ERP reads): by binding, else by the
/// order's external reference (read from `known` when the caller has the order already).
pub async fn store_order_of(
    ctx: &Ctx,
    order_key: &str,
    known: Option<&ErpOrder>,
) -> ApplyResult<Option<String>> {
    let key = ctx.erp().order_key(order_key);
    if let Some(b) = ctx.by_erp(Entity::Order, &key).await? {
        return Ok(Some(b.external_id));
    }
    let external = match known {
        Some(so) => so.external_ref.clone(),
        None => match ctx.erp().order(&key).await? {
            Some(so) => so.external_ref,
            None => return Ok(None),
        },
    };
    // Only an order of this connector's store: another store's carries its own prefix.
    let Some(external) = ctx.conn.spec.store_order_id(&external) else {
        return Ok(None);
    };
    if ctx.shop().check_id(Entity::Order, external).is_err() {
        return Ok(None);
    }
    ctx.bind(Entity::Order, &key, external, None).await?;
    Ok(Some(external.to_owned()))
}
