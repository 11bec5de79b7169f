//! The Shopify emulator over real HTTP: sign-in, cursors and search, productSet with its
//! limits, inventory with compare-and-set, customers, orders with fulfillment and
//! cancellation, the query-cost throttle, and signed webhooks.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use kcf_sandbox::{
    Dataset, Faults, SeedSize,
    shopify::{CostLimit, ShopifyConfig},
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

struct Shop {
    emulator: kcf_sandbox::Emulator,
    http: Client,
}

const VERSION: &str = "2025-07";

impl Shop {
    async fn start(cost_limit: Option<CostLimit>) -> Self {
        kcf_sandbox::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = ShopifyConfig {
            cost_limit,
            webhook_time_scale: 0.001,
            ..Default::default()
        };
        let emulator = kcf_sandbox::start(
            listener,
            kcf_sandbox::EmulatorConfig::Shopify(config),
            Faults::default(),
            &Dataset::generate(SeedSize::Small),
            kcf_sandbox::Transport::Http,
        )
        .await
        .unwrap();
        Self {
            emulator,
            http: Client::new(),
        }
    }

    fn endpoint(&self) -> String {
        format!("{}/admin/api/{VERSION}/graphql.json", self.emulator.url())
    }

    async fn gql_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(self.endpoint())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.header("X-Shopify-Access-Token", t);
        }
        common::send(req).await
    }

    /// Runs a query that must succeed; returns its `data`.
    async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql_as(Some("shpat_sandbox"), query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }
}

