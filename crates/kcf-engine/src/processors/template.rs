//! Template item, ERP → store: a template (matrix) item and its variants become one store
//! product with options and variants. It is checked whole before anything is written (so a
//! template the store cannot take leaves no partial product), created with its variants in
//! one request, and afterwards kept in line variant by variant. A matrix item's own message
//! syncs its template (see [`super::product`]), so the template and its children may change
//! in any order without a second product.

use kcf_domain::{
    Entity,
    records::{TemplateRecord, fingerprint},
};
use kcf_platform::TemplateWrite;

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::{category, id_value},
};

/// Why the store cannot take `t` as it is, in plain words; `None` when it can.
pub fn refusal(
    t: &TemplateRecord,
    max_options: Option<usize>,
    max_variants: usize,
) -> Option<String> {
    let key = &t.product.sku;
    if t.product.name.trim().is_empty() {
        return Some(format!(
            "template item {key} has no Description; the store needs a product name"
        ));
    }
    if t.options.is_empty() {
        return Some(format!(
            "template item {key} has no attributes its matrix items differ by"
        ));
    }
    if let Some(max) = max_options
        && t.options.len() > max
    {
        return Some(format!(
            "template item {key} has {} attributes; the store allows at most {max} options per \
             product",
            t.options.len()
        ));
    }
    if t.variants.is_empty() {
        return Some(format!(
            "template item {key} has no matrix items, so there is nothing to sell"
        ));
    }
    if t.variants.len() > max_variants {
        return Some(format!(
            "template item {key} has {} matrix items; the store allows at most {max_variants} \
             variants per product",
            t.variants.len()
        ));
    }
    let mut combinations = std::collections::BTreeSet::new();
    let mut skus = std::collections::BTreeSet::new();
    for (n, v) in t.variants.iter().enumerate() {
        if v.sku.trim().is_empty() {
            return Some(format!(
                "matrix item {} of template item {key} has no SKU (InventoryID)",
                n + 1
            ));
        }
        if !skus.insert(v.sku.to_uppercase()) {
            return Some(format!("template item {key} has the SKU {} twice", v.sku));
        }
        for o in &t.options {
            if !v.options.iter().any(|(name, _)| name == &o.name) {
                return Some(format!(
                    "matrix item {} of template item {key} has no value of attribute {}",
                    v.sku, o.name
                ));
            }
        }
        if !combinations.insert(v.options.clone()) {
            return Some(format!(
                "matrix items of template item {key} share the values {:?}; each variant needs \
                 its own",
                v.options
            ));
        }
    }
    None
}

/// Applies one template item.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    let Some(record) = ctx.erp().template(key).await? else {
        return super::product::retire(ctx, Entity::TemplateItem, key, "template item").await;
    };
    let caps = ctx.shop().capabilities();
    if let Some(why) = refusal(&record, caps.max_options, caps.max_variants) {
        return Err(ApplyError::Invalid(why));
    }
    let mut category_ids = Vec::new();
    for c in &record.product.category_keys {
        category_ids.push(category::ensure(ctx, c, 0).await?);
    }
    category_ids.sort_by_key(|id| (id.parse::<u64>().ok(), id.clone()));
    let fp = {
        let mut r = record.clone();
        r.product.modified_at = None;
        let ids: Vec<serde_json::Value> = category_ids.iter().map(|i| id_value(i)).collect();
        fingerprint(&(r, ids))
    };
    let write = TemplateWrite {
        key: key.to_owned(),
        record,
        category_ids,
    };
    let shop = ctx.shop();
    // From the binding's lookup to the new binding, one template write at a time: the
    // template's message and its matrix items' would otherwise each find no product and
    // each create one.
    let _one_at_a_time = ctx.conn.template_lock.lock().await;
    let bound = ctx.by_erp(Entity::TemplateItem, key).await?;
    if let Some(b) = &bound
        && b.fingerprint.as_deref() == Some(fp.as_str())
    {
        return Ok(Applied::processed(format!(
            "unchanged (store product {})",
            b.external_id
        )));
    }
    let variants = write.record.variants.len();
    let existing = match bound {
        Some(b) if !b.external_id.trim().is_empty() => Some(b.external_id),
        // A lost binding, or a product made meanwhile: adopt the product with its SKU.
        _ => shop.product_by_sku(key).await?,
    };
    let id = match existing {
        Some(id) => match shop.update_template(&id, &write, ctx).await {
            Ok(()) => id,
            Err(e) if e.is_not_found() => shop.create_template(&write, ctx).await?,
            Err(e) => return Err(e.into()),
        },
        None => match shop.create_template(&write, ctx).await {
            Ok(id) => id,
            Err(e) if e.is_conflict() => match shop.product_by_sku(key).await? {
                Some(id) => {
                    shop.update_template(&id, &write, ctx).await?;
                    id
                }
                None => {
                    return Err(ApplyError::Invalid(format!(
                        "the store refused template item {key}: {}",
                        e.words()
                    )));
                }
            },
            Err(e) => return Err(e.into()),
        },
    };
    ctx.bind(Entity::TemplateItem, key, &id, Some(fp)).await?;
    Ok(Applied::processed(format!(
        "store product {id} with {variants} variants"
    )))
}

