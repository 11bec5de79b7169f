//! Options and variants: `/v3/catalog/products/{id}/options` and `/variants`, variants given
//! inline when a product is created (`variants[{sku, price, retail_price, option_values[{
//! option_display_name, label}]}]`), `include=variants,options` on product reads. A product
//! without options has one base variant (its id is the product's `base_variant_id`). SKUs are
//! unique across products and variants; a product has at most [`MAX_VARIANTS`] variants.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Bc, Data,
    error::{BcError, BcResult},
    now_ms,
    params::{Params, json_body},
};

/// BigCommerce's limit of SKUs (variants) per product.
pub const MAX_VARIANTS: usize = 600;

/// Variant ids start here (base variants take their product's id).
const FIRST_VARIANT: u64 = 1_000_000;

/// One value of an option.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OptionValue {
    id: u64,
    label: String,
    sort_order: u64,
    is_default: bool,
}

/// A product's variant option (Color, Size…).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductOption {
    id: u64,
    product_id: u64,
    display_name: String,
    #[serde(rename = "type")]
    kind: String,
    sort_order: u64,
    option_values: Vec<OptionValue>,
}

/// A variant's value of one option.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantValue {
    id: u64,
    label: String,
    option_id: u64,
    option_display_name: String,
}

/// A variant (a SKU of a product).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Variant {
    pub(super) id: u64,
    pub(super) product_id: u64,
    pub(super) sku: String,
    price: Option<f64>,
    retail_price: Option<f64>,
    calculated_price: f64,
    pub(super) inventory_level: i64,
    purchasing_disabled: bool,
    option_values: Vec<VariantValue>,
}

/// An option value a variant names: (option id, value id, option name, label).
type Wanted = (Option<u64>, Option<u64>, String, String);

/// An option value a variant is given by: by ids, or by name and label.
fn wanted_values(v: &Value, n: usize) -> BcResult<Vec<Wanted>> {
    let Some(values) = v.get("option_values").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    values
        .iter()
        .map(|ov| {
            let text = |k: &str| {
                ov.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            };
            let (name, label) = (text("option_display_name"), text("label"));
            let option_id = ov.get("option_id").and_then(Value::as_u64);
            let value_id = ov.get("id").and_then(Value::as_u64);
            if option_id.is_none() && (name.is_empty() || label.is_empty()) {
                return Err(BcError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "variants[{n}].option_values: each needs option_id and id, or \
                         option_display_name and label"
                    ),
                ));
            }
            Ok((option_id, value_id, name, label))
        })
        .collect()
}

impl ProductOption {
    pub(super) fn id(&self) -> u64 {
        self.id
    }
}

impl Data {
    /// The variants of a product, in id order.
    pub(super) fn variants_of(&self, product: u64) -> Vec<&Variant> {
        self.variants
            .values()
            .filter(|v| v.product_id == product)
            .collect()
    }

    /// The options of a product, in id order.
    pub(super) fn options_of(&self, product: u64) -> Vec<&ProductOption> {
        self.options
            .values()
            .filter(|o| o.product_id == product)
            .collect()
    }

