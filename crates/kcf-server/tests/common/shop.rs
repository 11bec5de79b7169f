//! One way to look at and act in either store emulator, over its own public API (BigCommerce's
//! REST, Shopify's GraphQL): what the store-parametrised suite needs, and nothing of kcf's
//! own code, so the tests check kcf against the store and not against itself.

use std::{collections::BTreeMap, time::Duration};

use kcf_engine::registry::StoreKind;
use reqwest::Client;
use serde_json::{Value, json};

/// A store product as a shopper would see it.
#[derive(Debug, Clone)]
pub struct StoreProduct {
    pub id: String,
    pub name: String,
    pub price: f64,
    pub visible: bool,
    /// Its variants' SKUs (BigCommerce lists a simple product's own SKU as its one variant).
    pub variant_skus: Vec<String>,
    /// Its (first variant's) weight.
    pub weight: Option<f64>,
    /// Its categories' (BigCommerce) or collections' (Shopify) ids.
    pub categories: Vec<String>,
}

/// A variant of a product with options.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreVariant {
    pub sku: String,
    pub price: f64,
    /// BigCommerce's retail price, Shopify's compare-at price.
    pub compare_at: Option<f64>,
    /// (option name, value) as shoppers read them.
    pub options: Vec<(String, String)>,
}

/// A store category (BigCommerce) or collection (Shopify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCategory {
    pub name: String,
    /// Its parent's id (Shopify's collections have none: they are flat).
    pub parent: Option<String>,
}

/// A store emulator of either kind.
pub struct Shop {
    pub kind: StoreKind,
    url: String,
    http: Client,
}

impl Shop {
    pub fn new(kind: StoreKind, url: String) -> Self {
        Self {
            kind,
            url,
            http: Client::new(),
        }
    }

