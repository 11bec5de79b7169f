//! Variants and stock: `/v3/catalog/products/{id}/variants`, a product created with its
//! variants inline, `/v3/inventory/items` and `/v3/inventory/adjustments/absolute`.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::BigCommerceClient;
use crate::{
    error::Error,
    model::{Product, ProductInput},
};

/// Stock levels one adjustment request may carry.
pub const ADJUSTMENT_BATCH: usize = 2_000;

/// A variant's value of one option.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct VariantOption {
    /// The option's name.
    pub option_display_name: String,
    /// The value.
    pub label: String,
}

/// A variant as read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Variant {
    /// Its id.
    pub id: u64,
    /// Its SKU.
    pub sku: String,
    /// Its own price (none: the product's).
    pub price: Option<f64>,
    /// Its retail price.
    pub retail_price: Option<f64>,
    /// Not for sale.
    pub purchasing_disabled: bool,
    /// Its option values.
    pub option_values: Vec<VariantOption>,
    /// Its product.
    pub product_id: u64,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

impl BigCommerceClient {
    /// The variants with these SKUs, over every product (`GET /v3/catalog/variants`).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn variants_by_sku(&self, skus: &[String]) -> Result<Vec<Variant>, Error> {
        let mut out = Vec::new();
        for chunk in skus.chunks(100) {
            let query = [("sku:in", chunk.join(",")), ("limit", "250".to_owned())];
            let page: super::Paged<Variant> = self
                .get_page(
                    "/v3/catalog/variants",
                    &query,
                    "variant",
                    "reading variants",
                )
                .await?;
            out.extend(page.items);
        }
        Ok(out)
    }

    /// Creates a product with its variants (`variants` as BigCommerce takes them inline):
    /// all of it, or nothing.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, sku = %p.sku), err(level = "warn"))]
    pub async fn create_product_with_variants(
        &self,
        p: &ProductInput,
        variants: &[Value],
    ) -> Result<Product, Error> {
        let action = "creating a product with variants";
        let mut body = serde_json::to_value(p).map_err(|e| Error::Decode {
            action: action.to_owned(),
            message: e.to_string(),
        })?;
        body["variants"] = Value::Array(variants.to_vec());
        let answer = self
            .send(
                Method::POST,
                "/v3/catalog/products",
                &[],
                Some(&body),
                "product",
                action,
            )
            .await?;
        Ok(Self::decode::<Data<Product>>(&answer, action)?.data)
    }

    /// A product's variants (a product without options has its base variant).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, product), err(level = "warn"))]
    pub async fn variants(&self, product: u64) -> Result<Vec<Variant>, Error> {
        let action = "reading a product's variants";
        let path = format!("/v3/catalog/products/{product}/variants");
        let query = [("limit", "250".to_owned())];
        let answer = self
            .send::<()>(Method::GET, &path, &query, None, "product", action)
            .await?;
        Ok(Self::decode::<Data<Vec<Variant>>>(&answer, action)?.data)
    }

    /// Adds a variant (`{sku, price, retail_price, option_values[{option_display_name,
    /// label}]}`).
    pub async fn create_variant(&self, product: u64, body: &Value) -> Result<Variant, Error> {
        let action = "adding a variant";
        let path = format!("/v3/catalog/products/{product}/variants");
        let answer = self
            .send(Method::POST, &path, &[], Some(body), "variant", action)
            .await?;
        Ok(Self::decode::<Data<Variant>>(&answer, action)?.data)
    }

    /// Changes a variant's price, retail price or purchasability.
    pub async fn update_variant(&self, product: u64, id: u64, body: &Value) -> Result<(), Error> {
        let path = format!("/v3/catalog/products/{product}/variants/{id}");
        self.send(
            Method::PUT,
            &path,
            &[],
            Some(body),
            "variant",
            "updating a variant",
        )
        .await?;
        Ok(())
    }

    /// Deletes a variant.
    pub async fn delete_variant(&self, product: u64, id: u64) -> Result<(), Error> {
        let path = format!("/v3/catalog/products/{product}/variants/{id}");
        self.send::<()>(
            Method::DELETE,
            &path,
            &[],
            None,
            "variant",
            "deleting a variant",
        )
        .await?;
        Ok(())
    }

    /// Deletes a product.
    pub async fn delete_product(&self, id: u64) -> Result<(), Error> {
        let path = format!("/v3/catalog/products/{id}");
        self.send::<()>(
            Method::DELETE,
            &path,
            &[],
            None,
            "product",
            "deleting a product",
        )
        .await?;
        Ok(())
    }

    /// Stock of these SKUs: (SKU, location id, level available to sell).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, skus = skus.len()), err(level = "warn"))]
    pub async fn inventory(&self, skus: &[String]) -> Result<Vec<(String, u64, i64)>, Error> {
        let action = "reading stock levels";
        let mut out = Vec::new();
        for chunk in skus.chunks(100) {
            let query = [("sku:in", chunk.join(","))];
            let answer = self
                .send::<()>(
                    Method::GET,
                    "/v3/inventory/items",
                    &query,
                    None,
                    "inventory",
                    action,
                )
                .await?;
            let items: Data<Vec<Value>> = Self::decode(&answer, action)?;
            for item in items.data {
                let sku = item["identity"]["sku"].as_str().unwrap_or("").to_owned();
                for l in item["locations"].as_array().into_iter().flatten() {
                    if let (Some(location), Some(level)) =
                        (l["location_id"].as_u64(), l["available_to_sell"].as_i64())
                    {
                        out.push((sku.clone(), location, level));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Sets stock levels (SKU, location id, quantity), all or none per request of
    /// [`ADJUSTMENT_BATCH`].
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, items = levels.len()), err(level = "warn"))]
    pub async fn set_inventory(&self, levels: &[(String, u64, i64)]) -> Result<(), Error> {
        for chunk in levels.chunks(ADJUSTMENT_BATCH) {
            let items: Vec<Value> = chunk
                .iter()
                .map(|(sku, location, quantity)| json!({ "sku": sku, "location_id": location, "quantity": quantity }))
                .collect();
            let body = json!({ "reason": "kcf: availability from the ERP", "items": items });
            self.send(
                Method::PUT,
                "/v3/inventory/adjustments/absolute",
                &[],
                Some(&body),
                "inventory",
                "setting stock levels",
            )
            .await?;
        }
        Ok(())
    }
}