#[tokio::test]
async fn tokens_by_header_and_by_oauth() {
    let shop = Shop::start(None).await;
    let q = "{ shop { name myshopifyDomain } }";
    let (status, body) = shop.gql_as(None, q, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["errors"]
            .as_str()
            .unwrap()
            .contains("Invalid API key or access token")
    );
    assert_eq!(
        shop.gql_as(Some("wrong"), q, json!({})).await.0,
        StatusCode::UNAUTHORIZED
    );

    let token_url = format!("{}/admin/oauth/access_token", shop.emulator.url());
    let (status, _) = common::send(shop.http.post(&token_url).json(&json!({
        "client_id": "sandbox-client-id", "client_secret": "nope", "grant_type": "client_credentials"
    })))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = common::send(
        shop.http
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("client_id=sandbox-client-id&client_secret=sandbox-client-secret&grant_type=client_credentials"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let (status, body) = shop.gql_as(Some(token), q, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["shop"]["myshopifyDomain"],
        "sandbox.myshopify.com"
    );

    let old = format!("{}/admin/api/2019-01/graphql.json", shop.emulator.url());
    let (status, _) = common::send(
        shop.http
            .post(old)
            .header("X-Shopify-Access-Token", token)
            .json(&json!({ "query": q })),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unsupported version");
}

#[tokio::test]
async fn product_lists_page_by_cursor_and_search() {
    let shop = Shop::start(None).await;
    let q = "query($after: String, $q: String) { products(first: 3, after: $after, query: $q) {
        nodes { id title variants(first: 5) { nodes { sku price } } }
        pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = shop.gql(q, json!({ "after": after })).await;
        let page = &data["products"];
        for p in page["nodes"].as_array().unwrap() {
            seen.push(p["id"].as_str().unwrap().to_owned());
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let total = Dataset::generate(SeedSize::Small).products.len();
    assert_eq!(seen.len(), total, "every product once");
    seen.dedup();
    assert_eq!(seen.len(), total);
    assert!(seen[0].starts_with("gid://shopify/Product/"));

    let sku = Dataset::generate(SeedSize::Small).products[1].sku.clone();
    let data = shop.gql(q, json!({ "q": format!("sku:{sku}") })).await;
    let nodes = data["products"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["variants"]["nodes"][0]["sku"], sku.as_str());

    let future = shop
        .gql(q, json!({ "q": "updated_at:>'2099-01-01T00:00:00Z'" }))
        .await;
    assert_eq!(future["products"]["nodes"].as_array().unwrap().len(), 0);
    let (_, bad) = shop
        .gql_as(
            Some("shpat_sandbox"),
            "{ products(first: 3, after: \"zzz\") { nodes { id } } }",
            json!({}),
        )
        .await;
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid cursor")
    );
}

const PRODUCT_SET: &str = "mutation($input: ProductSetInput!, $id: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $id, synchronous: true) {
    product { id title options { name values } variants(first: 50) { nodes { id sku price selectedOptions { name value } } } }
    userErrors { field message code } } }";

fn shirt(variants: &[(&str, &str, &str)]) -> Value {
    json!({
        "title": "Shirt",
        "productOptions": [
            { "name": "Color", "values": [{ "name": "Red" }, { "name": "Blue" }] },
            { "name": "Size", "values": [{ "name": "S" }, { "name": "M" }] },
        ],
        "variants": variants.iter().map(|(sku, color, size)| json!({
            "sku": sku, "price": "19.99",
            "optionValues": [{ "optionName": "Color", "name": color }, { "optionName": "Size", "name": size }],
        })).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn product_set_writes_whole_products_or_nothing() {
    let shop = Shop::start(None).await;
    let count = "{ productsCount { count } }";
    let before = shop.gql(count, json!({})).await["productsCount"]["count"].clone();

    let data = shop
        .gql(
            PRODUCT_SET,
            json!({ "input": shirt(&[("SH-RS", "Red", "S"), ("SH-BM", "Blue", "M")]) }),
        )
        .await;
    let product = &data["productSet"]["product"];
    assert_eq!(data["productSet"]["userErrors"], json!([]));
    let id = product["id"].as_str().unwrap().to_owned();
    assert_eq!(product["variants"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(product["options"][0]["name"], "Color");

    // An update: one variant repriced, one removed, one added.
    let mut input = shirt(&[("SH-RS", "Red", "S"), ("SH-RM", "Red", "M")]);
    input["variants"][0]["price"] = json!(25);
    let data = shop
        .gql(PRODUCT_SET, json!({ "input": input, "id": { "id": id } }))
        .await;
    let variants = data["productSet"]["product"]["variants"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let skus: Vec<&str> = variants
        .iter()
        .map(|v| v["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["SH-RS", "SH-RM"]);
    assert_eq!(variants[0]["price"], "25.00");

    // A weight is kept on the variant's inventory item, with its unit.
    let mut input = shirt(&[("SH-RS", "Red", "S")]);
    input["variants"][0]["inventoryItem"] =
        json!({ "measurement": { "weight": { "value": 0.35, "unit": "POUNDS" } } });
    let data = shop
        .gql(PRODUCT_SET, json!({ "input": input, "id": { "id": id } }))
        .await;
    assert_eq!(data["productSet"]["userErrors"], json!([]), "{data}");
    let read = shop
        .gql(
            "query($id: ID!) { product(id: $id) { variants(first: 5) { nodes { sku inventoryItem { measurement { weight { value unit } } } } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["product"]["variants"]["nodes"][0]["inventoryItem"]["measurement"]["weight"],
        json!({ "value": 0.35, "unit": "POUNDS" })
    );

    // Refusals leave nothing behind.
    let mut four = shirt(&[("X", "Red", "S")]);
    four["title"] = json!("Four options");
    four["productOptions"] = json!([
        { "name": "A", "values": [{ "name": "1" }] }, { "name": "B", "values": [{ "name": "1" }] },
        { "name": "C", "values": [{ "name": "1" }] }, { "name": "D", "values": [{ "name": "1" }] },
    ]);
    let data = shop.gql(PRODUCT_SET, json!({ "input": four })).await;
    assert_eq!(data["productSet"]["product"], Value::Null);
    assert_eq!(
        data["productSet"]["userErrors"][0]["code"],
        "OPTIONS_OVER_LIMIT"
    );
    let twins = shirt(&[("T1", "Red", "S"), ("T2", "Red", "S")]);
    let data = shop.gql(PRODUCT_SET, json!({ "input": twins })).await;
    assert_eq!(
        data["productSet"]["userErrors"][0]["code"],
        "DUPLICATED_VARIANT"
    );
    let missing = shirt(&[("T3", "Green", "S")]);
    let data = shop.gql(PRODUCT_SET, json!({ "input": missing })).await;
    assert_eq!(
        data["productSet"]["userErrors"][0]["code"],
        "OPTION_VALUE_DOES_NOT_EXIST"
    );
    let mut heavy = shirt(&[("T4", "Red", "S")]);
    heavy["variants"][0]["inventoryItem"] =
        json!({ "measurement": { "weight": { "value": -1.0, "unit": "KILOGRAMS" } } });
    let data = shop.gql(PRODUCT_SET, json!({ "input": heavy })).await;
    assert_eq!(
        data["productSet"]["userErrors"][0]["field"],
        json!([
            "input",
            "variants",
            "0",
            "inventoryItem",
            "measurement",
            "weight",
            "value"
        ]),
        "a negative weight: {data}"
    );
    let after = shop.gql(count, json!({})).await["productsCount"]["count"].clone();
    assert_eq!(
        after.as_i64().unwrap(),
        before.as_i64().unwrap() + 1,
        "only the shirt was added"
    );

    // A GraphQL error (an unknown field) is an error, not a partial answer.
    let (status, body) = shop
        .gql_as(
            Some("shpat_sandbox"),
            "{ products(first: 1) { nodes { nope } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{body}"
    );
    let (_, body) = shop
        .gql_as(
            Some("shpat_sandbox"),
            "{ products { nodes { id } } }",
            json!({}),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("first or last"),
        "{body}"
    );
}

#[tokio::test]
async fn inventory_is_set_per_location_with_compare_and_set() {
    let shop = Shop::start(None).await;
    let data = shop
        .gql("{ locations(first: 5) { nodes { id name } } productVariants(first: 1) { nodes { sku inventoryItem { id } } } }", json!({}))
        .await;
    let location = data["locations"]["nodes"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = data["productVariants"]["nodes"][0]["inventoryItem"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = "mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {
        inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { field message code } } }";
    let input = |quantity: i64, compare: i64| {
        json!({ "input": {
            "name": "available", "reason": "correction",
            "quantities": [{ "inventoryItemId": item, "locationId": location, "quantity": quantity, "compareQuantity": compare }],
        }})
    };
    let data = shop.gql(set, input(7, 0)).await;
    assert_eq!(
        data["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"][0]["delta"],
        7
    );
    let data = shop.gql(set, input(9, 0)).await;
    assert_eq!(
        data["inventorySetQuantities"]["userErrors"][0]["code"],
        "COMPARE_QUANTITY_STALE"
    );
    let read = format!(
        "{{ inventoryItem(id: \"{item}\") {{ inventoryLevel(locationId: \"{location}\") {{ quantities(names: [\"available\", \"on_hand\"]) {{ name quantity }} }} }} }}"
    );
    let data = shop.gql(&read, json!({})).await;
    assert_eq!(
        data["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"], 7,
        "the stale write changed nothing"
    );
}

#[tokio::test]
async fn customers_are_upserted_by_email_and_unique() {
    let shop = Shop::start(None).await;
    let set = "mutation($id: CustomerSetIdentifiers, $input: CustomerInput!) { customerSet(identifier: $id, input: $input) {
        customer { id email firstName } userErrors { field message code } } }";
    let input = json!({ "email": "new@example.com", "firstName": "Ada", "lastName": "Lovelace" });
    let first = shop
        .gql(
            set,
            json!({ "id": { "email": "new@example.com" }, "input": input }),
        )
        .await;
    let again = shop
        .gql(set, json!({ "id": { "email": "new@example.com" }, "input": { "email": "new@example.com", "firstName": "Ada B." } }))
        .await;
    assert_eq!(
        first["customerSet"]["customer"]["id"],
        again["customerSet"]["customer"]["id"]
    );
    assert_eq!(again["customerSet"]["customer"]["firstName"], "Ada B.");
    let seeded = Dataset::generate(SeedSize::Small).customers[0]
        .email
        .clone();
    let taken = shop
        .gql("mutation($input: CustomerInput!) { customerCreate(input: $input) { customer { id } userErrors { field code } } }",
            json!({ "input": { "email": seeded } }))
        .await;
    assert_eq!(taken["customerCreate"]["userErrors"][0]["code"], "TAKEN");
    let found = shop
        .gql(
            "query($q: String) { customers(first: 5, query: $q) { nodes { email } } }",
            json!({ "q": format!("email:{seeded}") }),
        )
        .await;
    assert_eq!(found["customers"]["nodes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn orders_are_fulfilled_within_what_they_hold_and_cancelled_by_a_job() {
    let shop = Shop::start(None).await;
    let (hook, url) = common::Receiver::start(&[]).await;
    let sub = shop
        .gql("mutation($url: URL!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: { callbackUrl: $url, format: JSON }) {
            webhookSubscription { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } userErrors { message } } }",
            json!({ "url": url }))
        .await;
    assert_eq!(
        sub["webhookSubscriptionCreate"]["webhookSubscription"]["topic"],
        "ORDERS_CREATE"
    );
    assert_eq!(
        sub["webhookSubscriptionCreate"]["webhookSubscription"]["endpoint"]["callbackUrl"],
        url.as_str()
    );

    let variant = shop
        .gql(
            "{ productVariants(first: 1) { nodes { id sku } } }",
            json!({}),
        )
        .await;
    let variant_id = variant["productVariants"]["nodes"][0]["id"].clone();
    let create = "mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
        order { id name displayFulfillmentStatus customer { email } fulfillmentOrders(first: 1) { nodes { id lineItems(first: 5) { nodes { id remainingQuantity } } } } }
        userErrors { field message } } }";
    let data = shop
        .gql(create, json!({ "order": { "email": "buyer@example.com", "lineItems": [{ "variantId": variant_id, "quantity": 3 }] } }))
        .await;
    let order = data["orderCreate"]["order"].clone();
    assert_eq!(
        order["customer"]["email"], "buyer@example.com",
        "a customer is made for the e-mail"
    );
    assert_eq!(order["displayFulfillmentStatus"], "UNFULFILLED");
    let fo = order["fulfillmentOrders"]["nodes"][0].clone();
    let line = fo["lineItems"]["nodes"][0]["id"].clone();

    // The webhook: signed over the raw body, with its headers.
    let got = hook.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert_eq!(headers["x-shopify-topic"], "orders/create");
    let signature = kcf_sandbox::shopify::sign(b"sandbox-client-secret", hook.raw(0).as_bytes());
    assert_eq!(
        headers["x-shopify-hmac-sha256"].to_str().unwrap(),
        signature
    );
    assert!(headers.contains_key("x-shopify-webhook-id"));
    assert_eq!(body["admin_graphql_api_id"], order["id"]);

    let fulfill = "mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { fulfillment { id status trackingInfo { number company } } userErrors { field message } } }";
    let ship = |qty: i64| {
        json!({ "f": {
            "lineItemsByFulfillmentOrder": [{ "fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [{ "id": line, "quantity": qty }] }],
            "trackingInfo": { "number": "1Z999", "company": "UPS" },
        }})
    };
    let data = shop.gql(fulfill, ship(2)).await;
    assert_eq!(
        data["fulfillmentCreate"]["fulfillment"]["trackingInfo"][0]["number"],
        "1Z999"
    );
    let data = shop.gql(fulfill, ship(2)).await;
    assert!(
        data["fulfillmentCreate"]["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("quantity")
    );
    let read = format!(
        "{{ order(id: {}) {{ displayFulfillmentStatus cancelledAt }} }}",
        order["id"]
    );
    assert_eq!(
        shop.gql(&read, json!({})).await["order"]["displayFulfillmentStatus"],
        "PARTIALLY_FULFILLED"
    );

    // Cancelling: refused with fulfillments; a fresh order is cancelled by its job.
    let cancel = "mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, refund: true, restock: true) {
        job { id done } orderCancelUserErrors { field message code } } }";
    let refused = shop.gql(cancel, json!({ "id": order["id"] })).await;
    assert_eq!(refused["orderCancel"]["job"], Value::Null);
    let data = shop
        .gql(create, json!({ "order": { "email": "buyer@example.com", "lineItems": [{ "variantId": variant_id, "quantity": 1 }] } }))
        .await;
    let second = data["orderCreate"]["order"]["id"].clone();
    let job = shop.gql(cancel, json!({ "id": second })).await;
    assert_eq!(job["orderCancel"]["job"]["done"], false);
    let read = format!("{{ order(id: {second}) {{ cancelledAt displayFinancialStatus }} }}");
    let mut cancelled = Value::Null;
    for _ in 0..250 {
        cancelled = shop.gql(&read, json!({})).await["order"].clone();
        if !cancelled["cancelledAt"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!cancelled["cancelledAt"].is_null(), "the job ran");
    assert_eq!(cancelled["displayFinancialStatus"], "REFUNDED");
}

#[tokio::test]
async fn a_burst_is_throttled_exactly_when_the_bucket_is_empty() {
    // A bucket that barely refills: what it holds does not depend on how fast this machine
    // sends the burst.
    let shop = Shop::start(Some(CostLimit {
        maximum: 100.0,
        restore_rate: 0.001,
    }))
    .await;
    // 2 + 10 × 1 = 12 points each.
    let q = "{ products(first: 10) { nodes { id } } }";
    let mut throttled = 0;
    let mut last_left = 100.0;
    for _ in 0..12 {
        let (status, body) = shop.gql_as(Some("shpat_sandbox"), q, json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let cost = &body["extensions"]["cost"];
        assert_eq!(cost["requestedQueryCost"], 12);
        let left = cost["throttleStatus"]["currentlyAvailable"]
            .as_f64()
            .unwrap();
        assert_eq!(cost["throttleStatus"]["maximumAvailable"], 100.0);
        assert_eq!(cost["throttleStatus"]["restoreRate"], 0.001);
        if body["errors"][0]["extensions"]["code"] == "THROTTLED" {
            throttled += 1;
            assert!(left < 12.0, "throttled with {left} points left");
            assert_eq!(cost["actualQueryCost"], Value::Null);
        } else {
            assert!(body["errors"].is_null(), "{body}");
            assert!(last_left >= 12.0, "ran with {last_left} points before it");
            // The answer returned fewer products than requested: the rest is given back.
            let actual = cost["actualQueryCost"].as_u64().unwrap();
            assert!(actual <= 12);
        }
        last_left = left;
    }
    assert!(throttled > 0, "the bucket ran dry");
    let (_, big) = shop
        .gql_as(
            Some("shpat_sandbox"),
            "{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(big["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
}

#[tokio::test]
async fn failing_webhooks_are_retried_then_the_subscription_is_removed() {
    let shop = Shop::start(None).await;
    let (hook, url) = common::Receiver::start(&[500; 20]).await;
    shop.gql(
        "mutation($url: URL!) { webhookSubscriptionCreate(topic: CUSTOMERS_UPDATE, webhookSubscription: { callbackUrl: $url }) { userErrors { message } } }",
        json!({ "url": url }),
    )
    .await;
    let id = shop
        .gql("{ customers(first: 1) { nodes { id } } }", json!({}))
        .await["customers"]["nodes"][0]["id"]
        .clone();
    shop.gql(
        "mutation($input: CustomerInput!) { customerUpdate(input: $input) { userErrors { message } } }",
        json!({ "input": { "id": id, "note": "VIP" } }),
    )
    .await;
    // The schedule, compressed 1,000 times, takes about 14 s.
    for _ in 0..1500 {
        if hook.count() >= 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let got = hook.received();
    assert_eq!(got.len(), 9, "the first try and 8 retries");
    let ids: std::collections::BTreeSet<_> = got
        .iter()
        .map(|(h, _)| h["x-shopify-webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every retry carries the same webhook id");
    let mut left = Value::Null;
    for _ in 0..250 {
        left = shop
            .gql(
                "{ webhookSubscriptions(first: 5) { nodes { id } } }",
                json!({}),
            )
            .await;
        if left["webhookSubscriptions"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        left["webhookSubscriptions"]["nodes"],
        json!([]),
        "removed after the last retry"
    );
}
