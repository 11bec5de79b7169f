//! Templates and stock on BigCommerce: a template becomes one product with options and
//! variants (variant SKU = the matrix item's key, option values from its attributes, price
//! and retail price per variant), created with its variants in one request (all or none)
//! and kept in line variant by variant; stock goes to `/v3/inventory` by SKU and location.

use std::collections::BTreeMap;

use kcf_domain::{Platform, records::VariantRecord};
use kcf_platform::{PlatformError, Result, StockWrite, TemplateWrite};
use serde_json::{Value, json};

use crate::{BigCommerceClient, client::Variant, mapping, model::ProductInput};

/// The product's own fields (its SKU is the template's key; a product with options keeps no
/// stock of its own).
pub(crate) fn product_input(w: &TemplateWrite) -> ProductInput {
    let ids = w
        .category_ids
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    mapping::product_input(&w.record.product, ids)
}

/// A variant as BigCommerce takes it.
pub(crate) fn variant_body(v: &VariantRecord) -> Value {
    let values: Vec<Value> = v
        .options
        .iter()
        .map(|(name, label)| json!({ "option_display_name": name, "label": label }))
        .collect();
    json!({
        "sku": v.sku, "price": v.price, "retail_price": v.msrp,
        "purchasing_disabled": !v.active, "option_values": values,
    })
}

/// Whether a variant read from the store differs from the one wanted.
fn differs(have: &Variant, want: &VariantRecord) -> bool {
    let options: Vec<(String, String)> = have
        .option_values
        .iter()
        .map(|o| (o.option_display_name.clone(), o.label.clone()))
        .collect();
    have.price != Some(want.price)
        || have.retail_price != want.msrp
        || have.purchasing_disabled == want.active
        || options != want.options
}

/// Brings product `id`'s variants in line with `w`: deletes those whose SKU the template no
/// longer has (or whose options changed), updates prices, adds the new. Returns what it did.
pub(crate) async fn sync_variants(
    client: &BigCommerceClient,
    id: u64,
    w: &TemplateWrite,
) -> Result<(usize, usize, usize)> {
    let have = client.variants(id).await?;
    let want: BTreeMap<String, &VariantRecord> = w
        .record
        .variants
        .iter()
        .map(|v| (v.sku.to_uppercase(), v))
        .collect();
    let (mut added, mut updated, mut removed) = (0, 0, 0);
    let mut kept: Vec<String> = Vec::new();
    for v in &have {
        let sku = v.sku.to_uppercase();
        match want.get(&sku) {
            // A base variant (no options) is the product itself; it goes once variants come.
            Some(w) if v.option_values.len() == w.options.len() && !v.option_values.is_empty() => {
                let same_options = v
                    .option_values
                    .iter()
                    .map(|o| (o.option_display_name.as_str(), o.label.as_str()))
                    .eq(w.options.iter().map(|(n, l)| (n.as_str(), l.as_str())));
                if !same_options {
                    client.delete_variant(id, v.id).await?;
                    removed += 1;
                    continue;
                }
                if differs(v, w) {
                    let body = json!({ "price": w.price, "retail_price": w.msrp, "purchasing_disabled": !w.active });
                    client.update_variant(id, v.id, &body).await?;
                    updated += 1;
                }
                kept.push(sku);
            }
            _ if v.option_values.is_empty() => {}
            _ => {
                client.delete_variant(id, v.id).await?;
                removed += 1;
            }
        }
    }
    for (sku, v) in &want {
        if !kept.contains(sku) {
            client.create_variant(id, &variant_body(v)).await?;
            added += 1;
        }
    }
    Ok((added, updated, removed))
}

/// A location id, which BigCommerce keeps as a number.
pub(crate) fn location(id: &str) -> Result<u64> {
    id.trim().parse().map_err(|_| {
        PlatformError::record(
            Platform::BigCommerce,
            format!("'{id}' is not a BigCommerce location id"),
        )
    })
}

/// Stock writes as (SKU, location, quantity).
pub(crate) fn levels(writes: &[StockWrite]) -> Result<Vec<(String, u64, i64)>> {
    writes
        .iter()
        .map(|w| Ok((w.sku.clone(), location(&w.location)?, w.quantity.max(0))))
        .collect()
}

/// Hides category `id` (or deletes it, and the categories under it); `NotFound` when it is
/// gone.
pub(crate) async fn retire_category(
    client: &BigCommerceClient,
    id: u64,
    delete: bool,
    out: &dyn kcf_platform::Outbox,
) -> Result<()> {
    // The batch endpoints answer a success for an id they do not know: look first.
    let q = crate::CategoryQuery {
        ids: vec![id],
        ..crate::CategoryQuery::default()
    };
    if client.categories(&q).await?.items.is_empty() {
        return Err(PlatformError::from(crate::Error::NotFound {
            message: format!("BigCommerce category {id} does not exist"),
        }));
    }
    if delete {
        out.sending(
            None,
            format!("BigCommerce category {id} (delete)"),
            Value::Null,
        );
        return Ok(client.delete_categories(&[id]).await?);
    }
    let input = crate::CategoryInput {
        is_visible: Some(false),
        ..crate::CategoryInput::default()
    };
    let body = serde_json::to_value(&input).unwrap_or(Value::Null);
    out.sending(None, format!("BigCommerce category {id} (hide)"), body);
    client.update_category(id, &input).await?;
    Ok(())
}
