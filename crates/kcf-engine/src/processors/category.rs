//! Category, ERP → store: an item sales category becomes a store category under its synced
//! parent, parents first.

use std::{future::Future, pin::Pin};

use kcf_bigcommerce::{CategoryQuery, mapping as bc_map};
use kcf_domain::{Entity, records::CategoryRecord, records::fingerprint};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
};

/// Deeper than this is a cycle in the ERP's tree (or a tree no storefront can show).
const MAX_DEPTH: usize = 16;

/// Applies ERP category `key` to the store.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    let Some(category) = ctx.conn.erp.item_sales_category(key).await? else {
        return Ok(Applied::deleted(format!(
            "category {key} no longer exists in Acumatica; the store category is kept"
        )));
    };
    let record = kcf_acumatica::mapping::category(&category);
    let _guard = ctx.conn.category_lock.lock().await;
    let (id, note) = sync(ctx, &record, 0).await?;
    Ok(Applied::processed(format!("{note} store category {id}")))
}

/// The store id of ERP category `key`, syncing it (and its parents) first when needed.
pub fn ensure<'a>(
    ctx: &'a Ctx,
    key: &'a str,
    depth: usize,
) -> Pin<Box<dyn Future<Output = ApplyResult<u64>> + Send + 'a>> {
    Box::pin(async move {
        if depth > MAX_DEPTH {
            return Err(ApplyError::Invalid(format!(
                "category {key} is more than {MAX_DEPTH} levels deep; check its parents for a cycle"
            )));
        }
        if let Some(b) = ctx.by_erp(Entity::Category, key).await? {
            return store_id(&b.external_id);
        }
        // Only the outermost call takes the lock (parents are ensured while it is held).
        let _guard = if depth == 0 {
            Some(ctx.conn.category_lock.lock().await)
        } else {
            None
        };
        if let Some(b) = ctx.by_erp(Entity::Category, key).await? {
            return store_id(&b.external_id);
        }
        let Some(category) = ctx.conn.erp.item_sales_category(key).await? else {
            return Err(ApplyError::Invalid(format!(
                "category {key} does not exist in Acumatica"
            )));
        };
        let record = kcf_acumatica::mapping::category(&category);
        Ok(sync(ctx, &record, depth).await?.0)
    })
}

fn store_id(external: &str) -> ApplyResult<u64> {
    external.parse().map_err(|_| {
        ApplyError::Invalid(format!(
            "the binding points at store category '{external}', which is not a number"
        ))
    })
}

fn fingerprint_of(record: &CategoryRecord, parent_id: u64) -> String {
    fingerprint(&(&record.name, parent_id, record.sort_order))
}

/// Creates or updates the store category of `record`; returns its id and what was done.
async fn sync(
    ctx: &Ctx,
    record: &CategoryRecord,
    depth: usize,
) -> ApplyResult<(u64, &'static str)> {
    let parent_id = match &record.parent_key {
        Some(parent) => ensure(ctx, parent, depth + 1).await?,
        None => 0,
    };
    let fp = fingerprint_of(record, parent_id);
    let tree_id = ctx.conn.tree_id().await?;
    let input = bc_map::category_input(record, parent_id, tree_id);
    if let Some(b) = ctx.by_erp(Entity::Category, &record.key).await? {
        let id = store_id(&b.external_id)?;
        if b.fingerprint.as_deref() == Some(fp.as_str()) {
            return Ok((id, "unchanged"));
        }
        ctx.sending(None, format!("BigCommerce category {id} (update)"), &input);
        match ctx.conn.store.update_category(id, &input).await {
            Ok(_) => {
                ctx.bind(Entity::Category, &record.key, &id.to_string(), Some(fp))
                    .await?;
                return Ok((id, "updated"));
            }
            Err(kcf_bigcommerce::Error::NotFound { .. }) => {
                ctx.store
                    .delete_binding(ctx.id(), Entity::Category, &record.key)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Not bound: a category of that name under that parent is ours to adopt.
    let query = CategoryQuery {
        name: Some(record.name.clone()),
        parent_id: Some(parent_id),
        tree_id: Some(tree_id),
        ..CategoryQuery::default()
    };
    let existing = ctx
        .conn
        .store
        .categories(&query)
        .await?
        .items
        .into_iter()
        .next();
    ctx.sending(
        None,
        "BigCommerce category (create or match by name)",
        &input,
    );
    let (id, note) = match existing {
        Some(c) => {
            let id = c.category_id;
            ctx.conn.store.update_category(id, &input).await?;
            (id, "matched by name and updated")
        }
        None => (
            ctx.conn.store.create_category(&input).await?.category_id,
            "created",
        ),
    };
    ctx.bind(Entity::Category, &record.key, &id.to_string(), Some(fp))
        .await?;
    Ok((id, note))
}
