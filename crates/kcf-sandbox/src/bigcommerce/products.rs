//! `/v3/catalog/products`: list with filters and pages, create one, update up to 10, delete.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Bc, Data,
    error::{BcError, BcResult},
    now_ms,
    params::{Fields, Params, iso, json_body},
};
use crate::seed::SeedProduct;

/// A catalog product as BigCommerce returns it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Product {
    pub(super) id: u64,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    sku: String,
    description: String,
    weight: f64,
    width: f64,
    depth: f64,
    height: f64,
    price: f64,
    cost_price: f64,
    retail_price: f64,
    sale_price: f64,
    map_price: f64,
    calculated_price: f64,
    tax_class_id: u64,
    product_tax_code: String,
    categories: Vec<u64>,
    brand_id: u64,
    inventory_level: i64,
    inventory_warning_level: i64,
    inventory_tracking: String,
    is_visible: bool,
    is_featured: bool,
    availability: String,
    condition: String,
    upc: String,
    mpn: String,
    gtin: String,
    custom_url: Value,
    pub(super) base_variant_id: u64,
    date_created: String,
    date_modified: String,
    #[serde(skip)]
    pub(super) modified_ms: i64,
}

impl Product {
    fn blank(id: u64, now: i64) -> Self {
        Self {
            id,
            name: String::new(),
            kind: "physical".into(),
            sku: String::new(),
            description: String::new(),
            weight: 0.0,
            width: 0.0,
            depth: 0.0,
            height: 0.0,
            price: 0.0,
            cost_price: 0.0,
            retail_price: 0.0,
            sale_price: 0.0,
            map_price: 0.0,
            calculated_price: 0.0,
            tax_class_id: 0,
            product_tax_code: String::new(),
            categories: Vec::new(),
            brand_id: 0,
            inventory_level: 0,
            inventory_warning_level: 0,
            inventory_tracking: "none".into(),
            is_visible: true,
            is_featured: false,
            availability: "available".into(),
            condition: "New".into(),
            upc: String::new(),
            mpn: String::new(),
            gtin: String::new(),
            custom_url: Value::Null,
            base_variant_id: id,
            date_created: iso(now),
            date_modified: iso(now),
            modified_ms: now,
        }
    }

    pub(super) fn seeded(p: &SeedProduct, now: i64) -> Self {
        let mut product = Self::blank(p.id, now);
        product.name = p.name.clone();
        product.sku = p.sku.clone();
        product.price = p.price;
        product.calculated_price = p.price;
        product.weight = p.weight;
        product.categories = p.categories.clone();
        product.is_visible = p.visible;
        product.custom_url = slug_url(&p.name);
        product
    }

    fn touch(&mut self, now: i64) {
        self.modified_ms = now;
        self.date_modified = iso(now);
    }

    pub(super) fn price_of(&self) -> f64 {
        self.price
    }

    pub(super) fn sku(&self) -> &str {
        &self.sku
    }

    pub(super) fn inventory_level(&self) -> i64 {
        self.inventory_level
    }

    pub(super) fn tracks_inventory(&self) -> bool {
        self.inventory_tracking != "none"
    }

    pub(super) fn set_inventory(&mut self, level: i64, tracking: &str) {
        self.inventory_level = level;
        self.inventory_tracking = tracking.to_owned();
    }

