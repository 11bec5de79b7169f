//! Inventory per location: `PUT /v3/inventory/adjustments/absolute` (set levels, all items or
//! none, at most [`MAX_ITEMS`] per request), `GET /v3/inventory/items` (levels by SKU and
//! location). A product's and a variant's `inventory_level` are the sums over locations. A
//! new order takes its quantities from the default location at once, as a store does.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
};
use serde_json::{Value, json};

use super::{
    Bc, Data,
    error::{BcError, BcResult},
    lists::LOCATIONS,
    now_ms,
    params::{Params, json_body},
};

/// Items per adjustment request.
pub const MAX_ITEMS: usize = 2_000;

/// The location an order's stock is taken from.
pub const DEFAULT_LOCATION: u64 = 1;

impl Data {
    /// The level of variant `variant` (a base variant: the product's id) at each location.
    pub(super) fn levels(&self, variant: u64) -> Vec<(u64, i64)> {
        LOCATIONS
            .iter()
            .map(|(l, ..)| (*l, self.stock.get(&(*l, variant)).copied().unwrap_or(0)))
            .collect()
    }

    /// Sets a level and keeps the variant's and the product's `inventory_level` in step.
    pub(super) fn set_level(&mut self, location: u64, product: u64, variant: u64, level: i64) {
        self.stock.insert((location, variant), level);
        let variant_total: i64 = self.levels(variant).iter().map(|(_, q)| q).sum();
        if let Some(v) = self.variants.get_mut(&variant) {
            v.inventory_level = variant_total;
        }
        let variant_ids: Vec<u64> = self.variants_of(product).iter().map(|v| v.id).collect();
        let total: i64 = if variant_ids.is_empty() {
            variant_total
        } else {
            variant_ids
                .iter()
                .map(|v| self.levels(*v).iter().map(|(_, q)| q).sum::<i64>())
                .sum()
        };
        let tracking = if variant_ids.is_empty() {
            "product"
        } else {
            "variant"
        };
        if let Some(p) = self.products.get_mut(&product) {
            p.set_inventory(total, tracking);
        }
    }

    /// An order of `quantity` of `sku` takes it from the default location (when the store
    /// tracks its stock).
    pub(super) fn sell(&mut self, sku: &str, quantity: i64) {
        if let Some((product, variant)) = self.sku_target(sku)
            && self
                .products
                .get(&product)
                .is_some_and(|p| p.tracks_inventory())
        {
            let now = self
                .stock
                .get(&(DEFAULT_LOCATION, variant))
                .copied()
                .unwrap_or(0);
            self.set_level(DEFAULT_LOCATION, product, variant, now - quantity);
        }
    }
}

/// `PUT /v3/inventory/adjustments/absolute`.
pub(super) async fn absolute(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let items = body.get("items").and_then(Value::as_array).ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "items is a required field",
        )
    })?;
    if items.len() > MAX_ITEMS {
        return Err(BcError::too_many(MAX_ITEMS));
    }
    let mut data = bc.write();
    let mut plans = Vec::with_capacity(items.len());
    let mut errors = std::collections::BTreeMap::new();
    for (n, item) in items.iter().enumerate() {
        let location = item.get("location_id").and_then(Value::as_u64);
        if location.is_none_or(|l| !LOCATIONS.iter().any(|(id, ..)| *id == l)) {
            errors.insert(
                format!("items[{n}].location_id"),
                "location not found".to_owned(),
            );
            continue;
        }
        let Some(quantity) = item
            .get("quantity")
            .and_then(Value::as_i64)
            .filter(|q| *q >= 0)
        else {
            errors.insert(
                format!("items[{n}].quantity"),
                "quantity must be a whole number, 0 or more".to_owned(),
            );
            continue;
        };
        let target = if let Some(sku) = item.get("sku").and_then(Value::as_str) {
            data.sku_target(sku)
        } else if let Some(v) = item.get("variant_id").and_then(Value::as_u64) {
            data.variants
                .get(&v)
                .map(|x| (x.product_id, v))
                .or_else(|| data.products.contains_key(&v).then_some((v, v)))
        } else if let Some(p) = item.get("product_id").and_then(Value::as_u64) {
            data.products.contains_key(&p).then_some((p, p))
        } else {
            None
        };
        match target {
            Some((product, variant)) => plans.push((
                location.unwrap_or(DEFAULT_LOCATION),
                product,
                variant,
                quantity,
            )),
            None => {
                errors.insert(
                    format!("items[{n}]"),
                    "no product or variant has this identity".to_owned(),
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(BcError::invalid(errors));
    }
    let now = now_ms();
    let mut touched = Vec::new();
    for (location, product, variant, quantity) in plans {
        data.set_level(location, product, variant, quantity);
        data.touch_product(product, now);
        if !touched.contains(&product) {
            touched.push(product);
        }
    }
    drop(data);
    for p in touched {
        bc.changed("product", p, "inventory/updated");
    }
    Ok(Json(
        json!({ "transaction_id": crate::acumatica::new_guid() }),
    ))
}

/// `GET /v3/inventory/items?sku:in=…&location_id:in=…`.
pub(super) async fn items(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<Json<Value>> {
    let params = Params::new(pairs);
    let skus = params.list("sku:in");
    let locations = params.ids("location_id:in")?;
    let data = bc.read();
    let mut rows: Vec<(String, u64, u64)> = Vec::new();
    for p in data.products.values() {
        let variants = data.variants_of(p.id);
        if variants.is_empty() {
            rows.push((p.sku().to_owned(), p.id, p.id));
        }
        for v in variants {
            rows.push((v.sku.clone(), p.id, v.id));
        }
    }
    let out: Vec<Value> = rows
        .into_iter()
        .filter(|(sku, ..)| skus.as_ref().is_none_or(|s| s.iter().any(|x| x.eq_ignore_ascii_case(sku))))
        .map(|(sku, product, variant)| {
            let levels: Vec<Value> = data
                .levels(variant)
                .into_iter()
                .filter(|(l, _)| locations.as_ref().is_none_or(|ls| ls.contains(l)))
                .map(|(l, q)| {
                    let code = LOCATIONS.iter().find(|(id, ..)| *id == l).map_or("", |x| x.1);
                    json!({ "location_id": l, "location_code": code, "available_to_sell": q.max(0), "total_inventory_onhand": q })
                })
                .collect();
            json!({ "identity": { "sku": sku, "variant_id": variant, "product_id": product }, "locations": levels })
        })
        .collect();
    let n = out.len();
    Ok(Json(
        json!({ "data": out, "meta": { "pagination": { "total": n, "count": n, "per_page": n.max(1), "current_page": 1, "total_pages": 1 } } }),
    ))
}
