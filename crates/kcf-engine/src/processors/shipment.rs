//! Shipment, ERP → store: a confirmed shipment, with its packages' tracking numbers, becomes a
//! store shipment on the order it came from, with the shipped lines and quantities. The store
//! sets the order's status (Shipped, or Partially Shipped) as it does for its own shipments.

use kcf_bigcommerce::mapping as bc_map;
use kcf_domain::Entity;

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::order,
};

/// The note written on the store shipment: how a lost binding is found again.
pub fn marker(shipment_nbr: &str) -> String {
    format!("Acumatica shipment {shipment_nbr}")
}

/// ERP shipment `key` → store.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    if let Some(b) = ctx.by_erp(Entity::Shipment, key).await? {
        return Ok(Applied::processed(format!(
            "already in the store as shipment {}",
            b.external_id
        )));
    }
    let Some(shipment) = ctx.conn.erp.shipment(key).await? else {
        return Ok(Applied::deleted(format!(
            "shipment {key} no longer exists in Acumatica"
        )));
    };
    let record = kcf_acumatica::mapping::shipment(&shipment);
    if !record.confirmed {
        return Ok(Applied::filtered(format!(
            "shipment {key} is {}; only confirmed shipments go to the store",
            record.status
        )));
    }
    let order_id = store_order_of(ctx, &record.order_key, None).await?;
    let Some(order_id) = order_id else {
        return Ok(Applied::filtered(format!(
            "order {} did not come from the store",
            record.order_key
        )));
    };
    let mark = marker(key);
    for existing in ctx.conn.store.shipments(order_id).await? {
        if existing.comments.contains(&mark) {
            ctx.bind(Entity::Shipment, key, &existing.id.to_string(), None)
                .await?;
            return Ok(Applied::processed(format!(
                "found store shipment {} on order {order_id}",
                existing.id
            )));
        }
    }
    let products = ctx.conn.store.order_products(order_id).await?;
    let addresses = ctx.conn.store.order_shipping_addresses(order_id).await?;
    let Some(address) = addresses.first() else {
        return Err(ApplyError::Invalid(format!(
            "store order {order_id} has no shipping address to ship to"
        )));
    };
    let mut input = bc_map::shipment_input(&record, &products, address.id)
        .map_err(|e| ApplyError::Invalid(format!("shipment {key}: {e}")))?;
    input.comments = mark;
    ctx.sending(
        None,
        format!("BigCommerce shipment on order {order_id} (create)"),
        &input,
    );
    let created = ctx.conn.store.create_shipment(order_id, &input).await?;
    ctx.bind(Entity::Shipment, key, &created.id.to_string(), None)
        .await?;
    Ok(Applied::processed(format!(
        "created store shipment {} on order {order_id} (tracking {})",
        created.id,
        if record.tracking_numbers.is_empty() {
            "none".to_owned()
        } else {
            record.tracking_numbers.join(", ")
        }
    )))
}

/// The store order id of an ERP order (`OrderNbr` or `OrderType/OrderNbr`): by binding, else
/// by the order's `ExternalRef` (read from `known` when the caller has the order already).
pub async fn store_order_of(
    ctx: &Ctx,
    order_key: &str,
    known: Option<&kcf_acumatica::SalesOrder>,
) -> ApplyResult<Option<u64>> {
    let (order_type, order_nbr) = order::split_key(order_key);
    let key = order::erp_key(order_type, order_nbr);
    if let Some(b) = ctx.by_erp(Entity::Order, &key).await? {
        return Ok(b.external_id.parse().ok());
    }
    let external = match known {
        Some(so) => so.external_ref.clone(),
        None => match ctx.conn.erp.sales_order(order_type, order_nbr).await? {
            Some(so) => so.external_ref,
            None => return Ok(None),
        },
    };
    match external.trim().parse::<u64>() {
        Ok(id) => {
            ctx.bind(Entity::Order, &key, &id.to_string(), None).await?;
            Ok(Some(id))
        }
        Err(_) => Ok(None),
    }
}