    /// Applies the fields present in `body`; collects what is wrong in `f.errors`.
    fn apply(&mut self, f: &mut Fields<'_>) {
        if let Some(v) = f.string("name") {
            if v.trim().is_empty() || v.chars().count() > 250 {
                f.errors
                    .insert("name".into(), "name must be 1 to 250 characters".into());
            } else {
                self.custom_url = slug_url(&v);
                self.name = v;
            }
        }
        if let Some(v) = f.one_of("type", &["physical", "digital"]) {
            self.kind = v;
        }
        if let Some(v) = f.string("sku") {
            self.sku = v;
        }
        if let Some(v) = f.string("description") {
            self.description = v;
        }
        for (name, slot) in [
            ("weight", &mut self.weight),
            ("width", &mut self.width),
            ("depth", &mut self.depth),
            ("height", &mut self.height),
            ("price", &mut self.price),
            ("cost_price", &mut self.cost_price),
            ("retail_price", &mut self.retail_price),
            ("sale_price", &mut self.sale_price),
            ("map_price", &mut self.map_price),
        ] {
            if let Some(v) = f.number(name) {
                if v < 0.0 {
                    f.errors
                        .insert(name.into(), format!("{name} must not be negative"));
                } else {
                    *slot = v;
                }
            }
        }
        self.calculated_price = if self.sale_price > 0.0 {
            self.sale_price
        } else {
            self.price
        };
        if let Some(v) = f.ids("categories") {
            self.categories = v;
        }
        if let Some(v) = f.uint("tax_class_id") {
            self.tax_class_id = v;
        }
        if let Some(v) = f.uint("brand_id") {
            self.brand_id = v;
        }
        if let Some(v) = f.int("inventory_level") {
            self.inventory_level = v;
        }
        if let Some(v) = f.int("inventory_warning_level") {
            self.inventory_warning_level = v;
        }
        if let Some(v) = f.one_of("inventory_tracking", &["none", "product", "variant"]) {
            self.inventory_tracking = v;
        }
        if let Some(v) = f.boolean("is_visible") {
            self.is_visible = v;
        }
        if let Some(v) = f.boolean("is_featured") {
            self.is_featured = v;
        }
        if let Some(v) = f.one_of("availability", &["available", "disabled", "preorder"]) {
            self.availability = v;
        }
        for (name, slot) in [
            ("product_tax_code", &mut self.product_tax_code),
            ("upc", &mut self.upc),
            ("mpn", &mut self.mpn),
            ("gtin", &mut self.gtin),
        ] {
            if let Some(v) = f.string(name) {
                *slot = v;
            }
        }
        if let Some(v) = f.one_of("condition", &["New", "Used", "Refurbished"]) {
            self.condition = v;
        }
    }
}

impl Data {
    /// Marks a product changed now.
    pub(super) fn touch_product(&mut self, id: u64, now: i64) {
        if let Some(p) = self.products.get_mut(&id) {
            p.touch(now);
        }
    }
}

/// What a read includes (`include=variants,options`).
fn includes(params: &Params) -> Vec<&str> {
    params
        .get("include")
        .map(|v| v.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

fn slug_url(name: &str) -> Value {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    json!({ "url": format!("/{}/", slug.trim_matches('-')), "is_customized": false })
}

/// Checks `product` against the store's unique names and SKUs.
fn check_unique(data: &Data, product: &Product) -> BcResult<()> {
    if data
        .product_names
        .get(&product.name)
        .is_some_and(|id| *id != product.id)
    {
        return Err(BcError::conflict(format!(
            "The product name \"{}\" is a duplicate.",
            product.name
        )));
    }
    if !product.sku.is_empty()
        && data
            .product_skus
            .get(&product.sku)
            .is_some_and(|id| *id != product.id)
    {
        return Err(BcError::conflict(format!(
            "The product sku \"{}\" is a duplicate.",
            product.sku
        )));
    }
    Ok(())
}

impl Data {
    /// Stores a product, keeping the name and SKU indexes in step.
    pub(super) fn put_product(&mut self, product: Product) {
        self.remove_product(product.id);
        self.product_names.insert(product.name.clone(), product.id);
        if !product.sku.is_empty() {
            self.product_skus.insert(product.sku.clone(), product.id);
        }
        self.products.insert(product.id, product);
    }

    /// Removes a product and its index entries.
    pub(super) fn remove_product(&mut self, id: u64) -> Option<Product> {
        let old = self.products.remove(&id)?;
        self.product_names.remove(&old.name);
        self.product_skus.remove(&old.sku);
        Some(old)
    }
}

fn matches(p: &Product, q: &Filter) -> bool {
    q.ids.as_ref().is_none_or(|ids| ids.contains(&p.id))
        && q.skus.as_ref().is_none_or(|skus| skus.contains(&p.sku))
        && q.name.as_ref().is_none_or(|n| *n == p.name)
        && q.visible.is_none_or(|v| v == p.is_visible)
        && q.kind.as_ref().is_none_or(|k| *k == p.kind)
        && q.categories
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|c| p.categories.contains(c)))
        && q.keyword.as_ref().is_none_or(|k| {
            let k = k.to_lowercase();
            p.name.to_lowercase().contains(&k) || p.sku.to_lowercase().contains(&k)
        })
        && q.modified_min.is_none_or(|t| p.modified_ms >= t)
        && q.modified_max.is_none_or(|t| p.modified_ms <= t)
}

