//! The BigCommerce emulator over real HTTP.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use kcf_sandbox::{
    Dataset, Faults, SeedSize,
    bigcommerce::{BigCommerceConfig, RateLimit},
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Store {
    emulator: kcf_sandbox::Emulator,
    http: Client,
}

impl Store {
    async fn start(seed: SeedSize, rate_limit: Option<RateLimit>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = BigCommerceConfig {
            rate_limit,
            ..Default::default()
        };
        let emulator = kcf_sandbox::start(
            listener,
            kcf_sandbox::EmulatorConfig::BigCommerce(config),
            Faults::default(),
            &Dataset::generate(seed),
            kcf_sandbox::Transport::Http,
        )
        .await
        .unwrap();
        Self {
            emulator,
            http: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/stores/sandbox{path}", self.emulator.url())
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("X-Auth-Token", "sandbox");
        if let Some(body) = body {
            req = req.json(&body);
        }
        common::send(req).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn control(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/_sandbox/{path}", self.emulator.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn product(name: &str, sku: &str) -> Value {
    json!({ "name": name, "type": "physical", "weight": 1.5, "price": 19.99, "sku": sku })
}

#[tokio::test]
async fn requests_need_the_token_and_the_store_hash() {
    let s = Store::start(SeedSize::Small, None).await;
    let r = s
        .http
        .get(s.url("/v3/catalog/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert!(body["title"].as_str().unwrap().contains("X-Auth-Token"));
    let r = s
        .http
        .get(s.url("/v3/catalog/products"))
        .header("X-Auth-Token", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let other = format!("{}/stores/otherstore/v3/catalog/products", s.emulator.url());
    let r = s
        .http
        .get(other)
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (status, body) = s.get("/v3/no/such/route").await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::NOT_FOUND, json!(404))
    );
}

#[tokio::test]
async fn products_are_created_read_and_validated() {
    let s = Store::start(SeedSize::Empty, None).await;
    let (status, body) = s
        .call(
            Method::POST,
            "/v3/catalog/products",
            Some(product("Red Kettle", "KET-1")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let p = &body["data"];
    assert_eq!(
        (p["id"].as_u64(), p["name"].as_str(), p["sku"].as_str()),
        (Some(1), Some("Red Kettle"), Some("KET-1"))
    );
    assert_eq!(p["price"], 19.99);
    assert_eq!(p["custom_url"]["url"], "/red-kettle/");
    assert!(p["date_modified"].as_str().unwrap().ends_with("+00:00"));
    let (status, got) = s.get("/v3/catalog/products/1").await;
    assert_eq!((status, &got["data"]), (StatusCode::OK, p));

    let (status, body) = s
        .call(
            Method::POST,
            "/v3/catalog/products",
            Some(json!({ "name": "X", "price": "abc" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"]["price"], "price must be a number");
    assert_eq!(body["errors"]["type"], "type is a required field");
    assert_eq!(body["errors"]["weight"], "weight is a required field");
    let (status, body) = s
        .call(
            Method::POST,
            "/v3/catalog/products",
            Some(product("Red Kettle", "KET-2")),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = s
        .call(
            Method::POST,
            "/v3/catalog/products",
            Some(product("Blue Kettle", "KET-1")),
        )
        .await;
    assert_eq!(status, 409, "duplicate sku");
    let r = s
        .http
        .post(s.url("/v3/catalog/products"))
        .header("X-Auth-Token", "sandbox")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["title"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let (status, _) = s
        .call(Method::POST, "/v3/catalog/products", Some(json!([1, 2])))
        .await;
    assert_eq!(status, 422, "an array is not a product");
    let (status, _) = s.get("/v3/catalog/products/999").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pages_agree_with_totals_and_never_repeat_or_skip() {
    let s = Store::start(SeedSize::Small, None).await;
    // All seeded products share one modification time: sorting by it must still page cleanly.
    for sort in ["id", "date_modified", "name"] {
        let mut seen = Vec::new();
        let mut page = 1;
        loop {
            let (status, body) = s
                .get(&format!(
                    "/v3/catalog/products?limit=7&page={page}&sort={sort}"
                ))
                .await;
            assert_eq!(status, 200);
            let meta = &body["meta"]["pagination"];
            assert_eq!(
                (
                    meta["total"].as_u64(),
                    meta["total_pages"].as_u64(),
                    meta["per_page"].as_u64()
                ),
                (Some(50), Some(8), Some(7))
            );
            let items = body["data"].as_array().unwrap();
            assert_eq!(meta["count"].as_u64(), Some(items.len() as u64));
            seen.extend(items.iter().map(|p| p["id"].as_u64().unwrap()));
            if meta["links"]["next"].is_null() {
                break;
            }
            page += 1;
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=50).collect::<Vec<_>>(), "sort={sort}");
    }
    let (_, body) = s.get("/v3/catalog/products?limit=1000").await;
    assert_eq!(
        body["meta"]["pagination"]["per_page"], 250,
        "limit is capped at 250"
    );
    let (status, body) = s.get("/v3/catalog/products?limit=abc").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn filters_combine() {
    let s = Store::start(SeedSize::Small, None).await;
    let (_, body) = s.get("/v3/catalog/products?sku=SKU-000007").await;
    assert_eq!(body["data"][0]["id"], 7);
    let (_, body) = s
        .get("/v3/catalog/products?id:in=3,4,5&sku:in=SKU-000004,SKU-000005,SKU-000009")
        .await;
    let ids: Vec<u64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [4, 5]);
    // Change product 9 a second from now; the date filters find exactly it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = s
        .call(
            Method::PUT,
            "/v3/catalog/products/9",
            Some(json!({ "price": 5.0 })),
        )
        .await;
    assert_eq!(status, 200);
    let (_, p9) = s.get("/v3/catalog/products/9").await;
    let changed = p9["data"]["date_modified"].as_str().unwrap().to_owned();
    let (_, body) = s
        .get(&format!(
            "/v3/catalog/products?date_modified:min={}",
            changed.replace('+', "%2B")
        ))
        .await;
    let ids: Vec<u64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [9]);
    let (_, body) = s
        .get(&format!(
            "/v3/catalog/products?date_modified:max={}&limit=250",
            changed.replace('+', "%2B")
        ))
        .await;
    assert_eq!(body["meta"]["pagination"]["total"], 50, "max is inclusive");
    let (status, _) = s
        .get("/v3/catalog/products?date_modified:min=yesterday")
        .await;
    assert_eq!(status, 400);
    let (_, body) = s.get("/v3/catalog/products?is_visible=false").await;
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["is_visible"] == false)
    );
}

#[tokio::test]
async fn batch_updates_take_ten_and_report_partial_failure() {
    let s = Store::start(SeedSize::Small, None).await;
    let ten: Vec<Value> = (1..=10)
        .map(|id| json!({ "id": id, "price": 1.0 + id as f64 }))
        .collect();
    let (status, body) = s
        .call(Method::PUT, "/v3/catalog/products", Some(json!(ten)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 10);
    let eleven: Vec<Value> = (1..=11).map(|id| json!({ "id": id })).collect();
    let (status, body) = s
        .call(Method::PUT, "/v3/catalog/products", Some(json!(eleven)))
        .await;
    assert_eq!(status, 413);
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .contains("maximum items allowed in the array is 10")
    );
    let mixed =
        json!([{ "id": 1, "price": 3.0 }, { "id": 999, "price": 3.0 }, { "id": 2, "price": "x" }]);
    let (status, body) = s
        .call(Method::PUT, "/v3/catalog/products", Some(mixed))
        .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let counters = s.control("counters").await;
    assert_eq!(counters["writes"]["product/1"], 2, "{counters}");
    assert_eq!(counters["writes"]["product/2"], 1);
    assert!(counters["writes"].get("product/999").is_none());
}

#[tokio::test]
async fn products_are_deleted() {
    let s = Store::start(SeedSize::Small, None).await;
    assert_eq!(
        s.call(Method::DELETE, "/v3/catalog/products/1", None)
            .await
            .0,
        204
    );
    assert_eq!(s.get("/v3/catalog/products/1").await.0, 404);
    assert_eq!(
        s.call(Method::DELETE, "/v3/catalog/products?id:in=2,3", None)
            .await
            .0,
        204
    );
    let (_, body) = s.get("/v3/catalog/products").await;
    assert_eq!(body["meta"]["pagination"]["total"], 47);
    assert_eq!(
        s.call(Method::DELETE, "/v3/catalog/products", None).await.0,
        422,
        "a filter is required"
    );
}

#[tokio::test]
async fn category_trees_keep_parents() {
    let s = Store::start(SeedSize::Empty, None).await;
    let (status, body) = s
        .call(
            Method::POST,
            "/v3/catalog/trees/categories",
            Some(json!([{ "name": "Kitchen", "tree_id": 1 }])),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let parent = body["data"][0]["category_id"].as_u64().unwrap();
    let batch = json!([
        { "name": "Kettles", "parent_id": parent },
        { "name": "Kettles", "parent_id": parent },
        { "name": "Orphans", "parent_id": 999 },
        { "tree_id": 1 },
    ]);
    let (status, body) = s
        .call(Method::POST, "/v3/catalog/trees/categories", Some(batch))
        .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(
        errors
            .iter()
            .map(|e| e["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [409, 422, 422]
    );
    let (_, tree) = s.get("/v3/catalog/trees/1/categories").await;
    assert_eq!(tree["data"][0]["name"], "Kitchen");
    assert_eq!(tree["data"][0]["children"][0]["name"], "Kettles");
    assert_eq!(tree["data"][0]["children"][0]["depth"], 2);
    let (_, children) = s
        .get(&format!(
            "/v3/catalog/trees/categories?parent_id:in={parent}"
        ))
        .await;
    assert_eq!(children["meta"]["pagination"]["total"], 1);
    let kettles = children["data"][0]["category_id"].as_u64().unwrap();
    let (status, body) = s
        .call(
            Method::PUT,
            "/v3/catalog/trees/categories",
            Some(json!([{ "category_id": kettles, "name": "Tea Kettles" }])),
        )
        .await;
    assert_eq!(
        (status, body["data"][0]["name"].as_str()),
        (StatusCode::OK, Some("Tea Kettles"))
    );
    let (status, _) = s
        .call(
            Method::PUT,
            "/v3/catalog/trees/categories",
            Some(json!([{ "category_id": parent, "parent_id": kettles }])),
        )
        .await;
    assert_eq!(status, 422, "a category cannot move under its own child");
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/v3/catalog/trees/categories?category_id:in={parent}"),
            None
        )
        .await
        .0,
        202
    );
    let (_, all) = s.get("/v3/catalog/trees/categories").await;
    assert_eq!(
        all["meta"]["pagination"]["total"], 0,
        "children go with their parent"
    );
}

#[tokio::test]
async fn categories_filter_by_exact_name_or_by_part_of_it() {
    let s = Store::start(SeedSize::Empty, None).await;
    let (status, body) = s
        .call(
            Method::POST,
            "/v3/catalog/trees/categories",
            Some(json!([{ "name": "Kettles", "tree_id": 1 }, { "name": "Tea Kettles", "tree_id": 1 }])),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let total = |v: &Value| v["meta"]["pagination"]["total"].as_u64().unwrap();
    let (_, exact) = s.get("/v3/catalog/trees/categories?name=Kettles").await;
    assert_eq!(total(&exact), 1);
    assert_eq!(exact["data"][0]["name"], "Kettles");
    let (_, none) = s.get("/v3/catalog/trees/categories?name=Kettle").await;
    assert_eq!(total(&none), 0, "name matches whole names only");
    let (_, like) = s.get("/v3/catalog/trees/categories?name:like=kettle").await;
    assert_eq!(total(&like), 2);
}

#[tokio::test]
async fn customers_come_in_tens_with_unique_emails() {
    let s = Store::start(SeedSize::Small, None).await;
    let new = json!([{
        "email": "new@example.com", "first_name": "New", "last_name": "Person",
        "addresses": [{ "first_name": "New", "last_name": "Person", "address1": "1 Main St", "city": "Austin", "country_code": "US" }]
    }]);
    let (status, body) = s.call(Method::POST, "/v3/customers", Some(new)).await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"][0]["id"].as_u64().unwrap();
    assert_eq!(id, 21);
    let (_, found) = s
        .get("/v3/customers?email:in=NEW@example.com&include=addresses")
        .await;
    assert_eq!(found["data"][0]["addresses"][0]["city"], "Austin");
    let (_, plain) = s.get("/v3/customers?id:in=21").await;
    assert!(
        plain["data"][0].get("addresses").is_none(),
        "addresses only when included"
    );
    let dup = json!([{ "email": "new@example.com", "first_name": "A", "last_name": "B" }]);
    let (status, body) = s.call(Method::POST, "/v3/customers", Some(dup)).await;
    assert_eq!(status, 422);
    assert!(
        body["errors"]["0.email"]
            .as_str()
            .unwrap()
            .contains("already in use"),
        "{body}"
    );
    let (status, body) = s
        .call(
            Method::POST,
            "/v3/customers",
            Some(json!([{ "first_name": "A" }])),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"]["0.email"], "email is a required field");
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({ "email": format!("b{i}@x.com"), "first_name": "B", "last_name": "C" }))
        .collect();
    assert_eq!(
        s.call(Method::POST, "/v3/customers", Some(json!(eleven)))
            .await
            .0,
        413
    );
    let (status, body) = s
        .call(
            Method::PUT,
            "/v3/customers",
            Some(json!([{ "id": id, "phone": "555-0100" }])),
        )
        .await;
    assert_eq!(
        (status, body["data"][0]["phone"].as_str()),
        (StatusCode::OK, Some("555-0100"))
    );
    let (_, by_name) = s.get("/v3/customers?name:like=new%20per").await;
    assert_eq!(by_name["data"][0]["id"], id);
    assert_eq!(
        s.call(Method::DELETE, &format!("/v3/customers?id:in={id}"), None)
            .await
            .0,
        204
    );
    let (_, all) = s.get("/v3/customers").await;
    assert_eq!(all["meta"]["pagination"]["total"], 20);
}

#[tokio::test]
async fn a_burst_gets_exactly_the_quota() {
    let quota = 150;
    let s = Store::start(
        SeedSize::Small,
        Some(RateLimit {
            quota,
            window: Duration::from_secs(30),
        }),
    )
    .await;
    let mut ok = 0;
    let mut limited = 0;
    let mut last_left = u32::MAX;
    for _ in 0..300 {
        let r = s
            .http
            .get(s.url("/v3/catalog/products?limit=1"))
            .header("X-Auth-Token", "sandbox")
            .send()
            .await
            .unwrap();
        let h = |name: &str| {
            r.headers()
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        assert_eq!(h("x-rate-limit-requests-quota"), u64::from(quota));
        assert_eq!(h("x-rate-limit-time-window-ms"), 30_000);
        assert!(h("x-rate-limit-time-reset-ms") <= 30_000);
        let left = h("x-rate-limit-requests-left") as u32;
        match r.status().as_u16() {
            200 => {
                ok += 1;
                assert!(left < last_left, "requests-left counts down");
                last_left = left;
            }
            429 => {
                limited += 1;
                assert_eq!(left, 0);
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, limited), (150, 150));
    assert_eq!(s.control("counters").await["rate_limited"], 150);
}

#[tokio::test]
async fn the_window_resets() {
    let s = Store::start(
        SeedSize::Empty,
        Some(RateLimit {
            quota: 2,
            window: Duration::from_millis(300),
        }),
    )
    .await;
    for expected in [200, 200, 429] {
        assert_eq!(s.get("/v3/catalog/products").await.0.as_u16(), expected);
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(s.get("/v3/catalog/products").await.0, 200);
}

#[tokio::test]
async fn faults_and_the_ledger() {
    let s = Store::start(SeedSize::Small, None).await;
    let faults = format!("{}/_sandbox/faults", s.emulator.url());
    let r = s
        .http
        .put(&faults)
        .json(&json!({ "error_rate": 1.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.get("/v3/catalog/products").await.0, 500);
    let r = s
        .http
        .put(&faults)
        .json(&json!({ "error_rat": 1.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "unknown fault names are refused");
    s.http.delete(&faults).send().await.unwrap();
    assert_eq!(s.get("/v3/catalog/products").await.0, 200);
    s.http
        .put(&faults)
        .json(&json!({ "malformed_rate": 1.0 }))
        .send()
        .await
        .unwrap();
    let text = s
        .http
        .get(s.url("/v3/catalog/products"))
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "the body is cut short"
    );
    s.http.delete(&faults).send().await.unwrap();
    let ledger = s.control("ledger").await;
    let entries = ledger.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["status"], 500);
    assert_eq!(entries[0]["route"], "/stores/{hash}/v3/catalog/products");
    let counters = s.control("counters").await;
    assert_eq!(
        counters["per_route"]["GET /stores/{hash}/v3/catalog/products"],
        3
    );
}
