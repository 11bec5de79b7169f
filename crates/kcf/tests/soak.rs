//! The kill -9 soak, with real processes on SQLite and on PostgreSQL: one api process and four
//! worker processes share one database while the emulators send a stream of mixed
//! notifications through the real ingress (Acumatica push for ERP price changes and
//! shipments, BigCommerce webhooks for store orders and customers). A random worker is killed
//! with SIGKILL every 200–500 ms (a fixed seed picks which and when) and restarted; the api
//! process itself is killed and restarted during the ingest, so senders meet refused
//! connections and answers that never came, and resend as they do. Then the queue drains.
//!
//! Checked, from the emulators' own state and ledgers: every notification a sender got a 2xx
//! for was applied (every price change's last value is the store's price, every store order
//! is in the ERP once, every store customer once, every shipment in the store once), no
//! message is left Processing, and per record the last change wins. Resends are counted.
//!
//! The default run is short (about a thousand notifications); `KCF_TEST_SOAK=long` runs the
//! issue's 10,000.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

mod common;

use common::{
    KillOnDrop, PUSH_SECRET, TOKEN, connector_config, erp_session, free_port, migrate, serve,
    wait_ready,
};

const ACU: &str = "/entity/Default/24.200.001";
const WORKERS: usize = 4;

/// How much load: products whose price changes `changes` times each, store orders (some
/// of them shipped in the ERP later), store customers.
struct Load {
    products: usize,
    changes: usize,
    orders: usize,
    shipped: usize,
    customers: usize,
}