#[derive(Debug, Default)]
struct Filter {
    ids: Option<Vec<u64>>,
    skus: Option<Vec<String>>,
    name: Option<String>,
    visible: Option<bool>,
    kind: Option<String>,
    categories: Option<Vec<u64>>,
    keyword: Option<String>,
    modified_min: Option<i64>,
    modified_max: Option<i64>,
}

impl Filter {
    fn from(p: &Params) -> BcResult<Self> {
        let mut skus = p.list("sku:in");
        if let Some(sku) = p.get("sku") {
            skus.get_or_insert_with(Vec::new).push(sku.to_owned());
        }
        Ok(Self {
            ids: match (p.ids("id:in")?, p.int("id")?) {
                (Some(ids), _) => Some(ids),
                (None, Some(id)) => Some(vec![id as u64]),
                (None, None) => None,
            },
            skus,
            name: p.get("name").map(str::to_owned),
            visible: p.flag("is_visible")?,
            kind: p.get("type").map(str::to_owned),
            categories: p.ids("categories:in")?,
            keyword: p.get("keyword").map(str::to_owned),
            modified_min: p.time("date_modified:min")?,
            modified_max: p.time("date_modified:max")?,
        })
    }
}

pub(super) async fn list(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<Json<Value>> {
    let params = Params::new(pairs);
    let filter = Filter::from(&params)?;
    let page = params.page()?;
    let descending = params.get("direction") == Some("desc");
    let data = bc.read();
    let mut found: Vec<&Product> = match (&filter.ids, &filter.skus) {
        // A lookup by ids or SKUs reads those products, not the whole catalogue (a batch
        // of a million products looks each group of ten up by SKU).
        (ids, skus) if ids.is_some() || skus.is_some() => {
            let mut wanted: Vec<u64> = match (ids, skus) {
                (Some(ids), _) => ids.clone(),
                (None, Some(skus)) => skus
                    .iter()
                    .filter_map(|s| data.product_skus.get(s).copied())
                    .collect(),
                (None, None) => Vec::new(),
            };
            wanted.sort_unstable();
            wanted.dedup();
            wanted
                .iter()
                .filter_map(|id| data.products.get(id))
                .filter(|p| matches(p, &filter))
                .collect()
        }
        _ => data
            .products
            .values()
            .filter(|p| matches(p, &filter))
            .collect(),
    };
    // Stable order: the sort key, then the id, so pages never overlap or skip.
    match params.get("sort").unwrap_or("id") {
        "id" => {}
        "name" => found.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "sku" => found.sort_by(|a, b| a.sku.cmp(&b.sku).then(a.id.cmp(&b.id))),
        "price" => found.sort_by(|a, b| a.price.total_cmp(&b.price).then(a.id.cmp(&b.id))),
        "date_modified" => found.sort_by_key(|p| (p.modified_ms, p.id)),
        other => {
            return Err(BcError::new(
                StatusCode::BAD_REQUEST,
                format!("The sort '{other}' is not supported."),
            ));
        }
    }
    if descending {
        found.reverse();
    }
    let (items, meta) = page.slice(&found, "/catalog/products");
    let include = includes(&params);
    let items: Vec<Value> = items
        .into_iter()
        .map(|p| data.product_json(p, &include))
        .collect();
    Ok(Json(json!({ "data": items, "meta": meta })))
}

pub(super) async fn get_one(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<Json<Value>> {
    let params = Params::new(pairs);
    let data = bc.read();
    let p = data
        .products
        .get(&id)
        .ok_or_else(|| BcError::not_found("product"))?;
    Ok(Json(
        json!({ "data": data.product_json(p, &includes(&params)), "meta": {} }),
    ))
}

pub(super) async fn create(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut f = Fields::of(&body, "product")?;
    for required in ["name", "type", "weight", "price"] {
        f.require(required);
    }
    let now = now_ms();
    let mut data = bc.write();
    let id = data.next_product + 1;
    let mut product = Product::blank(id, now);
    product.apply(&mut f);
    f.finish()?;
    check_unique(&data, &product)?;
    let variants = body
        .get("variants")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    data.next_product = id;
    data.put_product(product.clone());
    // Variants given inline are made with the product, or the product is not made at all.
    if !variants.is_empty()
        && let Err(e) = data.add_variants(id, &variants)
    {
        data.remove_variants_of(id);
        data.remove_product(id);
        data.next_product = id - 1;
        return Err(e);
    }
    let out = if variants.is_empty() {
        serde_json::to_value(&product).unwrap_or(Value::Null)
    } else {
        data.product_json(&product, &["variants"])
    };
    drop(data);
    bc.changed("product", id, "created");
    Ok(Json(json!({ "data": out, "meta": {} })))
}

/// Updates one product from `body`; the lock is held by the caller.
fn update_in(data: &mut Data, id: u64, body: &Value, now: i64) -> BcResult<Product> {
    let mut f = Fields::of(body, "product")?;
    let mut product = data
        .products
        .get(&id)
        .cloned()
        .ok_or_else(|| BcError::not_found("product"))?;
    product.apply(&mut f);
    f.finish()?;
    check_unique(data, &product)?;
    product.touch(now);
    data.put_product(product.clone());
    Ok(product)
}

pub(super) async fn update_one(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
    body: Bytes,
) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let product = update_in(&mut bc.write(), id, &body, now_ms())?;
    bc.changed("product", id, "updated");
    Ok(Json(json!({ "data": product, "meta": {} })))
}

/// `PUT /catalog/products`: up to 10 products, each with its `id`. All good: 200; some
/// failed: 207 with the failures in `errors`; all failed: the first failure's status.
pub(super) async fn update_many(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Response> {
    let body = json_body(&body)?;
    let items = body.as_array().ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body must be an array of products.",
        )
    })?;
    if items.len() > 10 {
        return Err(BcError::too_many(10));
    }
    let now = now_ms();
    let mut updated = Vec::new();
    let mut failed = Vec::new();
    {
        let mut data = bc.write();
        for item in items {
            let Some(id) = item.get("id").and_then(Value::as_u64) else {
                let mut errors = std::collections::BTreeMap::new();
                errors.insert("id".to_owned(), "id is a required field".to_owned());
                failed.push(BcError::invalid(errors));
                continue;
            };
            match update_in(&mut data, id, item, now) {
                Ok(p) => updated.push(p),
                Err(e) => failed.push(e),
            }
        }
    }
    for p in &updated {
        bc.changed("product", p.id, "updated");
    }
    if updated.is_empty() && !failed.is_empty() {
        return Err(failed.swap_remove(0));
    }
    if failed.is_empty() {
        return Ok(Json(json!({ "data": updated, "meta": {} })).into_response());
    }
    let errors: Vec<Value> = failed.iter().map(BcError::to_json).collect();
    Ok((
        StatusCode::MULTI_STATUS,
        Json(json!({ "data": updated, "errors": errors, "meta": {} })),
    )
        .into_response())
}

pub(super) async fn delete_one(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<StatusCode> {
    {
        let mut data = bc.write();
        data.remove_product(id)
            .ok_or_else(|| BcError::not_found("product"))?;
        data.remove_variants_of(id);
    }
    bc.changed("product", id, "deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /catalog/products?id:in=…` (a filter is required; at most 250 ids).
pub(super) async fn delete_many(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<StatusCode> {
    let params = Params::new(pairs);
    let ids = params.ids("id:in")?.ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A filter such as id:in is required to delete products.",
        )
    })?;
    if ids.len() > 250 {
        return Err(BcError::too_many(250));
    }
    let mut data = bc.write();
    for id in &ids {
        if data.remove_product(*id).is_some() {
            data.remove_variants_of(*id);
            bc.changed("product", *id, "deleted");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
