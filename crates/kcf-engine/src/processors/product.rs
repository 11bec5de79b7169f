//! Product, ERP → store: a stock item becomes a store product (sku = InventoryID). Updates of
//! already-synced products go 10 to a request, the store's batch limit, which is most of the
//! budget saved on a big batch.

use std::collections::BTreeMap;

use kcf_bigcommerce::{ProductInput, ProductQuery, mapping as bc_map};
use kcf_domain::{Entity, records::ProductRecord, records::fingerprint};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::category,
};

/// Store products updated per request (BigCommerce's limit).
pub const BATCH: usize = 10;

/// The product fields a connector can stop syncing (KCF's "Schema Management" toggles), in
/// `EntitySettings::fields`. A new product is always created whole: the store needs a name,
/// a price and a weight.
pub const FIELDS: &[&str] = &["name", "price", "weight", "visibility", "categories"];

/// Which fields sync (absent: on).
#[derive(Debug, Clone, Default)]
struct Toggles(std::collections::BTreeMap<String, bool>);

impl Toggles {
    fn on(&self, field: &str) -> bool {
        self.0.get(field).copied().unwrap_or(true)
    }

    /// The update body without the fields switched off.
    fn trim(&self, mut input: ProductInput) -> ProductInput {
        if !self.on("name") {
            input.name.clear();
        }
        if !self.on("price") {
            input.price = None;
        }
        if !self.on("weight") {
            input.weight = None;
        }
        if !self.on("visibility") {
            input.is_visible = None;
        }
        if !self.on("categories") {
            input.categories.clear();
        }
        input
    }
}

/// What one stock item needs.
enum Plan {
    Done(ApplyResult),
    Update {
        id: u64,
        input: ProductInput,
        fp: String,
    },
    Create {
        input: ProductInput,
        fp: String,
    },
}

/// Applies one stock item.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    to_store_many(ctx, &[key.to_owned()])
        .await
        .pop()
        .unwrap_or_else(|| Err(ApplyError::retry("no result")))
}

/// Over the fields that sync: a change to a field switched off is no change.
fn fingerprint_of(record: &ProductRecord, category_ids: &[u64], toggles: &Toggles) -> String {
    let mut r = record.clone();
    r.modified_at = None;
    r.category_keys.sort();
    let mut ids = category_ids.to_vec();
    if !toggles.on("name") {
        r.name.clear();
    }
    if !toggles.on("price") {
        r.price = 0.0;
    }
    if !toggles.on("weight") {
        r.weight = 0.0;
    }
    if !toggles.on("visibility") {
        r.visible = false;
        r.status.clear();
    }
    if !toggles.on("categories") {
        r.category_keys.clear();
        ids.clear();
    }
    fingerprint(&(r, ids))
}

