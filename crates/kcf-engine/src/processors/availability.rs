//! Availability, ERP → store: an item's stock *available to sell* (on hand less what open
//! sales orders hold, never on hand) goes to the store's stock, per location through the
//! warehouse → location mapping (several warehouses may feed one location). Without a
//! mapping, the store's first location gets the sum of every warehouse.
//!
//! **Overselling.** A store takes an order's quantity from its own stock at once; the ERP
//! allocates it only when kcf has made the sales order. Writing the ERP's figure in between
//! would give back what was just sold. So an item that a store order not yet in the ERP
//! holds waits ([`crate::error::ApplyError::Waiting`], no attempt spent) until that order is
//! in the ERP: its allocation then changes the ERP's figure, which comes back as a new
//! notification. The orders looked at are the order messages not yet processed and the
//! store's own orders of the last minutes that kcf has not bound yet, so a sale whose
//! webhook is still on its way (or was lost) holds its items too; one listing of those serves
//! the batches of the next [`RECENT_REUSE`], so under a tight budget the guard does not spend
//! what the writes need. The order of events, and what remains open, is in
//! `docs/ARCHITECTURE.md` ("Stock and overselling").

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use kcf_domain::{Entity, MappingKind, MessageStatus, Timestamp};
use kcf_platform::{StockWrite, Window};
use kcf_store::{MessageFilter, PageRequest};

use crate::{
    connector::Ctx,
    error::{Applied, ApplyError, ApplyResult},
};

/// Items applied together (one stock request for all).
pub const BATCH: usize = 50;

/// Store orders looked at before giving up and waiting for them all.
const PENDING_ORDERS: usize = 50;

/// How far back the store's own orders are looked at for sales kcf has not heard of yet (a
/// webhook still on its way, or lost): an order older than this and still not in kcf is the
/// scheduled order batch's to find.
const RECENT: Duration = Duration::from_secs(15 * 60);

/// Pages of the store's recent orders read before giving up and waiting for them all.
const RECENT_PAGES: usize = 4;

/// How long an item held by a pending store order waits before it is looked at again.
const WAIT: Duration = Duration::from_secs(2);

/// The SKUs that store orders not yet in the ERP hold (upper-cased); `None`: too many such
/// orders to look at, every item waits. Those orders are the order messages not yet
/// processed (paused, failing, in progress) and the store's orders of the last
/// [`RECENT`] that kcf has not bound to an ERP order (their webhook has not arrived).
async fn held_by_pending_orders(ctx: &Ctx) -> ApplyResult<Option<BTreeSet<String>>> {
    let filter = MessageFilter {
        connector: Some(ctx.id().clone()),
        entity: Some(Entity::Order),
        statuses: vec![
            MessageStatus::Pending,
            MessageStatus::Processing,
            MessageStatus::Failed,
        ],
        ..MessageFilter::default()
    };
    let page = ctx
        .store
        .list_messages(
            &filter,
            PageRequest {
                before: None,
                limit: PENDING_ORDERS as u32,
            },
        )
        .await?;
    let mut orders: BTreeSet<String> = page
        .items
        .iter()
        .map(|m| m.record_key.as_str().to_owned())
        .collect();
    let Some(recent) = recent_store_orders(ctx).await? else {
        return Ok(None);
    };
    for key in recent {
        if !orders.contains(&key) && ctx.by_external(Entity::Order, &key).await?.is_none() {
            orders.insert(key);
        }
    }
    if orders.len() >= PENDING_ORDERS {
        return Ok(None);
    }
    let mut skus = BTreeSet::new();
    for id in orders {
        let Some(order) = ctx.shop().order(&id).await? else {
            continue;
        };
        if order.state.incomplete || order.state.cancelled {
            continue;
        }
        let record = ctx.shop().order_record(&order).await?;
        skus.extend(record.lines.iter().map(|l| l.sku.to_uppercase()));
    }
    Ok(Some(skus))
}

/// The store's orders changed in the last [`RECENT`], as listed at `at` (`None`: more than
/// [`RECENT_PAGES`] pages of them).
#[derive(Debug, Clone)]
pub(crate) struct RecentOrders {
    at: std::time::Instant,
    keys: Option<Vec<String>>,
}

/// How long one listing of the store's recent orders serves the batches that follow. Under
/// a tight budget many small batches run one after another, and a listing each would spend
/// most of the budget on reads; a sale placed in this moment and whose webhook has not come
/// either is seen by the next listing (the order messages not yet processed are always
/// looked at afresh).
pub const RECENT_REUSE: Duration = Duration::from_secs(1);

