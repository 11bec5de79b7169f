//! Order status, both ways, through the connector's order-status mapping: an ERP status
//! change sets the store order's status; a store cancellation cancels the ERP order if it
//! has not shipped.

use kcf_domain::{Entity, MappingKind};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::shipment,
};

/// ERP order `key` → the store's status.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    let erp_name = ctx.erp().platform().label();
    let Some(so) = ctx.erp().order(key).await? else {
        return Ok(Applied::deleted(format!(
            "order {key} no longer exists in {erp_name}"
        )));
    };
    let Some(store_id) = shipment::store_order_of(ctx, key, Some(&so)).await? else {
        return Ok(Applied::filtered(format!(
            "order {key} did not come from the store"
        )));
    };
    let shop = ctx.shop();
    let target = if so.partially_shipped && !so.cancelled {
        shop.partially_shipped_status().to_owned()
    } else {
        let table = ctx.mapping(MappingKind::OrderStatus).await?;
        let Some(value) = table.get(&so.status) else {
            return Err(ApplyError::Invalid(format!(
                "{erp_name} status '{}' of order {key} has no store status mapped; add it under \
                 the connector's order-status mapping",
                so.status
            )));
        };
        if !shop.is_status(value) {
            return Err(ApplyError::Invalid(format!(
                "the order-status mapping sends '{}' to '{value}', which is not a store status id",
                so.status
            )));
        }
        value.trim().to_owned()
    };
    let Some(current) = shop.order(&store_id).await? else {
        return Ok(Applied::deleted(format!(
            "store order {store_id} no longer exists"
        )));
    };
    if current.state.status == target {
        return Ok(Applied::processed(format!(
            "store order {store_id} already has status {target}"
        )));
    }
    // A cancellation (or refund, or decline) made in the store is final there: it travels to
    // the ERP instead of being overwritten by the ERP's older view.
    if current.state.closed && target != shop.cancelled_status() {
        return Ok(Applied::filtered(format!(
            "store order {store_id} is {} in the store; {erp_name}'s '{}' does not overwrite it",
            current.state.label, so.status
        )));
    }
    shop.set_order_status(&store_id, &target, ctx).await?;
    Ok(Applied::processed(format!(
        "store order {store_id}: status {} → {target} ({erp_name} {})",
        current.state.status, so.status
    )))
}

/// Store order `key` → ERP: a cancellation cancels the ERP order unless it has shipped.
pub async fn to_erp(ctx: &Ctx, key: &str) -> ApplyResult {
    let erp_name = ctx.erp().platform().label();
    ctx.shop().check_id(Entity::Order, key)?;
    let Some(current) = ctx.shop().order(key).await? else {
        return Ok(Applied::deleted(format!(
            "store order {key} no longer exists"
        )));
    };
    if !current.state.cancelled {
        return Ok(Applied::filtered(format!(
            "store status {} ({}) is kept in the store; only cancellations go to {erp_name}",
            current.state.status, current.state.label
        )));
    }
    let erp = match ctx.by_external(Entity::Order, key).await? {
        Some(b) => b.erp_key,
        None => match ctx
            .erp()
            .order_by_external_ref(&ctx.conn.spec.external_ref(key))
            .await?
        {
            Some(so) => so.key,
            None => {
                return Err(ApplyError::retry(format!(
                    "store order {key} is not in {erp_name} yet; the cancellation waits for it"
                )));
            }
        },
    };
    let Some(so) = ctx.erp().order(&erp).await? else {
        return Ok(Applied::deleted(format!(
            "{erp_name} order {erp} no longer exists"
        )));
    };
    if so.cancelled {
        return Ok(Applied::processed(format!(
            "{erp_name} order {erp} is already cancelled"
        )));
    }
    if so.partially_shipped || so.completed {
        return Err(ApplyError::Invalid(format!(
            "store order {key} was cancelled, but {erp_name} order {erp} has already shipped \
             ({}); cancel or return it in {erp_name} by hand",
            so.status
        )));
    }
    ctx.erp().cancel_order(&erp, ctx).await?;
    Ok(Applied::processed(format!(
        "cancelled {erp_name} order {erp}"
    )))
}