#[cfg(test)]
mod tests {
    use kcf_domain::records::{OptionRecord, ProductRecord, VariantRecord};

    use super::*;

    fn tee(options: usize, variants: usize) -> TemplateRecord {
        let names = ["Color", "Size", "Sleeve", "Fit"];
        TemplateRecord {
            product: ProductRecord {
                sku: "TEE".into(),
                name: "Tee".into(),
                price: 10.0,
                weight: 0.2,
                visible: true,
                status: "Active".into(),
                category_keys: Vec::new(),
                modified_at: None,
                msrp: None,
                template: None,
            },
            options: names[..options]
                .iter()
                .map(|n| OptionRecord {
                    name: (*n).into(),
                    values: vec!["A".into()],
                })
                .collect(),
            variants: (0..variants)
                .map(|i| VariantRecord {
                    sku: format!("TEE-{i}"),
                    price: 10.0,
                    msrp: None,
                    options: names[..options]
                        .iter()
                        .map(|n| ((*n).into(), format!("v{i}")))
                        .collect(),
                    active: true,
                })
                .collect(),
        }
    }

    #[test]
    fn a_template_the_store_can_take_passes() {
        assert_eq!(refusal(&tee(2, 6), Some(3), 2048), None);
        assert_eq!(refusal(&tee(4, 6), None, 600), None);
    }

    #[test]
    fn what_the_store_cannot_take_is_said_in_plain_words() {
        let too_many = refusal(&tee(4, 6), Some(3), 2048).unwrap();
        assert!(
            too_many.contains("4 attributes") && too_many.contains("at most 3"),
            "{too_many}"
        );
        let big = refusal(&tee(1, 601), None, 600).unwrap();
        assert!(
            big.contains("601 matrix items") && big.contains("600"),
            "{big}"
        );
        let mut no_sku = tee(2, 3);
        no_sku.variants[1].sku = " ".into();
        assert!(refusal(&no_sku, None, 600).unwrap().contains("no SKU"));
        let mut missing = tee(2, 3);
        missing.variants[2].options.pop();
        let why = refusal(&missing, None, 600).unwrap();
        assert!(why.contains("TEE-2") && why.contains("Size"), "{why}");
        let mut twins = tee(2, 3);
        twins.variants[1].options = twins.variants[0].options.clone();
        assert!(
            refusal(&twins, None, 600)
                .unwrap()
                .contains("share the values")
        );
        assert!(
            refusal(&tee(2, 0), None, 600)
                .unwrap()
                .contains("nothing to sell")
        );
        assert!(
            refusal(&tee(0, 2), None, 600)
                .unwrap()
                .contains("no attributes")
        );
    }
}