/// The keys of the store's orders changed in the last [`RECENT`] (`None`: too many to
/// look at). Batches running at once wait for one listing rather than each making their own.
async fn recent_store_orders(ctx: &Ctx) -> ApplyResult<Option<Vec<String>>> {
    let mut cached = ctx.conn.recent_orders.lock().await;
    if let Some(r) = cached.as_ref()
        && r.at.elapsed() < RECENT_REUSE
    {
        return Ok(r.keys.clone());
    }
    let now = Timestamp::now();
    let window = Window {
        from: Some(now.minus(RECENT)),
        to: now.plus(Duration::from_secs(1)),
    };
    let started = std::time::Instant::now();
    let mut keys = Vec::new();
    let mut after: Option<String> = None;
    let mut complete = false;
    for _ in 0..RECENT_PAGES {
        let page = ctx
            .shop()
            .changed(Entity::Order, &window, after.as_deref())
            .await?;
        keys.extend(page.records.into_iter().map(|r| r.key));
        match page.next {
            Some(next) => after = Some(next),
            None => {
                complete = true;
                break;
            }
        }
    }
    let keys = complete.then_some(keys);
    *cached = Some(RecentOrders {
        at: started,
        keys: keys.clone(),
    });
    Ok(keys)
}

/// Applies many items; one result per key, in order.
pub async fn to_store_many(ctx: &Ctx, keys: &[String]) -> Vec<ApplyResult> {
    match plan(ctx, keys).await {
        Ok(results) => results,
        Err(e) => keys.iter().map(|_| Err(e.duplicate())).collect(),
    }
}

async fn plan(ctx: &Ctx, keys: &[String]) -> ApplyResult<Vec<ApplyResult>> {
    let held = held_by_pending_orders(ctx).await?;
    let mapping: BTreeMap<String, String> = ctx
        .mapping(MappingKind::Warehouse)
        .await?
        .into_iter()
        .map(|(erp, store)| (erp.to_uppercase(), store))
        .collect();
    let default_location = if mapping.is_empty() {
        match ctx.shop().locations().await?.into_iter().next() {
            Some((id, _)) => Some(id),
            None => {
                return Err(ApplyError::Invalid(
                    "the store lists no inventory location to put stock in".into(),
                ));
            }
        }
    } else {
        None
    };
    let mut results: Vec<Option<ApplyResult>> = (0..keys.len()).map(|_| None).collect();
    let mut writes: Vec<StockWrite> = Vec::new();
    let mut written: Vec<(usize, String)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let sku = key.trim().to_uppercase();
        match &held {
            None => {
                results[i] = Some(Err(ApplyError::Waiting {
                    message: format!(
                        "{PENDING_ORDERS} or more store orders are not in the ERP yet (or more \
                         than {RECENT_PAGES} pages of store orders changed in the last {} \
                         minutes); stock is written once they are",
                        RECENT.as_secs() / 60
                    ),
                    after: WAIT,
                }));
                continue;
            }
            Some(skus) if skus.contains(&sku) => {
                results[i] = Some(Err(ApplyError::Waiting {
                    message: format!(
                        "a store order for {key} is not in the ERP yet; its stock is written \
                         once it is, so the sale is not given back"
                    ),
                    after: WAIT,
                }));
                continue;
            }
            Some(_) => {}
        }
        let levels = match ctx.erp().stock(key).await {
            Ok(l) => l,
            Err(e) => {
                results[i] = Some(Err(e.into()));
                continue;
            }
        };
        if levels.is_empty() {
            results[i] = Some(Ok(Applied::filtered(format!(
                "{key} has no stock in any warehouse of the ERP"
            ))));
            continue;
        }
        let mut per_location: BTreeMap<String, f64> = BTreeMap::new();
        let mut unmapped = Vec::new();
        for l in &levels {
            let location = match &default_location {
                Some(d) => Some(d.clone()),
                None => mapping.get(&l.warehouse.to_uppercase()).cloned(),
            };
            match location {
                Some(loc) => *per_location.entry(loc).or_default() += l.available.max(0.0),
                None => unmapped.push(l.warehouse.clone()),
            }
        }
        if !unmapped.is_empty() {
            results[i] = Some(Err(ApplyError::Invalid(format!(
                "{key} has stock in warehouse {} which no store location is mapped to \
                 (Settings → Mappings → Warehouse)",
                unmapped.join(", ")
            ))));
            continue;
        }
        let first = writes.len();
        for (location, available) in per_location {
            writes.push(StockWrite {
                sku: levels[0].sku.clone(),
                location,
                quantity: available.floor() as i64,
            });
        }
        let note = writes[first..]
            .iter()
            .map(|w| format!("{} at location {}", w.quantity, w.location))
            .collect::<Vec<_>>()
            .join(", ");
        written.push((i, note));
    }
    if !writes.is_empty() {
        let batch = ctx.shop().capabilities().stock_batch.max(1);
        let mut failed: Option<ApplyError> = None;
        for chunk in writes.chunks(batch) {
            if let Err(e) = ctx.shop().set_stock(chunk, ctx).await {
                // The store does not know a SKU yet (its product is not synced): later.
                failed = Some(
                    if matches!(
                        e.kind,
                        kcf_platform::ErrorKind::Record | kcf_platform::ErrorKind::Invalid
                    ) {
                        ApplyError::retry(format!(
                            "the store refused the stock: {} (is the item in the store yet?)",
                            e.words()
                        ))
                    } else {
                        e.into()
                    },
                );
                break;
            }
        }
        for (i, note) in written {
            results[i] = Some(match &failed {
                None => Ok(Applied::processed(format!("available: {note}"))),
                Some(e) => Err(e.duplicate()),
            });
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ApplyError::retry("not attempted"))))
        .collect())
}
