//! Stock on Shopify: levels per inventory item and location, read by SKU and set with
//! `inventorySetQuantities`, each level compared with the value just read (compare-and-set),
//! so a sale between the read and the write makes the write fail and be retried instead of
//! giving the sale back; and the shop's locations.

use std::collections::BTreeMap;

use kcf_domain::Platform;
use kcf_platform::{Outbox, PlatformError, Result, StockWrite};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    catalog::{Node, SKU_BATCH, note, sku_query},
    client::{Page, ShopifyClient, gid, number_of},
    limit::patiently,
};

/// Stock levels set per request.
pub const STOCK_BATCH: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StockHit {
    sku: Option<String>,
    inventory_item: StockItem,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StockItem {
    id: String,
    inventory_levels: Page<StockLevelHit>,
}

#[derive(Debug, Deserialize)]
struct StockLevelHit {
    location: Node,
    quantities: Vec<Quantity>,
}

#[derive(Debug, Deserialize)]
struct Quantity {
    quantity: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StockData {
    product_variants: Page<StockHit>,
}

const STOCK_BY_SKU: &str = "query StockBySku($q: String!, $n: Int!, $l: Int!) {
  productVariants(first: $n, query: $q) {
    nodes { sku inventoryItem { id inventoryLevels(first: $l) { nodes { location { id } quantities(names: [\"available\"]) { quantity } } } } }
  }
}";

/// The stock of these SKUs: by upper-cased SKU, its inventory item and its available
/// quantity per location number.
pub(crate) async fn stock(
    client: &ShopifyClient,
    skus: &[String],
    locations: usize,
) -> Result<BTreeMap<String, (String, BTreeMap<String, i64>)>> {
    // One variant costs 4 points and 3 per location: as many as fit in one query.
    let per_sku = 4.0 + 3.0 * locations.clamp(1, 50) as f64;
    let fit = ((client.bucket().maximum * 0.9 - 2.0) / per_sku)
        .floor()
        .max(1.0) as usize;
    let mut out = BTreeMap::new();
    for (n, chunk) in skus.chunks(SKU_BATCH.min(fit)).enumerate() {
        let read = || {
            client.query_costing(
                "stockBySku",
                Some(2.0 + per_sku * chunk.len() as f64),
                STOCK_BY_SKU,
                json!({ "q": sku_query(chunk), "n": chunk.len(), "l": locations.clamp(1, 50) }),
                "reading stock levels",
            )
        };
        // The first page fails fast when the bucket is short; the later ones wait.
        let data: StockData = if n == 0 {
            read().await?
        } else {
            patiently(read).await?
        };
        for hit in data.product_variants.nodes {
            let Some(sku) = hit.sku else { continue };
            let levels = hit
                .inventory_item
                .inventory_levels
                .nodes
                .into_iter()
                .map(|l| {
                    let q = l.quantities.first().map_or(0, |q| q.quantity);
                    (number_of(&l.location.id), q)
                })
                .collect();
            out.insert(sku.to_uppercase(), (hit.inventory_item.id, levels));
        }
    }
    Ok(out)
}

const SET_QUANTITIES: &str = "mutation SetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}";

/// Sets stock levels, each compared with the level just read; all or none.
pub(crate) async fn set_stock(
    client: &ShopifyClient,
    levels: &[StockWrite],
    locations: usize,
    out: &dyn Outbox,
) -> Result<()> {
    let skus: Vec<String> = {
        let mut s: Vec<String> = levels.iter().map(|l| l.sku.clone()).collect();
        s.sort();
        s.dedup();
        s
    };
    let current = stock(client, &skus, locations).await?;
    let mut quantities = Vec::new();
    for l in levels {
        let Some((item, at)) = current.get(&l.sku.to_uppercase()) else {
            return Err(PlatformError::record(
                Platform::Shopify,
                format!("SKU {} is not in the Shopify store", l.sku),
            ));
        };
        quantities.push(json!({
            "inventoryItemId": item,
            "locationId": gid("Location", &l.location),
            "quantity": l.quantity,
            "compareQuantity": at.get(&l.location).copied().unwrap_or(0),
        }));
    }
    let input = json!({ "name": "available", "reason": "correction", "quantities": quantities });
    note(
        out,
        None,
        "Shopify stock levels (set, compared)".into(),
        &input,
    );
    // The write is a later step: its read is paid for, so it waits for its points rather
    // than throw the read away (on a small bucket the retried read would be short again).
    let write = || {
        client.mutate::<Value>(
            "inventorySetQuantities",
            SET_QUANTITIES,
            json!({ "input": input }),
            "inventorySetQuantities",
            "stock levels",
        )
    };
    let result: Result<Value, crate::Error> = patiently(write).await;
    match result {
        Ok(_) => Ok(()),
        // A level changed between the read and the write (a sale): try again.
        Err(e) if e.has_code("COMPARE_QUANTITY_STALE") => Err(PlatformError::new(
            Platform::Shopify,
            kcf_platform::ErrorKind::Retry { retry_after: None },
            e,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct LocationHit {
    id: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct LocationsData {
    locations: Page<LocationHit>,
}

/// The shop's locations: (number, name).
pub(crate) async fn locations(client: &ShopifyClient) -> Result<Vec<(String, String)>> {
    let data: LocationsData = client
        .query(
            "locations",
            "{ locations(first: 50) { nodes { id name } } }",
            json!({}),
            "reading locations",
        )
        .await?;
    Ok(data
        .locations
        .nodes
        .into_iter()
        .map(|l| (number_of(&l.id), l.name))
        .collect())
}