    /// The product or variant a SKU names: (product id, variant id).
    pub(super) fn sku_target(&self, sku: &str) -> Option<(u64, u64)> {
        if let Some(v) = self
            .variants
            .values()
            .find(|v| v.sku.eq_ignore_ascii_case(sku))
        {
            return Some((v.product_id, v.id));
        }
        let id = self
            .product_skus
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(sku))
            .map(|(_, id)| *id)?;
        Some((id, id))
    }

    fn sku_taken(&self, sku: &str, except_variant: Option<u64>) -> bool {
        self.product_skus
            .keys()
            .any(|s| s.eq_ignore_ascii_case(sku))
            || self
                .variants
                .values()
                .any(|v| v.sku.eq_ignore_ascii_case(sku) && Some(v.id) != except_variant)
    }

    /// The option value (creating the option or the value as needed) for `name` = `label`.
    fn option_value(&mut self, product: u64, name: &str, label: &str) -> VariantValue {
        let existing = self
            .options
            .values()
            .find(|o| o.product_id == product && o.display_name.eq_ignore_ascii_case(name))
            .map(|o| o.id);
        let option_id = match existing {
            Some(id) => id,
            None => {
                self.next_option += 1;
                let id = self.next_option;
                let sort_order = self.options_of(product).len() as u64;
                self.options.insert(
                    id,
                    ProductOption {
                        id,
                        product_id: product,
                        display_name: name.to_owned(),
                        kind: "rectangles".into(),
                        sort_order,
                        option_values: Vec::new(),
                    },
                );
                id
            }
        };
        self.next_option_value += 1;
        let fresh = self.next_option_value;
        let Some(option) = self.options.get_mut(&option_id) else {
            return VariantValue {
                id: fresh,
                label: label.to_owned(),
                option_id,
                option_display_name: name.to_owned(),
            };
        };
        let value = match option
            .option_values
            .iter()
            .find(|v| v.label.eq_ignore_ascii_case(label))
        {
            Some(v) => v.clone(),
            None => {
                let v = OptionValue {
                    id: fresh,
                    label: label.to_owned(),
                    sort_order: option.option_values.len() as u64,
                    is_default: false,
                };
                option.option_values.push(v.clone());
                v
            }
        };
        VariantValue {
            id: value.id,
            label: value.label,
            option_id,
            option_display_name: option.display_name.clone(),
        }
    }

    /// Adds the variants `wanted` to product `product`, all or none; the variants made.
    pub(super) fn add_variants(
        &mut self,
        product: u64,
        wanted: &[Value],
    ) -> BcResult<Vec<Variant>> {
        if self.variants_of(product).len() + wanted.len() > MAX_VARIANTS {
            return Err(BcError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("A product can have at most {MAX_VARIANTS} variants."),
            ));
        }
        // Check everything before anything is stored.
        let mut skus: Vec<String> = Vec::new();
        let mut plans = Vec::new();
        for (n, v) in wanted.iter().enumerate() {
            let sku = v
                .get("sku")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_owned();
            if sku.is_empty() {
                return Err(BcError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("variants[{n}].sku is a required field"),
                ));
            }
            if self.sku_taken(&sku, None) || skus.iter().any(|s| s.eq_ignore_ascii_case(&sku)) {
                return Err(BcError::conflict(format!(
                    "The variant sku \"{sku}\" is a duplicate."
                )));
            }
            let values = wanted_values(v, n)?;
            if values.is_empty() {
                return Err(BcError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("variants[{n}].option_values must name at least one option value"),
                ));
            }
            for (option_id, value_id, _, _) in &values {
                if let Some(o) = option_id {
                    let known = self.options.get(o).is_some_and(|opt| {
                        opt.product_id == product
                            && value_id
                                .is_none_or(|id| opt.option_values.iter().any(|ov| ov.id == id))
                    });
                    if !known {
                        return Err(BcError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            format!(
                                "variants[{n}].option_values names an option this product does not have"
                            ),
                        ));
                    }
                }
            }
            skus.push(sku.clone());
            plans.push((sku, values, v));
        }
        let mut made = Vec::new();
        for (sku, values, v) in plans {
            let mut option_values = Vec::new();
            for (option_id, value_id, name, label) in values {
                let value = match (option_id, value_id) {
                    (Some(o), Some(id)) => {
                        let Some(opt) = self.options.get(&o) else {
                            continue;
                        };
                        let ov = opt.option_values.iter().find(|x| x.id == id).cloned();
                        match ov {
                            Some(ov) => VariantValue {
                                id: ov.id,
                                label: ov.label,
                                option_id: o,
                                option_display_name: opt.display_name.clone(),
                            },
                            None => continue,
                        }
                    }
                    (Some(o), None) => {
                        let Some(name) = self.options.get(&o).map(|x| x.display_name.clone())
                        else {
                            continue;
                        };
                        self.option_value(product, &name, &label)
                    }
                    _ => self.option_value(product, &name, &label),
                };
                option_values.push(value);
            }
            let product_price = self.products.get(&product).map_or(0.0, |p| p.price_of());
            let price = v.get("price").and_then(Value::as_f64);
            self.next_variant = self.next_variant.max(FIRST_VARIANT) + 1;
            let variant = Variant {
                id: self.next_variant,
                product_id: product,
                sku,
                price,
                retail_price: v.get("retail_price").and_then(Value::as_f64),
                calculated_price: price.unwrap_or(product_price),
                inventory_level: 0,
                purchasing_disabled: v.get("purchasing_disabled").and_then(Value::as_bool)
                    == Some(true),
                option_values,
            };
            self.variants.insert(variant.id, variant.clone());
            made.push(variant);
        }
        Ok(made)
    }

    /// Removes a product's variants, options and stock.
    pub(super) fn remove_variants_of(&mut self, product: u64) {
        let ids: Vec<u64> = self.variants_of(product).iter().map(|v| v.id).collect();
        for id in ids {
            self.variants.remove(&id);
        }
        self.options.retain(|_, o| o.product_id != product);
        self.stock.retain(|(_, v), _| {
            *v != product && self.variants.get(v).is_none_or(|x| x.product_id != product)
        });
    }

    /// A product as read with `include`: its variants (a product without options has its
    /// base variant) and options.
    pub(super) fn product_json(&self, product: &super::Product, include: &[&str]) -> Value {
        let mut out = serde_json::to_value(product).unwrap_or(Value::Null);
        if include.contains(&"variants") {
            let mut variants: Vec<Value> = self
                .variants_of(product.id)
                .into_iter()
                .map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
                .collect();
            if variants.is_empty() {
                variants.push(json!({
                    "id": product.base_variant_id, "product_id": product.id, "sku": product.sku(),
                    "price": null, "retail_price": null, "calculated_price": product.price_of(),
                    "inventory_level": product.inventory_level(), "purchasing_disabled": false,
                    "option_values": [],
                }));
            }
            out["variants"] = Value::Array(variants);
        }
        if include.contains(&"options") {
            out["options"] =
                serde_json::to_value(self.options_of(product.id)).unwrap_or(Value::Null);
        }
        out
    }
}

