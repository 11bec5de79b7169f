//! Category, ERP → store: an ERP sales category becomes a store category under its synced
//! parent, parents first.

use std::{future::Future, pin::Pin};

use kcf_domain::{Entity, Removal, records::CategoryRecord, records::fingerprint};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
    processors::id_value,
};

/// Deeper than this is a cycle in the ERP's tree (or a tree no storefront can show).
const MAX_DEPTH: usize = 16;

/// Applies ERP category `key` to the store.
pub async fn to_store(ctx: &Ctx, key: &str) -> ApplyResult {
    let Some(record) = ctx.erp().category(key).await? else {
        return removed(ctx, key).await;
    };
    let _guard = ctx.conn.category_lock.lock().await;
    let (id, note) = sync(ctx, &record, 0).await?;
    Ok(Applied::processed(format!("{note} store category {id}")))
}

/// ERP category `key` is gone: its store category is kept, hidden or deleted, per the
/// entity's setting.
async fn removed(ctx: &Ctx, key: &str) -> ApplyResult {
    let erp = ctx.erp().platform().label();
    let removal = ctx.removal(Entity::Category).await?;
    let binding = ctx.by_erp(Entity::Category, key).await?;
    let (b, delete) = match (binding, removal) {
        (None, _) => {
            return Ok(Applied::deleted(format!(
                "category {key} no longer exists in {erp}; it was never in the store"
            )));
        }
        (Some(b), Removal::Keep) => {
            return Ok(Applied::deleted(format!(
                "category {key} no longer exists in {erp}; store category {} is kept (the \
                 category setting)",
                b.external_id
            )));
        }
        (Some(b), Removal::Hide) => (b, false),
        (Some(b), Removal::Delete) => (b, true),
    };
    let id = &b.external_id;
    let _guard = ctx.conn.category_lock.lock().await;
    match ctx.shop().retire_category(id, delete, ctx).await {
        Ok(()) if !delete => {
            // No fingerprint: restored in the ERP, it is written whole and shown again.
            ctx.bind(Entity::Category, key, id, None).await?;
            return Ok(Applied::deleted(format!(
                "category {key} no longer exists in {erp}; store category {id} is hidden"
            )));
        }
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    // Gone from the store (the store deletes the categories under it too: their bindings
    // find that out on their next sync and create them anew).
    ctx.store
        .delete_binding(ctx.id(), Entity::Category, key)
        .await?;
    Ok(Applied::deleted(format!(
        "category {key} no longer exists in {erp}; store category {id} is deleted"
    )))
}

/// The store id of ERP category `key`, syncing it (and its parents) first when needed.
pub fn ensure<'a>(
    ctx: &'a Ctx,
    key: &'a str,
    depth: usize,
) -> Pin<Box<dyn Future<Output = ApplyResult<String>> + Send + 'a>> {
    Box::pin(async move {
        if depth > MAX_DEPTH {
            return Err(ApplyError::Invalid(format!(
                "category {key} is more than {MAX_DEPTH} levels deep; check its parents for a cycle"
            )));
        }
        if let Some(b) = ctx.by_erp(Entity::Category, key).await? {
            return Ok(b.external_id);
        }
        // Only the outermost call takes the lock (parents are ensured while it is held).
        let _guard = if depth == 0 {
            Some(ctx.conn.category_lock.lock().await)
        } else {
            None
        };
        if let Some(b) = ctx.by_erp(Entity::Category, key).await? {
            return Ok(b.external_id);
        }
        let Some(record) = ctx.erp().category(key).await? else {
            return Err(ApplyError::Invalid(format!(
                "category {key} does not exist in {}",
                ctx.erp().platform().label()
            )));
        };
        Ok(sync(ctx, &record, depth).await?.0)
    })
}

fn fingerprint_of(record: &CategoryRecord, parent: Option<&str>) -> String {
    // A root's parent counts as 0, as it always has (fingerprints stay stable).
    fingerprint(&(
        &record.name,
        id_value(parent.unwrap_or("0")),
        record.sort_order,
    ))
}

/// Creates or updates the store category of `record`; returns its id and what was done.
async fn sync(
    ctx: &Ctx,
    record: &CategoryRecord,
    depth: usize,
) -> ApplyResult<(String, &'static str)> {
    let parent = match &record.parent_key {
        Some(parent) => Some(ensure(ctx, parent, depth + 1).await?),
        None => None,
    };
    let parent = parent.as_deref();
    let fp = fingerprint_of(record, parent);
    if let Some(b) = ctx.by_erp(Entity::Category, &record.key).await? {
        let id = b.external_id;
        if b.fingerprint.as_deref() == Some(fp.as_str()) {
            return Ok((id, "unchanged"));
        }
        match ctx.shop().update_category(&id, record, parent, ctx).await {
            Ok(()) => {
                ctx.bind(Entity::Category, &record.key, &id, Some(fp))
                    .await?;
                return Ok((id, "updated"));
            }
            Err(e) if e.is_not_found() => {
                ctx.store
                    .delete_binding(ctx.id(), Entity::Category, &record.key)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (id, adopted) = ctx.shop().put_category(record, parent, ctx).await?;
    let note = if adopted {
        "matched by name and updated"
    } else {
        "created"
    };
    ctx.bind(Entity::Category, &record.key, &id, Some(fp))
        .await?;
    Ok((id, note))
}