fn load() -> Load {
    if std::env::var("KCF_TEST_SOAK").is_ok_and(|v| v == "long") {
        // 6,000 price changes, 2,500 orders, 500 shipments, 1,000 customers: 10,000.
        Load {
            products: 500,
            changes: 12,
            orders: 2_500,
            shipped: 500,
            customers: 1_000,
        }
    } else {
        Load {
            products: 40,
            changes: 6,
            orders: 160,
            shipped: 40,
            customers: 80,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_soak_with_worker_and_api_kills_loses_nothing() {
    common::on_scratch_db("sqlite", "soak", |dir, db| async move {
        soak(&dir, &db, "sqlite").await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_soak_with_worker_and_api_kills_loses_nothing() {
    common::on_scratch_db("postgres", "soak", |dir, db| async move {
        soak(&dir, &db, "postgres").await
    })
    .await;
}

/// The fixed-seed random numbers that pick victims and moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// The processes under test, and the killing.
struct Fleet {
    config: std::path::PathBuf,
    db: String,
    api: KillOnDrop,
    workers: Vec<KillOnDrop>,
    rng: Rng,
    next_kill: Instant,
    worker_kills: usize,
    api_kills: usize,
}

impl Fleet {
    /// Kills a random worker when its moment has come, and starts another.
    fn tick(&mut self) {
        if Instant::now() < self.next_kill {
            return;
        }
        let victim = (self.rng.next() % WORKERS as u64) as usize;
        let _ = self.workers[victim].0.kill();
        let _ = self.workers[victim].0.wait();
        self.workers[victim] = serve(&self.config, &self.db, "worker");
        self.worker_kills += 1;
        self.next_kill = Instant::now() + Duration::from_millis(200 + self.rng.next() % 300);
    }

    /// Kills the api process; it stays down a moment (senders meet refused connections),
    /// then is started again.
    async fn kill_api(&mut self) {
        let _ = self.api.0.kill();
        let _ = self.api.0.wait();
        self.api_kills += 1;
        tokio::time::sleep(Duration::from_millis(300 + self.rng.next() % 700)).await;
        self.api = serve(&self.config, &self.db, "api");
    }
}

async fn soak(dir: &Path, db: &str, backend: &str) {
    kcf_sandbox::install_crypto_provider();
    let load = load();
    let (api, acu, bc) = (free_port(), free_port(), free_port());
    // Slowed a little so kills land in the middle of applies; the store's webhook retries
    // a hundred times sooner than BigCommerce's (60 s, 180 s, …).
    let seed = if load.products <= 50 {
        "small".to_owned()
    } else {
        load.products.to_string()
    };
    let _sandbox = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            // At least as many products as the load changes (the small seed has 50).
            .args(["sandbox", "--seed", &seed, "--faults", "latency=5ms"])
            .args(["--bigcommerce-quota", "0", "--webhook-time-scale", "0.01"])
            .args(["--acumatica-port", &acu.to_string()])
            .args(["--bigcommerce-port", &bc.to_string()])
            .args(["--shopify-port", &free_port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = connector_config(dir, api, acu, bc, 4);
    migrate(db);
    let url = format!("http://127.0.0.1:{api}");
    let acu_url = format!("http://127.0.0.1:{acu}");
    let store = format!("http://127.0.0.1:{bc}/stores/sandbox");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut fleet = Fleet {
        config: config.clone(),
        db: db.to_owned(),
        api: serve(&config, db, "api"),
        workers: (0..WORKERS).map(|_| serve(&config, db, "worker")).collect(),
        rng: Rng(0x736f_616b_2d6b_6366),
        next_kill: Instant::now(),
        worker_kills: 0,
        api_kills: 0,
    };
    wait_ready(&http, &url, "the api never became ready").await;
    // The store's webhooks and the ERP's push notifications point at kcf.
    let r = http
        .post(format!("{url}/api/v1/connectors/shop/realtime"))
        .bearer_auth(TOKEN)
        .json(&json!({ "webhook_url": format!("{url}/webhooks/bigcommerce/shop") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = http
        .put(format!("{acu_url}/_sandbox/push/destinations"))
        .json(
            &json!([{ "name": "kcf-shop", "address": format!("{url}/push/acumatica/shop"),
            "header_name": "X-KCF-Push-Secret", "header_value": PUSH_SECRET }]),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let mut erp = erp_session(&acu_url).await;
    let products: Value = http
        .get(format!("{store}/v3/catalog/products?limit=10"))
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let for_sale = products["data"].as_array().unwrap().clone();

    // Phase 1: price changes in the ERP, orders and customers in the store, interleaved;
    // workers die all along, and the api three times at fixed points of the stream.
    let steps = load.products * load.changes + load.orders + load.customers;
    let api_kills_at: BTreeSet<usize> = [steps / 5, steps / 2, steps * 4 / 5].into();
    let mut last_price: BTreeMap<String, f64> = BTreeMap::new();
    let mut order_ids = Vec::new();
    let mut emails = Vec::new();
    let (mut changes_made, mut orders_made, mut customers_made) = (0, 0, 0);
    let started = Instant::now();
    for step in 0..steps {
        fleet.tick();
        if api_kills_at.contains(&step) {
            fleet.kill_api().await;
        }
        let kind = step % 3;
        if (kind == 0 || orders_made >= load.orders && customers_made >= load.customers)
            && changes_made < load.products * load.changes
        {
            let sku = format!("SKU-{:06}", 1 + changes_made % load.products);
            let price = (1_000 + changes_made) as f64 / 100.0;
            let r = erp
                .put(format!("{acu_url}{ACU}/StockItem"))
                .json(
                    &json!({ "InventoryID": { "value": sku }, "DefaultPrice": { "value": price },
                    "ItemStatus": { "value": "Active" } }),
                )
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "PUT StockItem: {}", r.status());
            last_price.insert(sku, price);
            changes_made += 1;
        } else if (kind == 1 || customers_made >= load.customers) && orders_made < load.orders {
            let p = &for_sale[orders_made % for_sale.len()];
            let order: Value = http
                .post(format!("{store}/v2/orders"))
                .header("X-Auth-Token", "sandbox")
                .json(&json!({
                    "customer_id": 0, "status_id": 11,
                    "billing_address": { "first_name": "S", "last_name": "K", "street_1": "1 Main",
                        "city": "Austin", "state": "Texas", "zip": "78701", "country": "United States",
                        "country_iso2": "US", "email": format!("soak-buyer{}@example.com", orders_made % 13) },
                    "products": [{ "product_id": p["id"], "quantity": 1 + orders_made % 2 }],
                }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            order_ids.push(order["id"].as_u64().unwrap());
            orders_made += 1;
        } else if customers_made < load.customers {
            let email = format!("soak-customer{customers_made}@example.com");
            let r = http
                .post(format!("{store}/v3/customers"))
                .header("X-Auth-Token", "sandbox")
                .json(&json!([{ "email": email, "first_name": "Soak", "last_name": format!("C{customers_made}") }]))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "POST customers: {}", r.status());
            emails.push(email);
            customers_made += 1;
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    // Phase 2: the first orders' sales orders are shipped in the ERP while workers still die.
    let sales_of = |refs: &Value| -> BTreeMap<String, Vec<Value>> {
        let mut per: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for s in refs.as_array().unwrap() {
            let r = s["ExternalRef"]["value"].as_str().unwrap_or("").to_owned();
            per.entry(r).or_default().push(s.clone());
        }
        per
    };
    let to_ship: Vec<u64> = order_ids.iter().copied().take(load.shipped).collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut shipped = BTreeSet::new();
    while shipped.len() < to_ship.len() {
        fleet.tick();
        if Instant::now() >= deadline {
            let missing: Vec<&u64> = to_ship.iter().filter(|id| !shipped.contains(*id)).collect();
            let mut about = Vec::new();
            for id in &missing {
                let found: Value = http
                    .get(format!(
                        "{url}/api/v1/messages?entity=order&record_key={id}&limit=5"
                    ))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap_or(Value::Null);
                about.push(format!("{id}: {found}"));
            }
            let hooks: Value = http
                .get(format!("http://127.0.0.1:{bc}/_sandbox/webhooks"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap_or(Value::Null);
            // Per webhook message: the statuses of its attempts, for those never answered 2xx.
            let mut per: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            for d in hooks.as_array().into_iter().flatten() {
                per.entry(format!("{} {}", d["message_id"], d["scope"]))
                    .or_default()
                    .push(d["status"].as_u64().unwrap_or(0));
            }
            let refused: Vec<(&String, &Vec<u64>)> = per
                .iter()
                .filter(|(_, s)| !s.iter().any(|s| (200..300).contains(s)))
                .collect();
            panic!(
                "orders {missing:?} never reached the ERP to be shipped ({} shipped)\n{}\nwebhooks never acknowledged: {refused:?}",
                shipped.len(),
                about.join("\n")
            );
        }
        let sales: Value = erp
            .get(format!(
                "{acu_url}{ACU}/SalesOrder?$select=OrderType,OrderNbr,ExternalRef"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null);
        if !sales.is_array() {
            // The ERP refused the list (its session gone after the idle timeout, say): the
            // test signs in again and looks once more, as any client of the ERP would.
            // The license's sessions may all be taken for a while (killed workers' sessions
            // are freed by the ERP's idle timeout): then it tries again on the next round.
            eprintln!("the SalesOrder list answered {sales}; signing in again");
            erp = erp_session(&acu_url).await;
            continue;
        }
        let per = sales_of(&sales);
        for id in &to_ship {
            if shipped.contains(id) {
                continue;
            }
            let Some(so) = per.get(&id.to_string()).and_then(|v| v.first()) else {
                continue;
            };
            ship(&erp, &acu_url, so, &format!("1Z-SOAK-{id}")).await;
            shipped.insert(*id);
            fleet.tick();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Kills go on until there have been at least 50.
    while fleet.worker_kills < 50 {
        fleet.tick();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ingest_secs = started.elapsed().as_secs_f64();

    // The kills stop; the queue drains (leases of killed workers run out and are reaped).
    let deadline =
        Instant::now() + Duration::from_secs(if load.orders > 1_000 { 1_800 } else { 300 });
    let counts = loop {
        let counts: Option<Value> = match http
            .get(format!("{url}/api/v1/messages/counts"))
            .bearer_auth(TOKEN)
            .send()
            .await
        {
            Ok(r) => r.json().await.ok(),
            Err(_) => None,
        };
        if let Some(counts) = counts {
            let sum = |f: &dyn Fn(&Value) -> bool| -> u64 {
                counts
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| f(c))
                    .map(|c| c["count"].as_u64().unwrap())
                    .sum()
            };
            let open = sum(&|c| {
                matches!(
                    c["status"].as_str(),
                    Some("pending" | "processing" | "failed")
                )
            });
            let orders = sum(&|c| c["entity"] == "order");
            let shipments = sum(&|c| c["entity"] == "shipment");
            let store_ok = store_in_step(&http, &store, &last_price, &shipped).await;
            if open == 0 && orders >= load.orders as u64 && shipments > 0 && store_ok {
                break counts;
            }
            if Instant::now() >= deadline {
                let lagging = lagging(&http, &store, &last_price, &shipped).await;
                let open_list: Value = http
                    .get(format!(
                        "{url}/api/v1/messages?status=pending,processing,failed&limit=5"
                    ))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap_or(Value::Null);
                panic!(
                    "the queue did not drain: open {open}, orders {orders}, shipments \
                     {shipments}, the store behind on {lagging:?}\n{counts}\n{open_list:#}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let not_done: Vec<&Value> = counts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !matches!(c["status"].as_str(), Some("processed" | "filtered")))
        .collect();
    if !not_done.is_empty() {
        let failed: Value = http
            .get(format!(
                "{url}/api/v1/messages?status=aborted,invalid&limit=5"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        panic!("every message processed: {counts}\n{failed:#}");
    }

    // Every store order in the ERP exactly once. (The test's own ERP session has been idle
    // through the drain, past the ERP's idle timeout.)
    let erp = erp_session(&acu_url).await;
    let sales: Value = erp
        .get(format!(
            "{acu_url}{ACU}/SalesOrder?$select=OrderNbr,ExternalRef"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let per = sales_of(&sales);
    for id in &order_ids {
        let n = per.get(&id.to_string()).map_or(0, Vec::len);
        assert_eq!(n, 1, "store order {id} is in the ERP exactly once");
    }
    // Every store customer in the ERP exactly once.
    let customers: Value = erp
        .get(format!("{acu_url}{ACU}/Customer?$expand=MainContact"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_email: BTreeMap<String, usize> = BTreeMap::new();
    for c in customers.as_array().unwrap() {
        if let Some(e) = c["MainContact"]["Email"]["value"].as_str() {
            *per_email.entry(e.to_lowercase()).or_default() += 1;
        }
    }
    for e in &emails {
        assert_eq!(
            per_email.get(e),
            Some(&1),
            "store customer {e} in the ERP once"
        );
    }
    // Every price's last value in the store, one product per SKU; one shipment per shipped
    // order (checked by store_in_step above, and counted again here).
    for (sku, price) in &last_price {
        let found = store_products(&http, &store, sku).await;
        assert_eq!(found.len(), 1, "{sku}: one store product");
        assert_eq!(
            found[0]["price"].as_f64(),
            Some(*price),
            "{sku}: the last price"
        );
    }
    for id in &shipped {
        assert_eq!(
            store_shipments(&http, &store, *id).await,
            1,
            "store order {id}: one shipment"
        );
    }

    // What the senders saw: notifications, those acknowledged, resends.
    let push: Vec<Value> = http
        .get(format!("{acu_url}/_sandbox/push"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hooks: Value = http
        .get(format!("http://127.0.0.1:{bc}/_sandbox/webhooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hooks: Vec<Value> = hooks
        .as_array()
        .cloned()
        .or_else(|| hooks["deliveries"].as_array().cloned())
        .unwrap_or_default();
    let tally = |attempts: &[Value], id: &str| {
        let mut acked: BTreeSet<String> = BTreeSet::new();
        let mut all: BTreeSet<String> = BTreeSet::new();
        let mut refused = 0;
        for a in attempts {
            let key = a[id].as_str().unwrap_or("").to_owned();
            all.insert(key.clone());
            let status = a["status"].as_u64().unwrap_or(0);
            if (200..300).contains(&status) {
                acked.insert(key);
            } else {
                refused += 1;
            }
        }
        (all.len(), acked.len(), refused, attempts.len())
    };
    let (push_all, push_acked, push_refused, push_attempts) = tally(&push, "id");
    let (hook_all, hook_acked, hook_refused, hook_attempts) = tally(&hooks, "message_id");
    assert_eq!(
        push_all, push_acked,
        "every push notification acknowledged in the end"
    );
    assert_eq!(
        hook_all, hook_acked,
        "every webhook acknowledged in the end"
    );
    assert_eq!(fleet.api_kills, 3);
    assert!(fleet.worker_kills >= 50);
    let line = format!(
        "{} notifications through the real ingress ({push_all} ERP push, {hook_all} store \
         webhooks; {} attempts refused or unanswered while the api was down and resent), \
         {} worker kills and {} api kills (SIGKILL) in {ingest_secs:.0} s of ingest: 0 lost, \
         0 duplicated ({} orders and {} customers each in the ERP once, {} products at their \
         last of {} prices, {} shipments each once), nothing left Processing",
        push_all + hook_all,
        push_refused + hook_refused,
        fleet.worker_kills,
        fleet.api_kills,
        order_ids.len(),
        emails.len(),
        last_price.len(),
        load.changes,
        shipped.len(),
    );
    eprintln!("{line} ({push_attempts} push and {hook_attempts} webhook attempts in all)");
    common::report(
        &format!("{backend}_soak_with_worker_and_api_kills_loses_nothing"),
        &line,
    );
}

/// Ships a sales order whole in the ERP: create the shipment, add a package, confirm.
async fn ship(erp: &reqwest::Client, acu_url: &str, so: &Value, tracking: &str) {
    let keys = json!({ "OrderType": so["OrderType"], "OrderNbr": so["OrderNbr"] });
    action(erp, acu_url, "/SalesOrder/SalesOrderCreateShipment", keys).await;
    let order: Value = erp
        .get(format!(
            "{acu_url}{ACU}/SalesOrder/{}/{}?$expand=Shipments",
            so["OrderType"]["value"].as_str().unwrap(),
            so["OrderNbr"]["value"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nbr = order["Shipments"].as_array().unwrap().last().unwrap()["ShipmentNbr"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = erp
        .put(format!("{acu_url}{ACU}/Shipment"))
        .json(&json!({ "ShipmentNbr": { "value": nbr },
            "Packages": [{ "BoxID": { "value": "BOX" }, "TrackingNbr": { "value": tracking }, "Weight": { "value": 1.0 } }] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PUT Shipment: {}", r.status());
    action(
        erp,
        acu_url,
        "/Shipment/ConfirmShipment",
        json!({ "ShipmentNbr": { "value": nbr } }),
    )
    .await;
}

async fn action(erp: &reqwest::Client, acu_url: &str, path: &str, entity: Value) {
    let entity = match entity {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let v = if v.get("value").is_some() {
                        v
                    } else {
                        json!({ "value": v })
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    };
    let r = erp
        .post(format!("{acu_url}{ACU}{path}"))
        .json(&json!({ "entity": entity, "parameters": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{path}: {}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    for _ in 0..500 {
        let p = erp
            .get(format!("{acu_url}{location}"))
            .send()
            .await
            .unwrap()
            .status();
        if p == 204 {
            return;
        }
        assert_eq!(p, 202, "{path} failed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never finished");
}

async fn store_products(http: &reqwest::Client, store: &str, sku: &str) -> Vec<Value> {
    let v: Value = http
        .get(format!("{store}/v3/catalog/products?sku={sku}"))
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"].as_array().cloned().unwrap_or_default()
}

async fn store_shipments(http: &reqwest::Client, store: &str, order: u64) -> usize {
    let r = http
        .get(format!("{store}/v2/orders/{order}/shipments"))
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap();
    if r.status() == 204 {
        return 0;
    }
    r.json::<Value>()
        .await
        .unwrap()
        .as_array()
        .map_or(0, Vec::len)
}

/// What the store does not show yet: SKUs without their last price, orders without a
/// shipment.
async fn lagging(
    http: &reqwest::Client,
    store: &str,
    prices: &BTreeMap<String, f64>,
    shipped: &BTreeSet<u64>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (sku, price) in prices {
        let found = store_products(http, store, sku).await;
        let now = found.first().and_then(|p| p["price"].as_f64());
        if now != Some(*price) {
            out.push(format!("{sku} at {now:?}, not {price}"));
        }
    }
    for id in shipped {
        if store_shipments(http, store, *id).await == 0 {
            out.push(format!("order {id} without its shipment"));
        }
    }
    out
}

/// Whether the store shows every last price and a shipment for every shipped order.
async fn store_in_step(
    http: &reqwest::Client,
    store: &str,
    prices: &BTreeMap<String, f64>,
    shipped: &BTreeSet<u64>,
) -> bool {
    for (sku, price) in prices {
        let found = store_products(http, store, sku).await;
        if found.first().and_then(|p| p["price"].as_f64()) != Some(*price) {
            return false;
        }
    }
    for id in shipped {
        if store_shipments(http, store, *id).await == 0 {
            return false;
        }
    }
    true
}
