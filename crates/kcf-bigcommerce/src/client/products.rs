//! `/v3/catalog/products`: list, look up by SKU, create one, update one or many.

use kcf_domain::Timestamp;
use reqwest::Method;

use super::{BigCommerceClient, MAX_PAGE_SIZE, Paged, item_error, joined, page_params, with_id};
use crate::{
    error::Error,
    model::{Product, ProductInput, format_date},
};

/// BigCommerce updates at most 10 products per request.
const UPDATE_BATCH: usize = 10;

/// Which products to list. Empty lists and `None` do not filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductQuery {
    /// Only these ids.
    pub ids: Vec<u64>,
    /// Only these SKUs.
    pub skus: Vec<String>,
    /// Modified at or after (BigCommerce keeps whole seconds).
    pub modified_min: Option<Timestamp>,
    /// Modified at or before.
    pub modified_max: Option<Timestamp>,
    /// The page, from 1.
    pub page: u32,
    /// Per page, at most 250.
    pub limit: u32,
}

impl Default for ProductQuery {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            skus: Vec::new(),
            modified_min: None,
            modified_max: None,
            page: 1,
            limit: MAX_PAGE_SIZE,
        }
    }
}

impl ProductQuery {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.ids.is_empty() {
            q.push(("id:in", joined(&self.ids)));
        }
        if !self.skus.is_empty() {
            q.push(("sku:in", self.skus.join(",")));
        }
        if let Some(t) = self.modified_min {
            q.push(("date_modified:min", format_date(t)));
        }
        if let Some(t) = self.modified_max {
            q.push(("date_modified:max", format_date(t)));
        }
        page_params(&mut q, self.page, self.limit);
        q
    }
}

const PATH: &str = "/v3/catalog/products";

impl BigCommerceClient {
    /// One page of products.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, page = q.page), err(level = "warn"))]
    pub async fn products(&self, q: &ProductQuery) -> Result<Paged<Product>, Error> {
        self.get_page(PATH, &q.params(), "product", "reading products")
            .await
    }

    /// The product with this SKU, if any.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, sku), err(level = "warn"))]
    pub async fn product_by_sku(&self, sku: &str) -> Result<Option<Product>, Error> {
        let query = [("sku", sku.to_owned()), ("limit", "5".to_owned())];
        let page: Paged<Product> = self
            .get_page(PATH, &query, "product", "looking a product up by SKU")
            .await?;
        let mut found = page.items;
        // The filter may match loosely (case, variant SKUs); an exact match wins.
        let exact = found.iter().position(|p| p.sku == sku);
        let loose = found.iter().position(|p| p.sku.eq_ignore_ascii_case(sku));
        Ok(exact.or(loose).map(|i| found.swap_remove(i)))
    }

    /// Creates a product (name, type, weight and price are required).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, sku = %p.sku), err(level = "warn"))]
    pub async fn create_product(&self, p: &ProductInput) -> Result<Product, Error> {
        let action = "creating a product";
        let answer = self
            .send(Method::POST, PATH, &[], Some(p), "product", action)
            .await?;
        Ok(Self::decode::<super::Envelope<Product>>(&answer, action)?.data)
    }

    /// Changes the fields set in `p` of product `id`.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn update_product(&self, id: u64, p: &ProductInput) -> Result<Product, Error> {
        let action = "updating a product";
        let answer = self
            .send(
                Method::PUT,
                &format!("{PATH}/{id}"),
                &[],
                Some(p),
                "product",
                action,
            )
            .await?;
        Ok(Self::decode::<super::Envelope<Product>>(&answer, action)?.data)
    }

    /// Updates many products, 10 per request, and answers per item in input order.
    ///
    /// A 207 gives each failed item its error (BigCommerce lists the failures in input
    /// order). When a whole request of several items is refused, the items are sent one by
    /// one so each gets its own answer. A request that fails for the store's sake (rate limit,
    /// timeout, 5xx, token) stops the run: its items and every later one get that error, and
    /// if nothing was done yet the whole call fails with it.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, items = items.len()), err(level = "warn"))]
    pub async fn update_products(
        &self,
        items: &[(u64, ProductInput)],
    ) -> Result<Vec<Result<Product, Error>>, Error> {
        let mut results: Vec<Result<Product, Error>> = Vec::with_capacity(items.len());
        for chunk in items.chunks(UPDATE_BATCH) {
            match self.update_chunk(chunk).await {
                Ok(answers) => results.extend(answers),
                Err(e) if item_level(&e) && chunk.len() > 1 => {
                    for (id, p) in chunk {
                        match self.update_product(*id, p).await {
                            Err(e) if !item_level(&e) => {
                                return stop(results, items.len(), e);
                            }
                            answer => results.push(answer),
                        }
                    }
                }
                Err(e) if item_level(&e) => results.push(Err(e)),
                Err(e) => return stop(results, items.len(), e),
            }
        }
        Ok(results)
    }

    async fn update_chunk(
        &self,
        chunk: &[(u64, ProductInput)],
    ) -> Result<Vec<Result<Product, Error>>, Error> {
        let action = "updating products";
        let body = chunk
            .iter()
            .map(|(id, p)| with_id("id", *id, p))
            .collect::<Result<Vec<_>, _>>()?;
        let answer = self
            .send(Method::PUT, PATH, &[], Some(&body), "product", action)
            .await?;
        let batch: super::Batch<Product> = Self::decode(&answer, action)?;
        let mut done: std::collections::HashMap<u64, Product> =
            batch.data.into_iter().map(|p| (p.id, p)).collect();
        let mut errors = batch.errors.iter();
        Ok(chunk
            .iter()
            .map(|(id, _)| {
                done.remove(id).ok_or_else(|| {
                    errors.next().map_or_else(
                        || Error::Rejected {
                            status: answer.status,
                            message: format!(
                                "BigCommerce did not update product {id} and gave no reason"
                            ),
                        },
                        |e| item_error(e, "product"),
                    )
                })
            })
            .collect())
    }
}

/// Whether an error is about the records sent rather than the store or the connection.
fn item_level(e: &Error) -> bool {
    matches!(
        e,
        Error::Invalid { .. } | Error::Conflict { .. } | Error::NotFound { .. }
    )
}

/// Ends a batch run on a store-level error: fails the whole call if nothing was done yet,
/// else gives the error to every item not yet answered.
fn stop(
    mut results: Vec<Result<Product, Error>>,
    total: usize,
    e: Error,
) -> Result<Vec<Result<Product, Error>>, Error> {
    if results.is_empty() {
        return Err(e);
    }
    results.resize_with(total, || Err(e.clone()));
    Ok(results)
}
