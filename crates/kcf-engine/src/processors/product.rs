//! Product, ERP → store: an ERP item becomes a store product (sku = the ERP key). Updates of
//! already-synced products go as many to a request as the store takes
//! ([`kcf_platform::Capabilities::write_batch`]), which is most of the budget saved on a big
//! batch.

use std::collections::BTreeMap;

use kcf_domain::{Entity, Removal, records::ProductRecord, records::fingerprint};
use kcf_platform::ProductWrite;

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::{category, id_value},
};

/// The product fields a connector can stop syncing (the entity table's toggles). A new
/// product is always created whole: the store needs a name, a price and a weight.
fn fields() -> &'static [&'static str] {
    Entity::Product.info().toggles
}

/// Which fields sync (absent: on).
#[derive(Debug, Clone, Default)]
struct Toggles(BTreeMap<String, bool>);

impl Toggles {
    fn on(&self, field: &str) -> bool {
        self.0.get(field).copied().unwrap_or(true)
    }

    fn off(&self) -> Vec<String> {
        fields()
            .iter()
            .filter(|f| !self.on(f))
            .map(|f| (*f).to_owned())
            .collect()
    }
}

/// What one item needs.
enum Plan {
    Done(ApplyResult),
    Update {
        id: String,
        write: ProductWrite,
        fp: String,
    },
    Create {
        write: ProductWrite,
        fp: String,
    },
}

/// Applies one item.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    to_store_many(ctx, &[key.to_owned()])
        .await
        .pop()
        .unwrap_or_else(|| Err(ApplyError::retry("no result")))
}