fn product_exists(data: &Data, id: u64) -> BcResult<()> {
    if data.products.contains_key(&id) {
        Ok(())
    } else {
        Err(BcError::not_found("product"))
    }
}

/// `GET /catalog/variants`: every product's variants (base variants included), filtered by
/// `sku`, `sku:in`, `product_id:in`, paged as v3 pages.
pub(super) async fn list_all(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<Json<Value>> {
    let p = Params::new(pairs);
    let page = p.page()?;
    let mut skus: Vec<String> = p.list("sku:in").unwrap_or_default();
    skus.extend(p.get("sku").map(str::to_owned));
    let skus: Vec<String> = skus.iter().map(|s| s.to_uppercase()).collect();
    let products = p.ids("product_id:in")?;
    let data = bc.read();
    let mut found: Vec<Value> = Vec::new();
    for product in data.products.values() {
        if products
            .as_ref()
            .is_some_and(|ids| !ids.contains(&product.id))
        {
            continue;
        }
        let all = data.product_json(product, &["variants"]);
        for v in all["variants"].as_array().into_iter().flatten() {
            let sku = v["sku"].as_str().unwrap_or("").to_uppercase();
            if skus.is_empty() || skus.contains(&sku) {
                found.push(v.clone());
            }
        }
    }
    let (items, meta) = page.slice(&found, "/catalog/variants");
    Ok(Json(json!({ "data": items, "meta": meta })))
}

/// `GET /catalog/products/{id}/variants`.
pub(super) async fn list(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    let data = bc.read();
    let product = data
        .products
        .get(&id)
        .ok_or_else(|| BcError::not_found("product"))?;
    let all = data.product_json(product, &["variants"]);
    let variants = all.get("variants").cloned().unwrap_or(json!([]));
    let n = variants.as_array().map_or(0, Vec::len);
    Ok(Json(
        json!({ "data": variants, "meta": { "pagination": { "total": n, "count": n, "per_page": 250, "current_page": 1, "total_pages": 1 } } }),
    ))
}

/// `POST /catalog/products/{id}/variants`.
pub(super) async fn create(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
    body: Bytes,
) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut data = bc.write();
    product_exists(&data, id)?;
    let made = data.add_variants(id, std::slice::from_ref(&body))?;
    data.touch_product(id, now_ms());
    drop(data);
    bc.changed("product", id, "updated");
    Ok(Json(json!({ "data": made.first(), "meta": {} })))
}

/// `PUT /catalog/products/{id}/variants/{variant_id}`: price, retail price, SKU, purchasing.
pub(super) async fn update(
    State(bc): State<Arc<Bc>>,
    Path((_, id, variant)): Path<(String, u64, u64)>,
    body: Bytes,
) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut data = bc.write();
    product_exists(&data, id)?;
    if let Some(sku) = body.get("sku").and_then(Value::as_str)
        && data.sku_taken(sku, Some(variant))
    {
        return Err(BcError::conflict(format!(
            "The variant sku \"{sku}\" is a duplicate."
        )));
    }
    let product_price = data.products.get(&id).map_or(0.0, |p| p.price_of());
    let v = data
        .variants
        .get_mut(&variant)
        .filter(|v| v.product_id == id)
        .ok_or_else(|| BcError::not_found("variant"))?;
    if let Some(sku) = body.get("sku").and_then(Value::as_str) {
        v.sku = sku.to_owned();
    }
    if body.get("price").is_some() {
        v.price = body.get("price").and_then(Value::as_f64);
    }
    if body.get("retail_price").is_some() {
        v.retail_price = body.get("retail_price").and_then(Value::as_f64);
    }
    if let Some(b) = body.get("purchasing_disabled").and_then(Value::as_bool) {
        v.purchasing_disabled = b;
    }
    v.calculated_price = v.price.unwrap_or(product_price);
    let out = v.clone();
    data.touch_product(id, now_ms());
    drop(data);
    bc.changed("product", id, "updated");
    Ok(Json(json!({ "data": out, "meta": {} })))
}

/// `DELETE /catalog/products/{id}/variants/{variant_id}`.
pub(super) async fn delete(
    State(bc): State<Arc<Bc>>,
    Path((_, id, variant)): Path<(String, u64, u64)>,
) -> BcResult<StatusCode> {
    let mut data = bc.write();
    if data
        .variants
        .get(&variant)
        .is_none_or(|v| v.product_id != id)
    {
        return Err(BcError::not_found("variant"));
    }
    data.variants.remove(&variant);
    data.stock.retain(|(_, v), _| *v != variant);
    data.touch_product(id, now_ms());
    drop(data);
    bc.changed("product", id, "updated");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /catalog/products/{id}/options`.
pub(super) async fn options(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    let data = bc.read();
    product_exists(&data, id)?;
    let options = data.options_of(id);
    let n = options.len();
    Ok(Json(
        json!({ "data": options, "meta": { "pagination": { "total": n, "count": n, "per_page": 50, "current_page": 1, "total_pages": 1 } } }),
    ))
}
