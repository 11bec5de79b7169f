//! Order status, both ways, through the connector's order-status mapping: an ERP status
//! change sets the store order's `status_id`; a store cancellation cancels the ERP order if it
//! has not shipped.

use kcf_domain::{Entity, MappingKind};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::{order, shipment},
};

/// BigCommerce's Cancelled.
pub const STORE_CANCELLED: i64 = 5;
/// Store statuses the ERP never overwrites: Refunded, Cancelled, Declined.
pub const STORE_FINAL: &[i64] = &[4, 5, 6];
/// BigCommerce's Partially Shipped.
pub const STORE_PARTIALLY_SHIPPED: i64 = 3;

/// The default mapping (`reference/domain.md`): ERP status → store status id.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("Open", "11"),
    ("Pending Approval", "11"),
    ("On Hold", "11"),
    ("Credit Hold", "11"),
    ("Back Order", "9"),
    ("Shipping", "9"),
    ("Completed", "2"),
    ("Invoiced", "2"),
    ("Cancelled", "5"),
];

/// ERP order `key` (`OrderType/OrderNbr`) → the store's status.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    let (order_type, order_nbr) = order::split_key(key);
    let Some(so) = ctx.conn.erp.sales_order(order_type, order_nbr).await? else {
        return Ok(Applied::deleted(format!(
            "order {key} no longer exists in Acumatica"
        )));
    };
    let Some(store_id) = shipment::store_order_of(ctx, key, Some(&so)).await? else {
        return Ok(Applied::filtered(format!(
            "order {key} did not come from the store"
        )));
    };
    let status = kcf_acumatica::mapping::order_status(&so);
    let target = if status.partially_shipped && status.status != "Cancelled" {
        STORE_PARTIALLY_SHIPPED
    } else {
        let table = ctx.mapping(MappingKind::OrderStatus).await?;
        let Some(value) = table.get(&status.status) else {
            return Err(ApplyError::Invalid(format!(
                "Acumatica status '{}' of order {key} has no store status mapped; add it under \
                 the connector's order-status mapping",
                status.status
            )));
        };
        value.parse().map_err(|_| {
            ApplyError::Invalid(format!(
                "the order-status mapping sends '{}' to '{value}', which is not a store status id",
                status.status
            ))
        })?
    };
    let Some(current) = ctx.conn.store.order(store_id).await? else {
        return Ok(Applied::deleted(format!(
            "store order {store_id} no longer exists"
        )));
    };
    if current.status_id == target {
        return Ok(Applied::processed(format!(
            "store order {store_id} already has status {target}"
        )));
    }
    // A cancellation (or refund, or decline) made in the store is final there: it travels to
    // the ERP instead of being overwritten by the ERP's older view.
    if STORE_FINAL.contains(&current.status_id) && target != STORE_CANCELLED {
        return Ok(Applied::filtered(format!(
            "store order {store_id} is {} in the store; Acumatica's '{}' does not overwrite it",
            current.status, status.status
        )));
    }
    ctx.sending(
        None,
        format!("BigCommerce order {store_id} (status update)"),
        &serde_json::json!({ "status_id": target }),
    );
    ctx.conn.store.update_order_status(store_id, target).await?;
    Ok(Applied::processed(format!(
        "store order {store_id}: status {} → {target} (Acumatica {})",
        current.status_id, status.status
    )))
}

/// Store order `key` → ERP: a cancellation cancels the ERP order unless it has shipped.
pub async fn to_erp(ctx: &Ctx, key: &str) -> ApplyResult {
    let id: u64 = key
        .parse()
        .map_err(|_| ApplyError::Invalid(format!("'{key}' is not a store order id")))?;
    let Some(current) = ctx.conn.store.order(id).await? else {
        return Ok(Applied::deleted(format!(
            "store order {id} no longer exists"
        )));
    };
    if current.status_id != STORE_CANCELLED {
        return Ok(Applied::filtered(format!(
            "store status {} ({}) is kept in the store; only cancellations go to Acumatica",
            current.status_id, current.status
        )));
    }
    let erp = match ctx.by_external(Entity::Order, key).await? {
        Some(b) => b.erp_key,
        None => match ctx.conn.erp.sales_order_by_external_ref(key).await? {
            Some(so) => order::erp_key(&so.order_type, &so.order_nbr),
            None => {
                return Err(ApplyError::retry(format!(
                    "store order {id} is not in Acumatica yet; the cancellation waits for it"
                )));
            }
        },
    };
    let (order_type, order_nbr) = order::split_key(&erp);
    let Some(so) = ctx.conn.erp.sales_order(order_type, order_nbr).await? else {
        return Ok(Applied::deleted(format!(
            "Acumatica order {erp} no longer exists"
        )));
    };
    if so.status == "Cancelled" {
        return Ok(Applied::processed(format!(
            "Acumatica order {erp} is already cancelled"
        )));
    }
    let status = kcf_acumatica::mapping::order_status(&so);
    if status.partially_shipped || so.status == "Completed" {
        return Err(ApplyError::Invalid(format!(
            "store order {id} was cancelled, but Acumatica order {erp} has already shipped \
             ({}); cancel or return it in Acumatica by hand",
            so.status
        )));
    }
    ctx.sending(
        None,
        format!("Acumatica SalesOrder {erp} (action CancelSalesOrder)"),
        &serde_json::json!({ "entity": { "OrderType": { "value": order_type }, "OrderNbr": { "value": order_nbr } } }),
    );
    ctx.conn
        .erp
        .cancel_sales_order(order_type, order_nbr)
        .await?;
    Ok(Applied::processed(format!(
        "cancelled Acumatica order {erp}"
    )))
}