/// Over the fields that sync: a change to a field switched off is no change.
fn fingerprint_of(record: &ProductRecord, category_ids: &[String], toggles: &Toggles) -> String {
    let mut r = record.clone();
    r.modified_at = None;
    r.category_keys.sort();
    let mut ids: Vec<serde_json::Value> = category_ids.iter().map(|i| id_value(i)).collect();
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

/// Applies many items; one result per key, in order.
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
            Plan::Create { write, .. } => Some(write.record.sku.clone()),
            _ => None,
        })
        .collect();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    if !unbound.is_empty() {
        match ctx.shop().product_ids_by_sku(&unbound).await {
            Ok(ids) => found = ids,
            Err(e) => {
                let err = ApplyError::from(e);
                return plans
                    .into_iter()
                    .map(|p| match p {
                        Plan::Done(r) => r,
                        _ => Err(err.duplicate()),
                    })
                    .collect();
            }
        }
    }
    let mut results: Vec<Option<ApplyResult>> = (0..keys.len()).map(|_| None).collect();
    // Updates of bound products leave switched-off fields alone; adopted ones are written
    // whole.
    let mut updates: Vec<(usize, String, ProductWrite, String)> = Vec::new();
    let mut adopted: Vec<(usize, String, ProductWrite, String)> = Vec::new();
    for (i, p) in plans.into_iter().enumerate() {
        match p {
            Plan::Done(r) => results[i] = Some(r),
            Plan::Update { id, write, fp } => updates.push((i, id, write, fp)),
            Plan::Create { write, fp } => match found.get(&write.record.sku.to_uppercase()) {
                Some(id) => adopted.push((i, id.clone(), write, fp)),
                None => results[i] = Some(create(ctx, &write, fp).await),
            },
        }
    }
    let batch = ctx.shop().capabilities().write_batch.max(1);
    for (whole, list) in [(false, updates), (true, adopted)] {
        for chunk in list.chunks(batch) {
            let items: Vec<(String, ProductWrite)> = chunk
                .iter()
                .map(|(_, id, write, _)| (id.clone(), write.clone()))
                .collect();
            match ctx.shop().update_products(&items, whole, ctx).await {
                Ok(answers) => {
                    for ((i, id, write, fp), answer) in chunk.iter().zip(answers) {
                        results[*i] = Some(match answer {
                            Ok(()) => ctx
                                .bind(Entity::Product, &keys[*i], id, Some(fp.clone()))
                                .await
                                .map(|()| {
                                    Applied::processed(format!("updated store product {id}"))
                                }),
                            // Deleted in the store behind our back: create it again.
                            Err(e) if e.is_not_found() => create(ctx, write, fp.clone()).await,
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
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ApplyError::retry("not attempted"))))
        .collect()
}

async fn plan(ctx: &Ctx, key: &str, toggles: &Toggles) -> ApplyResult<Plan> {
    let Some(record) = ctx.erp().product(key).await? else {
        return Ok(Plan::Done(
            retire(ctx, Entity::Product, key, "stock item").await,
        ));
    };
    // A matrix item is a variant of its template's product: syncing the template adds,
    // changes or removes it there.
    if let Some(template) = record.template.clone() {
        return Ok(Plan::Done(
            super::template::to_store(ctx, &template)
                .await
                .map(|a| Applied {
                    outcome: a.outcome,
                    note: format!("matrix item of template item {template}: {}", a.note),
                }),
        ));
    }
    if record.name.trim().is_empty() {
        return Ok(Plan::Done(Err(ApplyError::Invalid(format!(
            "stock item {key} has no Description; the store needs a product name"
        )))));
    }
    let mut category_ids = Vec::new();
    for c in &record.category_keys {
        category_ids.push(category::ensure(ctx, c, 0).await?);
    }
    category_ids.sort_by_key(|id| (id.parse::<u64>().ok(), id.clone()));
    let fp = fingerprint_of(&record, &category_ids, toggles);
    let write = ProductWrite {
        key: key.to_owned(),
        record,
        category_ids,
        fields_off: toggles.off(),
    };
    Ok(match ctx.by_erp(Entity::Product, key).await? {
        Some(b) if b.fingerprint.as_deref() == Some(fp.as_str()) => Plan::Done(Ok(
            Applied::processed(format!("unchanged (store product {})", b.external_id)),
        )),
        Some(b) if !b.external_id.trim().is_empty() => Plan::Update {
            id: b.external_id,
            write,
            fp,
        },
        _ => Plan::Create { write, fp },
    })
}

/// A record deleted in the ERP: its store product is hidden from shoppers (kept, so its
/// orders and history still point somewhere) or deleted, per the entity's setting.
pub(crate) async fn retire(ctx: &Ctx, entity: Entity, key: &str, what: &str) -> ApplyResult {
    let erp = ctx.erp().platform().label();
    let Some(b) = ctx.by_erp(entity, key).await? else {
        // A matrix item is a variant of its template's product: syncing the template (whose
        // matrix no longer has it) removes the variant.
        if entity == Entity::Product
            && let Some(product) = ctx.shop().product_of_variant(key).await?
            && let Some(t) = ctx.by_external(Entity::TemplateItem, &product).await?
        {
            let a = Box::pin(super::template::to_store(ctx, &t.erp_key)).await?;
            return Ok(Applied::deleted(format!(
                "{what} {key} no longer exists in {erp}; it was a variant of template item \
                 {}: {}",
                t.erp_key, a.note
            )));
        }
        return Ok(Applied::deleted(format!(
            "{what} {key} no longer exists in {erp}; it was never in the store"
        )));
    };
    let id = &b.external_id;
    let delete = match ctx.removal(entity).await? {
        Removal::Keep => {
            return Ok(Applied::deleted(format!(
                "{what} {key} no longer exists in {erp}; store product {id} is kept (the \
                 {} setting)",
                entity.info().word
            )));
        }
        Removal::Hide => false,
        Removal::Delete => true,
    };
    let found = match ctx.shop().retire_product(id, delete, ctx).await {
        Ok(()) => true,
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(e.into()),
    };
    let done = if found && !delete {
        // No fingerprint: restored in the ERP, it is written whole and shown again.
        ctx.bind(entity, key, id, None).await?;
        format!("; store product {id} is hidden")
    } else {
        // Gone from the store: if the ERP brings it back, it is created anew.
        ctx.store.delete_binding(ctx.id(), entity, key).await?;
        if found {
            format!("; store product {id} is deleted")
        } else {
            format!(", nor its store product {id}")
        }
    };
    Ok(Applied::deleted(format!(
        "{what} {key} no longer exists in {erp}{done}"
    )))
}

async fn create(ctx: &Ctx, write: &ProductWrite, fp: String) -> ApplyResult {
    let shop = ctx.shop();
    let id = match shop.create_product(write, ctx).await {
        Ok(id) => id,
        // Created meanwhile (or by someone else): adopt it.
        Err(e) if e.is_conflict() => match shop.product_by_sku(&write.record.sku).await? {
            Some(id) => {
                shop.update_product(&id, write).await?;
                id
            }
            None => {
                return Err(ApplyError::retry(format!(
                    "the store reports a product named '{}' or with SKU {} exists, but it \
                     cannot be found by SKU",
                    write.record.name, write.record.sku
                )));
            }
        },
        Err(e) => return Err(e.into()),
    };
    ctx.bind(Entity::Product, &write.key, &id, Some(fp)).await?;
    Ok(Applied::processed(format!("created store product {id}")))
}