    /// A REST call; a 429 (the test shares the store's budget with kcf) is waited out.
    async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        for _ in 0..100 {
            let mut req = self
                .http
                .request(method.clone(), format!("{}/stores/sandbox{path}", self.url))
                .header("X-Auth-Token", "sandbox")
                .header("Accept", "application/json");
            if let Some(b) = &body {
                req = req.json(b);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            if status == 429 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            return (status, serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        panic!("the BigCommerce emulator kept answering 429");
    }

    /// A GraphQL query that must succeed (a THROTTLED answer is waited out); its `data`.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        for _ in 0..100 {
            let body: Value = self
                .http
                .post(format!("{}/admin/api/2025-07/graphql.json", self.url))
                .header("X-Shopify-Access-Token", "shpat_sandbox")
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if body["errors"][0]["extensions"]["code"] == "THROTTLED" {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            assert!(body["errors"].is_null(), "{query}: {body}");
            return body["data"].clone();
        }
        panic!("the Shopify emulator stayed THROTTLED");
    }

    /// The product a SKU belongs to (a simple product's own SKU, or a variant's).
    pub async fn product(&self, sku: &str) -> Option<StoreProduct> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/catalog/products?sku={sku}&include=variants"),
                        None,
                    )
                    .await;
                let mut p = body["data"][0].clone();
                if p.is_null() {
                    let (_, v) = self
                        .rest(
                            reqwest::Method::GET,
                            &format!("/v3/catalog/variants?sku={sku}"),
                            None,
                        )
                        .await;
                    let product = v["data"][0]["product_id"].as_u64()?;
                    let (_, body) = self
                        .rest(
                            reqwest::Method::GET,
                            &format!("/v3/catalog/products/{product}?include=variants"),
                            None,
                        )
                        .await;
                    p = body["data"].clone();
                }
                Some(StoreProduct {
                    id: p["id"].as_u64()?.to_string(),
                    name: p["name"].as_str()?.to_owned(),
                    price: p["price"].as_f64()?,
                    visible: p["is_visible"].as_bool()?,
                    variant_skus: p["variants"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v["sku"].as_str().map(str::to_owned))
                        .collect(),
                    weight: p["weight"].as_f64(),
                    categories: p["categories"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.as_u64().map(|c| c.to_string()))
                        .collect(),
                })
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($q: String!) { productVariants(first: 5, query: $q) { nodes { sku product {
                            legacyResourceId title status collections(first: 20) { nodes { legacyResourceId } }
                            variants(first: 250) { nodes { sku price inventoryItem { measurement { weight { value } } } } } } } } }",
                        json!({ "q": format!("sku:\"{sku}\"") }),
                    )
                    .await;
                let node = data["productVariants"]["nodes"]
                    .as_array()?
                    .iter()
                    .find(|n| {
                        n["sku"]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(sku))
                    })?
                    .clone();
                let p = &node["product"];
                let variants = p["variants"]["nodes"].as_array()?;
                Some(StoreProduct {
                    id: p["legacyResourceId"].as_str()?.to_owned(),
                    name: p["title"].as_str()?.to_owned(),
                    price: variants.first()?["price"].as_str()?.parse().ok()?,
                    visible: p["status"] == "ACTIVE",
                    variant_skus: variants
                        .iter()
                        .filter_map(|v| v["sku"].as_str().map(str::to_owned))
                        .collect(),
                    weight: variants.first()?["inventoryItem"]["measurement"]["weight"]["value"]
                        .as_f64(),
                    categories: p["collections"]["nodes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c["legacyResourceId"].as_str().map(str::to_owned))
                        .collect(),
                })
            }
        }
    }

    /// The variants with options of the product `sku` belongs to, sorted by SKU.
    pub async fn variants(&self, sku: &str) -> Vec<StoreVariant> {
        let mut out = Vec::new();
        match self.kind {
            StoreKind::BigCommerce => {
                let Some(p) = self.product(sku).await else {
                    return out;
                };
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/catalog/products/{}?include=variants", p.id),
                        None,
                    )
                    .await;
                for v in body["data"]["variants"].as_array().into_iter().flatten() {
                    let options: Vec<(String, String)> = v["option_values"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|o| {
                            (
                                o["option_display_name"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_owned(),
                                o["label"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect();
                    if options.is_empty() {
                        continue;
                    }
                    out.push(StoreVariant {
                        sku: v["sku"].as_str().unwrap_or_default().to_owned(),
                        price: v["price"].as_f64().unwrap_or(p.price),
                        compare_at: v["retail_price"].as_f64(),
                        options,
                    });
                }
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($q: String!) { productVariants(first: 5, query: $q) { nodes { sku product {
                            variants(first: 250) { nodes { sku price compareAtPrice selectedOptions { name value } } } } } } }",
                        json!({ "q": format!("sku:\"{sku}\"") }),
                    )
                    .await;
                let Some(node) = data["productVariants"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|n| {
                        n["sku"]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(sku))
                    })
                else {
                    return out;
                };
                for v in node["product"]["variants"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    out.push(StoreVariant {
                        sku: v["sku"].as_str().unwrap_or_default().to_owned(),
                        price: v["price"]
                            .as_str()
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(0.0),
                        compare_at: v["compareAtPrice"].as_str().and_then(|p| p.parse().ok()),
                        options: v["selectedOptions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|o| {
                                (
                                    o["name"].as_str().unwrap_or_default().to_owned(),
                                    o["value"].as_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.sku.cmp(&b.sku));
        out
    }

    /// Available stock of a SKU, summed over the store's locations.
    pub async fn stock(&self, sku: &str) -> Option<i64> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/inventory/items?sku:in={sku}"),
                        None,
                    )
                    .await;
                let item = body["data"].as_array()?.first()?.clone();
                Some(
                    item["locations"]
                        .as_array()?
                        .iter()
                        .filter_map(|l| l["available_to_sell"].as_i64())
                        .sum(),
                )
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($q: String!) { productVariants(first: 1, query: $q) { nodes { inventoryItem {
                            inventoryLevels(first: 10) { nodes { quantities(names: [\"available\"]) { quantity } } } } } } }",
                        json!({ "q": format!("sku:\"{sku}\"") }),
                    )
                    .await;
                let levels = data["productVariants"]["nodes"][0]["inventoryItem"]["inventoryLevels"]["nodes"]
                    .as_array()?
                    .clone();
                Some(
                    levels
                        .iter()
                        .filter_map(|l| l["quantities"][0]["quantity"].as_i64())
                        .sum(),
                )
            }
        }
    }

    /// A shopper's order of these SKUs; its id.
    pub async fn place_order(&self, email: &str, lines: &[(&str, u32)]) -> String {
        match self.kind {
            StoreKind::BigCommerce => {
                let mut products = Vec::new();
                for (sku, qty) in lines {
                    let p = self
                        .product(sku)
                        .await
                        .unwrap_or_else(|| panic!("no store product {sku}"));
                    products.push(
                        json!({ "product_id": p.id.parse::<u64>().unwrap(), "quantity": qty }),
                    );
                }
                let address = json!({
                    "first_name": "Test", "last_name": "Buyer", "street_1": "1 Main St", "city": "Austin",
                    "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
                    "email": email, "phone": "555-0100"
                });
                let (status, order) = self
                    .rest(
                        reqwest::Method::POST,
                        "/v2/orders",
                        Some(json!({
                            "customer_id": 0, "status_id": 11, "billing_address": address,
                            "shipping_addresses": [address], "products": products,
                        })),
                    )
                    .await;
                assert!(
                    status == 200 || status == 201,
                    "create order: {status} {order}"
                );
                order["id"].as_u64().unwrap().to_string()
            }
            StoreKind::Shopify => {
                let mut items = Vec::new();
                for (sku, qty) in lines {
                    let data = self
                        .gql(
                            "query($q: String!) { productVariants(first: 1, query: $q) { nodes { id } } }",
                            json!({ "q": format!("sku:\"{sku}\"") }),
                        )
                        .await;
                    let id = data["productVariants"]["nodes"][0]["id"].clone();
                    assert!(!id.is_null(), "no store variant {sku}");
                    items.push(json!({ "variantId": id, "quantity": qty }));
                }
                let data = self
                    .gql(
                        "mutation($o: OrderCreateOrderInput!) { orderCreate(order: $o) { order { legacyResourceId } userErrors { field message } } }",
                        json!({ "o": {
                            "email": email, "lineItems": items,
                            "customer": { "toUpsert": { "email": email, "firstName": "Test", "lastName": "Buyer" } },
                            "shippingLines": [{ "title": "Ground", "priceSet": { "shopMoney": { "amount": "5.00", "currencyCode": "USD" } } }],
                            "shippingAddress": { "firstName": "Test", "lastName": "Buyer", "address1": "1 Main St", "city": "Austin", "provinceCode": "TX", "countryCode": "US", "zip": "78701" },
                        }}),
                    )
                    .await;
                assert_eq!(data["orderCreate"]["userErrors"], json!([]), "{data}");
                data["orderCreate"]["order"]["legacyResourceId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        }
    }

    /// An order's status as the order-status mapping names it (BigCommerce's status id;
    /// Shopify's OPEN, CLOSED or CANCELLED).
    pub async fn order_status(&self, id: &str) -> String {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, o) = self
                    .rest(reqwest::Method::GET, &format!("/v2/orders/{id}"), None)
                    .await;
                o["status_id"].to_string()
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($id: ID!) { order(id: $id) { closed cancelledAt } }",
                        json!({ "id": format!("gid://shopify/Order/{id}") }),
                    )
                    .await;
                let o = &data["order"];
                if !o["cancelledAt"].is_null() {
                    "CANCELLED".into()
                } else if o["closed"] == true {
                    "CLOSED".into()
                } else {
                    "OPEN".into()
                }
            }
        }
    }

    /// The status a completed ERP order gives the store order by default.
    pub fn completed(&self) -> &'static str {
        match self.kind {
            StoreKind::BigCommerce => "2",
            StoreKind::Shopify => "CLOSED",
        }
    }

    /// The status of a cancelled order.
    pub fn cancelled(&self) -> &'static str {
        match self.kind {
            StoreKind::BigCommerce => "5",
            StoreKind::Shopify => "CANCELLED",
        }
    }

    /// Every tracking number of the order's shipments (fulfillments).
    pub async fn tracking(&self, id: &str) -> Vec<String> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, list) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v2/orders/{id}/shipments"),
                        None,
                    )
                    .await;
                list.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["tracking_number"].as_str().map(str::to_owned))
                    .collect()
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($id: ID!) { order(id: $id) { fulfillments { trackingInfo { number } } } }",
                        json!({ "id": format!("gid://shopify/Order/{id}") }),
                    )
                    .await;
                data["order"]["fulfillments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|f| f["trackingInfo"].as_array().cloned().unwrap_or_default())
                    .filter_map(|t| t["number"].as_str().map(str::to_owned))
                    .collect()
            }
        }
    }

    /// How many items of the order its shipments (fulfillments) carry.
    pub async fn shipped(&self, id: &str) -> u64 {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, list) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v2/orders/{id}/shipments"),
                        None,
                    )
                    .await;
                list.as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["items"].as_array().cloned().unwrap_or_default())
                    .filter_map(|i| i["quantity"].as_u64())
                    .sum()
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($id: ID!) { order(id: $id) { fulfillments { fulfillmentLineItems(first: 50) { nodes { quantity } } } } }",
                        json!({ "id": format!("gid://shopify/Order/{id}") }),
                    )
                    .await;
                data["order"]["fulfillments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|f| {
                        f["fulfillmentLineItems"]["nodes"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                    })
                    .filter_map(|l| l["quantity"].as_u64())
                    .sum()
            }
        }
    }

    /// Whether the store says the order is partly shipped (BigCommerce's status Partially
    /// Shipped; Shopify's fulfillment status PARTIALLY_FULFILLED on an open order).
    pub async fn partly_shipped(&self, id: &str) -> bool {
        match self.kind {
            StoreKind::BigCommerce => self.order_status(id).await == "3",
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($id: ID!) { order(id: $id) { closed displayFulfillmentStatus } }",
                        json!({ "id": format!("gid://shopify/Order/{id}") }),
                    )
                    .await;
                data["order"]["closed"] == false
                    && data["order"]["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
            }
        }
    }

    /// A merchant cancels the order in the store.
    pub async fn cancel(&self, id: &str) {
        match self.kind {
            StoreKind::BigCommerce => {
                let (status, _) = self
                    .rest(
                        reqwest::Method::PUT,
                        &format!("/v2/orders/{id}"),
                        Some(json!({ "status_id": 5 })),
                    )
                    .await;
                assert_eq!(status, 200);
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, refund: true, restock: true) { job { id } orderCancelUserErrors { message } } }",
                        json!({ "id": format!("gid://shopify/Order/{id}") }),
                    )
                    .await;
                assert_eq!(
                    data["orderCancel"]["orderCancelUserErrors"],
                    json!([]),
                    "{data}"
                );
            }
        }
    }

    /// The customer with this e-mail: (id, first name).
    pub async fn customer(&self, email: &str) -> Option<(String, String)> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/customers?email:in={email}"),
                        None,
                    )
                    .await;
                let c = body["data"].as_array()?.first()?.clone();
                Some((
                    c["id"].as_u64()?.to_string(),
                    c["first_name"].as_str()?.to_owned(),
                ))
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($q: String!) { customers(first: 5, query: $q) { nodes { legacyResourceId email firstName } } }",
                        json!({ "q": format!("email:\"{email}\"") }),
                    )
                    .await;
                let c = data["customers"]["nodes"]
                    .as_array()?
                    .iter()
                    .find(|c| {
                        c["email"]
                            .as_str()
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    })?
                    .clone();
                Some((
                    c["legacyResourceId"].as_str()?.to_owned(),
                    c["firstName"].as_str().unwrap_or_default().to_owned(),
                ))
            }
        }
    }

    /// A shopper signs up in the store.
    pub async fn sign_up(&self, email: &str, first: &str, last: &str) {
        match self.kind {
            StoreKind::BigCommerce => {
                let (status, body) = self
                    .rest(
                        reqwest::Method::POST,
                        "/v3/customers",
                        Some(json!([{ "email": email, "first_name": first, "last_name": last }])),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "mutation($i: CustomerInput!) { customerCreate(input: $i) { customer { id } userErrors { message } } }",
                        json!({ "i": { "email": email, "firstName": first, "lastName": last } }),
                    )
                    .await;
                assert_eq!(data["customerCreate"]["userErrors"], json!([]), "{data}");
            }
        }
    }
    /// The store's side of a customer class: BigCommerce's group `group`, or on Shopify the
    /// tag value `tag` (kcf writes the class as a `class:` tag there).
    pub fn class_value(&self, group: u32, tag: &str) -> String {
        match self.kind {
            StoreKind::BigCommerce => group.to_string(),
            StoreKind::Shopify => tag.to_owned(),
        }
    }

    /// A shopper signs up in the store, in customer class `class` (a value of [`Self::class_value`]).
    pub async fn sign_up_in(&self, email: &str, first: &str, last: &str, class: &str) {
        match self.kind {
            StoreKind::BigCommerce => {
                let group: u64 = class.parse().unwrap();
                let (status, body) = self
                    .rest(
                        reqwest::Method::POST,
                        "/v3/customers",
                        Some(json!([{ "email": email, "first_name": first, "last_name": last, "customer_group_id": group }])),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "mutation($i: CustomerInput!) { customerCreate(input: $i) { customer { id } userErrors { message } } }",
                        json!({ "i": { "email": email, "firstName": first, "lastName": last, "tags": [format!("class:{class}")] } }),
                    )
                    .await;
                assert_eq!(data["customerCreate"]["userErrors"], json!([]), "{data}");
            }
        }
    }

    /// The class of the customer with this e-mail (its group, or its `class:` tag's value);
    /// `None` for no customer or no class.
    pub async fn customer_class(&self, email: &str) -> Option<String> {
        let (id, _) = self.customer(email).await?;
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/customers?id:in={id}"),
                        None,
                    )
                    .await;
                body["data"][0]["customer_group_id"]
                    .as_u64()
                    .filter(|g| *g != 0)
                    .map(|g| g.to_string())
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($id: ID!) { customer(id: $id) { tags } }",
                        json!({ "id": format!("gid://shopify/Customer/{id}") }),
                    )
                    .await;
                data["customer"]["tags"]
                    .as_array()?
                    .iter()
                    .find_map(|t| t.as_str()?.strip_prefix("class:").map(str::to_owned))
            }
        }
    }

    /// A merchant moves the customer with this e-mail to class `class`.
    pub async fn set_customer_class(&self, email: &str, class: &str) {
        let (id, _) = self.customer(email).await.expect("the customer");
        match self.kind {
            StoreKind::BigCommerce => {
                let group: u64 = class.parse().unwrap();
                let (status, body) = self
                    .rest(
                        reqwest::Method::PUT,
                        "/v3/customers",
                        Some(json!([{ "id": id.parse::<u64>().unwrap(), "customer_group_id": group }])),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "mutation($i: CustomerInput!) { customerUpdate(input: $i) { customer { id } userErrors { message } } }",
                        json!({ "i": { "id": format!("gid://shopify/Customer/{id}"), "tags": [format!("class:{class}")] } }),
                    )
                    .await;
                assert_eq!(data["customerUpdate"]["userErrors"], json!([]), "{data}");
            }
        }
    }

    /// How many customers the store has with this e-mail (kcf must never make a second).
    pub async fn customers_with(&self, email: &str) -> usize {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/customers?email:in={email}"),
                        None,
                    )
                    .await;
                body["data"].as_array().map_or(0, Vec::len)
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($q: String!) { customers(first: 10, query: $q) { nodes { email } } }",
                        json!({ "q": format!("email:\"{email}\"") }),
                    )
                    .await;
                data["customers"]["nodes"].as_array().map_or(0, |a| {
                    a.iter()
                        .filter(|c| {
                            c["email"]
                                .as_str()
                                .is_some_and(|e| e.eq_ignore_ascii_case(email))
                        })
                        .count()
                })
            }
        }
    }

    /// How many store products carry this SKU (kcf must never make a second).
    pub async fn count(&self, sku: &str) -> usize {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/catalog/products?sku={sku}"),
                        None,
                    )
                    .await;
                body["data"].as_array().map_or(0, Vec::len)
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($q: String!) { productVariants(first: 10, query: $q) { nodes { sku product { id } } } }",
                        json!({ "q": format!("sku:\"{sku}\"") }),
                    )
                    .await;
                let mut products: Vec<String> = data["productVariants"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|n| {
                        n["sku"]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(sku))
                    })
                    .filter_map(|n| n["product"]["id"].as_str().map(str::to_owned))
                    .collect();
                products.dedup();
                products.len()
            }
        }
    }

    /// Renames a product in the store, the way a merchant edits it by hand.
    pub async fn rename(&self, product_id: &str, name: &str) {
        match self.kind {
            StoreKind::BigCommerce => {
                let (status, body) = self
                    .rest(
                        reqwest::Method::PUT,
                        &format!("/v3/catalog/products/{product_id}"),
                        Some(json!({ "name": name })),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "mutation($p: ProductUpdateInput!) { productUpdate(product: $p) { product { id } userErrors { message } } }",
                        json!({ "p": { "id": format!("gid://shopify/Product/{product_id}"), "title": name } }),
                    )
                    .await;
                assert_eq!(data["productUpdate"]["userErrors"], json!([]), "{data}");
            }
        }
    }

    /// A product made in the store by hand, one the ERP does not know; its id.
    pub async fn create_product(&self, sku: &str, name: &str, price: f64) -> String {
        match self.kind {
            StoreKind::BigCommerce => {
                let (status, body) = self
                    .rest(
                        reqwest::Method::POST,
                        "/v3/catalog/products",
                        Some(json!({ "name": name, "type": "physical", "sku": sku, "price": price, "weight": 1 })),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                body["data"]["id"].as_u64().unwrap().to_string()
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "mutation($i: ProductSetInput!) { productSet(input: $i, synchronous: true) { product { legacyResourceId } userErrors { message } } }",
                        json!({ "i": {
                            "title": name, "status": "ACTIVE",
                            "productOptions": [{ "name": "Title", "values": [{ "name": "Default Title" }] }],
                            "variants": [{ "sku": sku, "price": format!("{price:.2}"),
                                "optionValues": [{ "optionName": "Title", "name": "Default Title" }] }],
                        }}),
                    )
                    .await;
                assert_eq!(data["productSet"]["userErrors"], json!([]), "{data}");
                data["productSet"]["product"]["legacyResourceId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        }
    }

    /// The store's locations' ids, in the store's order (orders take stock from the first).
    pub async fn locations(&self) -> Vec<String> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(reqwest::Method::GET, "/v3/inventory/locations", None)
                    .await;
                body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["id"].as_u64().unwrap().to_string())
                    .collect()
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "{ locations(first: 50) { nodes { legacyResourceId } } }",
                        json!({}),
                    )
                    .await;
                data["locations"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["legacyResourceId"].as_str().unwrap().to_owned())
                    .collect()
            }
        }
    }

    /// A SKU's available stock by location id.
    pub async fn levels(&self, sku: &str) -> BTreeMap<String, i64> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/inventory/items?sku:in={sku}"),
                        None,
                    )
                    .await;
                body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|i| i["locations"].as_array().unwrap().clone())
                    .map(|l| {
                        (
                            l["location_id"].as_u64().unwrap().to_string(),
                            l["available_to_sell"].as_i64().unwrap(),
                        )
                    })
                    .collect()
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($q: String!) { productVariants(first: 1, query: $q) { nodes { inventoryItem {
                            inventoryLevels(first: 10) { nodes { location { legacyResourceId }
                            quantities(names: [\"available\"]) { quantity } } } } } } }",
                        json!({ "q": format!("sku:\"{sku}\"") }),
                    )
                    .await;
                data["productVariants"]["nodes"][0]["inventoryItem"]["inventoryLevels"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        Some((
                            l["location"]["legacyResourceId"].as_str()?.to_owned(),
                            l["quantities"][0]["quantity"].as_i64()?,
                        ))
                    })
                    .collect()
            }
        }
    }

    /// Sets the emulator's faults (`{}` clears them).
    pub async fn faults(&self, faults: Value) {
        let r = self
            .http
            .put(format!("{}/_sandbox/faults", self.url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "faults {faults}");
    }

    /// Queries the Shopify emulator refused THROTTLED so far (0 for BigCommerce, whose
    /// refusals are 429s in the ledger).
    pub async fn throttled(&self) -> u64 {
        match self.kind {
            StoreKind::BigCommerce => 0,
            StoreKind::Shopify => {
                let cost: Value = self
                    .http
                    .get(format!("{}/_sandbox/cost", self.url))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                cost["throttled"].as_u64().unwrap()
            }
        }
    }

    /// A category's (BigCommerce) or collection's (Shopify) visibility to shoppers; `None`
    /// when the store has no such one.
    pub async fn category_visible(&self, id: &str) -> Option<bool> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/catalog/trees/categories?category_id:in={id}"),
                        None,
                    )
                    .await;
                body["data"].get(0)?["is_visible"].as_bool()
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($id: ID!) { collection(id: $id) { publishedOnCurrentPublication } }",
                        json!({ "id": format!("gid://shopify/Collection/{id}") }),
                    )
                    .await;
                data["collection"]["publishedOnCurrentPublication"].as_bool()
            }
        }
    }
    /// A category (BigCommerce) or collection (Shopify) by id.
    pub async fn category(&self, id: &str) -> Option<StoreCategory> {
        match self.kind {
            StoreKind::BigCommerce => {
                let (_, body) = self
                    .rest(
                        reqwest::Method::GET,
                        &format!("/v3/catalog/trees/categories?category_id:in={id}"),
                        None,
                    )
                    .await;
                let c = body["data"].get(0)?;
                Some(StoreCategory {
                    name: c["name"].as_str()?.to_owned(),
                    parent: c["parent_id"]
                        .as_u64()
                        .filter(|p| *p != 0)
                        .map(|p| p.to_string()),
                })
            }
            StoreKind::Shopify => {
                let data = self
                    .gql(
                        "query($id: ID!) { collection(id: $id) { title } }",
                        json!({ "id": format!("gid://shopify/Collection/{id}") }),
                    )
                    .await;
                Some(StoreCategory {
                    name: data["collection"]["title"].as_str()?.to_owned(),
                    parent: None,
                })
            }
        }
    }

    /// Every store product's SKUs (a simple product's own, a template's variants'), one
    /// entry per product and SKU: a SKU listed twice is a duplicate.
    pub async fn all_skus(&self) -> Vec<String> {
        let mut skus = Vec::new();
        match self.kind {
            StoreKind::BigCommerce => {
                for page in 1.. {
                    let (status, v) = self
                        .rest(
                            reqwest::Method::GET,
                            &format!("/v3/catalog/products?limit=250&page={page}"),
                            None,
                        )
                        .await;
                    assert_eq!(status, 200, "{v}");
                    let data = v["data"].as_array().cloned().unwrap_or_default();
                    if data.is_empty() {
                        break;
                    }
                    skus.extend(
                        data.iter()
                            .filter_map(|p| p["sku"].as_str().map(str::to_owned)),
                    );
                }
            }
            StoreKind::Shopify => {
                let mut after = Value::Null;
                loop {
                    let data = self
                        .gql(
                            "query($a: String) { products(first: 50, after: $a) { nodes { variants(first: 100) { nodes { sku } } }
                                pageInfo { hasNextPage endCursor } } }",
                            json!({ "a": after }),
                        )
                        .await;
                    for p in data["products"]["nodes"].as_array().unwrap() {
                        let mut own: Vec<String> = p["variants"]["nodes"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter_map(|v| v["sku"].as_str().map(str::to_owned))
                            .collect();
                        own.dedup();
                        skus.extend(own);
                    }
                    if data["products"]["pageInfo"]["hasNextPage"] != true {
                        break;
                    }
                    after = data["products"]["pageInfo"]["endCursor"].clone();
                }
            }
        }
        skus
    }
}
