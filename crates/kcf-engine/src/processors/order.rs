//! Order, store → ERP: a store order becomes one SalesOrder whose `ExternalRef` is the store
//! order id. Never a second one: the binding is checked first, then the ERP is searched by
//! `ExternalRef` (which covers a crash between the create and the binding), and messages for
//! one order never run at the same time (the store's per-key claim).

use kcf_bigcommerce::mapping as bc_map;
use kcf_domain::{Entity, MappingKind, records::OrderRecord};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::customer,
};

/// The ERP key of an order binding: `OrderType/OrderNbr`.
pub fn erp_key(order_type: &str, order_nbr: &str) -> String {
    format!("{order_type}/{order_nbr}")
}

/// Splits an ERP order key (`OrderType/OrderNbr`, or a bare `OrderNbr` of type SO).
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("SO", key))
}

/// Store order `key` → ERP.
pub async fn to_erp(ctx: &Ctx, key: &str) -> ApplyResult {
    let id: u64 = key
        .parse()
        .map_err(|_| ApplyError::Invalid(format!("'{key}' is not a store order id")))?;
    if let Some(b) = ctx.by_external(Entity::Order, key).await? {
        return Ok(Applied::processed(format!(
            "already in Acumatica as {}",
            b.erp_key
        )));
    }
    if let Some(existing) = ctx.conn.erp.sales_order_by_external_ref(key).await? {
        let erp = erp_key(&existing.order_type, &existing.order_nbr);
        ctx.bind(Entity::Order, &erp, key, None).await?;
        return Ok(Applied::processed(format!(
            "found in Acumatica as {erp} by ExternalRef"
        )));
    }
    let Some(order) = ctx.conn.store.order(id).await? else {
        return Ok(Applied::deleted(format!(
            "store order {id} no longer exists"
        )));
    };
    if order.status_id == 0 {
        return Ok(Applied::filtered(format!(
            "store order {id} is Incomplete (checkout not finished)"
        )));
    }
    let products = ctx.conn.store.order_products(id).await?;
    let shipping = ctx.conn.store.order_shipping_addresses(id).await?;
    let record = bc_map::order(&order, &products, &shipping);
    check(&record)?;
    let customer_id = resolve_customer(ctx, &record).await?;
    let payments = ctx.mapping(MappingKind::PaymentMethod).await?;
    let ship_vias = ctx.mapping(MappingKind::ShipVia).await?;
    let payment = super::store_to_erp(&payments, &record.payment_method);
    let ship_via = super::store_to_erp(&ship_vias, &record.shipping_method);
    let body = kcf_acumatica::mapping::sales_order_body(
        &record,
        &customer_id,
        payment.as_deref(),
        ship_via.as_deref(),
    );
    ctx.sending(None, "Acumatica SalesOrder (create)", &body);
    let created = ctx
        .conn
        .erp
        .put_sales_order(&body, kcf_acumatica::Precondition::None)
        .await?;
    let erp = erp_key(&created.order_type, &created.order_nbr);
    ctx.bind(Entity::Order, &erp, key, None).await?;
    Ok(Applied::processed(format!(
        "created Acumatica sales order {erp} for customer {customer_id}"
    )))
}

fn check(r: &OrderRecord) -> ApplyResult<()> {
    if r.lines.is_empty() {
        return Err(ApplyError::Invalid(format!(
            "store order {} has no lines",
            r.external_id
        )));
    }
    if let Some(line) = r.lines.iter().find(|l| l.sku.trim().is_empty()) {
        return Err(ApplyError::Invalid(format!(
            "store order {}: the line '{}' has no SKU, so it cannot be matched to a stock item",
            r.external_id, line.name
        )));
    }
    if r.email.trim().is_empty() {
        return Err(ApplyError::Invalid(format!(
            "store order {} has no customer e-mail; the ERP customer cannot be matched or created",
            r.external_id
        )));
    }
    Ok(())
}

/// The ERP customer for an order: its store customer's binding, else a match by e-mail, else
/// a new ERP customer from the billing address.
async fn resolve_customer(ctx: &Ctx, r: &OrderRecord) -> ApplyResult<String> {
    let external = r
        .customer_external_id
        .as_deref()
        .filter(|id| !id.is_empty() && *id != "0");
    if let Some(ext) = external
        && let Some(b) = ctx.by_external(Entity::Customer, ext).await?
    {
        return Ok(b.erp_key);
    }
    let record = kcf_domain::records::CustomerRecord {
        key: external.unwrap_or_default().to_owned(),
        email: r.email.clone(),
        first_name: r.billing.first_name.clone(),
        last_name: r.billing.last_name.clone(),
        company: r.billing.company.clone(),
        phone: r.billing.phone.clone(),
        class: None,
        modified_at: None,
    };
    Ok(customer::upsert_in_erp(ctx, &record, external).await?.0)
}