/// Applies many stock items; one result per key, in order.
pub async fn to_store_many(ctx: &Ctx, keys: &[String]) -> Vec<ApplyResult> {
    let toggles = match ctx.store.entity_settings(ctx.id()).await {
        Ok(all) => Toggles(
            all.into_iter()
                .find(|s| s.entity == Entity::Product)
                .map(|s| s.fields)
                .unwrap_or_default(),
        ),
        Err(e) => {
            let e = ApplyError::from(e);
            return keys.iter().map(|_| Err(e.duplicate())).collect();
        }
    };
    let mut plans = Vec::with_capacity(keys.len());
    for key in keys {
        plans.push(
            plan(ctx, key, &toggles)
                .await
                .unwrap_or_else(|e| Plan::Done(Err(e))),
        );
    }
    // Unbound creates may exist in the store already (a lost binding, a merchant who started
    // with both systems populated): look their SKUs up in one request, adopt what is found.
    let unbound: Vec<String> = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Create { input, .. } => Some(input.sku.clone()),
            _ => None,
        })
        .collect();
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    if !unbound.is_empty() {
        let query = ProductQuery {
            skus: unbound,
            limit: 250,
            page: 1,
            ..ProductQuery::default()
        };
        match ctx.conn.store.products(&query).await {
            Ok(page) => {
                for p in page.items {
                    found.insert(p.sku.to_uppercase(), p.id);
                }
            }
            Err(e) => {
                let err = ApplyError::from(e);
                return keys
                    .iter()
                    .zip(plans)
                    .map(|(_, p)| match p {
                        Plan::Done(r) => r,
                        _ => Err(err.duplicate()),
                    })
                    .collect();
            }
        }
    }
    let mut results: Vec<Option<ApplyResult>> = (0..keys.len()).map(|_| None).collect();
    let mut updates: Vec<(usize, u64, ProductInput, String)> = Vec::new();
    for (i, p) in plans.into_iter().enumerate() {
        match p {
            Plan::Done(r) => results[i] = Some(r),
            Plan::Update { id, input, fp } => updates.push((i, id, input, fp)),
            Plan::Create { input, fp } => match found.get(&input.sku.to_uppercase()) {
                Some(id) => updates.push((i, *id, input, fp)),
                None => {
                    let r = create(ctx, &keys[i], &input, fp).await;
                    results[i] = Some(r);
                }
            },
        }
    }
    for chunk in updates.chunks(BATCH) {
        let items: Vec<(u64, ProductInput)> = chunk
            .iter()
            .map(|(_, id, input, _)| (*id, input.clone()))
            .collect();
        match ctx.conn.store.update_products(&items).await {
            Ok(answers) => {
                for ((i, id, input, fp), answer) in chunk.iter().zip(answers) {
                    results[*i] = Some(match answer {
                        Ok(_) => ctx
                            .bind(
                                Entity::Product,
                                &keys[*i],
                                &id.to_string(),
                                Some(fp.clone()),
                            )
                            .await
                            .map(|()| Applied::processed(format!("updated store product {id}"))),
                        // Deleted in the store behind our back: create it again.
                        Err(kcf_bigcommerce::Error::NotFound { .. }) => {
                            create(ctx, &keys[*i], input, fp.clone()).await
                        }
                        Err(e) => Err(e.into()),
                    });
                }
            }
            Err(e) => {
                let err = ApplyError::from(e);
                for (i, ..) in chunk {
                    results[*i] = Some(Err(err.duplicate()));
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ApplyError::retry("not attempted"))))
        .collect()
}

async fn plan(ctx: &Ctx, key: &str, toggles: &Toggles) -> ApplyResult<Plan> {
    let Some(item) = ctx.conn.erp.stock_item(key).await? else {
        return Ok(Plan::Done(Ok(Applied::deleted(format!(
            "stock item {key} no longer exists in Acumatica; the store product is kept"
        )))));
    };
    let record = kcf_acumatica::mapping::product(&item);
    if record.name.trim().is_empty() {
        return Ok(Plan::Done(Err(ApplyError::Invalid(format!(
            "stock item {key} has no Description; the store needs a product name"
        )))));
    }
    let mut category_ids = Vec::new();
    for c in &record.category_keys {
        category_ids.push(category::ensure(ctx, c, 0).await?);
    }
    category_ids.sort_unstable();
    let fp = fingerprint_of(&record, &category_ids, toggles);
    let input = bc_map::product_input(&record, category_ids);
    Ok(match ctx.by_erp(Entity::Product, key).await? {
        Some(b) if b.fingerprint.as_deref() == Some(fp.as_str()) => Plan::Done(Ok(
            Applied::processed(format!("unchanged (store product {})", b.external_id)),
        )),
        Some(b) => match b.external_id.parse::<u64>() {
            Ok(id) => {
                let input = toggles.trim(input);
                ctx.sending(
                    Some(key),
                    format!("BigCommerce product {id} (update)"),
                    &input,
                );
                Plan::Update { id, input, fp }
            }
            Err(_) => {
                ctx.sending(Some(key), "BigCommerce product (create)", &input);
                Plan::Create { input, fp }
            }
        },
        None => {
            ctx.sending(Some(key), "BigCommerce product (create)", &input);
            Plan::Create { input, fp }
        }
    })
}

async fn create(ctx: &Ctx, key: &str, input: &ProductInput, fp: String) -> ApplyResult {
    let id = match ctx.conn.store.create_product(input).await {
        Ok(p) => p.id,
        // Created meanwhile (or by someone else): adopt it.
        Err(kcf_bigcommerce::Error::Conflict { .. }) => {
            match ctx.conn.store.product_by_sku(&input.sku).await? {
                Some(p) => {
                    ctx.conn.store.update_product(p.id, input).await?;
                    p.id
                }
                None => {
                    return Err(ApplyError::retry(format!(
                        "the store reports a product named '{}' or with SKU {} exists, but it \
                         cannot be found by SKU",
                        input.name, input.sku
                    )));
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    ctx.bind(Entity::Product, key, &id.to_string(), Some(fp))
        .await?;
    Ok(Applied::processed(format!("created store product {id}")))
}
