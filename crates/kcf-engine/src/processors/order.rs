//! Order, store → ERP: a store order becomes one ERP sales order whose external reference is
//! the store order id. Never a second one: the binding is checked first, then the ERP is
//! searched by external reference (which covers a crash between the create and the binding),
//! and messages for one order never run at the same time (the store's per-key claim).

use kcf_domain::{Entity, MappingKind, records::OrderRecord};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::customer,
};

/// Store order `key` → ERP.
pub async fn to_erp(ctx: &Ctx, key: &str) -> ApplyResult {
    let erp_name = ctx.erp().platform().label();
    ctx.shop().check_id(Entity::Order, key)?;
    if let Some(b) = ctx.by_external(Entity::Order, key).await? {
        return Ok(Applied::processed(format!(
            "already in {erp_name} as {}",
            b.erp_key
        )));
    }
    let external_ref = ctx.conn.spec.external_ref(key);
    if let Some(existing) = ctx.erp().order_by_external_ref(&external_ref).await? {
        ctx.bind(Entity::Order, &existing.key, key, None).await?;
        return Ok(Applied::processed(format!(
            "found in {erp_name} as {} by ExternalRef",
            existing.key
        )));
    }
    let Some(order) = ctx.shop().order(key).await? else {
        return Ok(Applied::deleted(format!(
            "store order {key} no longer exists"
        )));
    };
    if order.state.incomplete {
        return Ok(Applied::filtered(format!(
            "store order {key} is Incomplete (checkout not finished)"
        )));
    }
    let mut record = ctx.shop().order_record(&order).await?;
    check(&record)?;
    // The ERP order names its store: orders of two stores never share an ExternalRef.
    record.external_id = external_ref;
    let customer_id = resolve_customer(ctx, &record).await?;
    let payments = ctx.mapping(MappingKind::PaymentMethod).await?;
    let ship_vias = ctx.mapping(MappingKind::ShipVia).await?;
    let payment = super::store_to_erp(&payments, &record.payment_method);
    let ship_via = super::store_to_erp(&ship_vias, &record.shipping_method);
    let erp = ctx
        .erp()
        .create_order(
            &record,
            &customer_id,
            payment.as_deref(),
            ship_via.as_deref(),
            ctx,
        )
        .await?;
    ctx.bind(Entity::Order, &erp, key, None).await?;
    Ok(Applied::processed(format!(
        "created {erp_name} sales order {erp} for customer {customer_id}"
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
