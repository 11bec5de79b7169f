//! kcf's Shopify adapter against the Shopify emulator over real HTTP: every port operation
//! the engine uses, its refusals in plain words, and the query-cost limiter under load.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use kcf_domain::{
    Entity, Timestamp,
    records::{
        CategoryRecord, CustomerRecord, OptionRecord, ProductRecord, ShipmentLineRecord,
        ShipmentRecord, TemplateRecord, VariantRecord,
    },
};
use kcf_platform::{
    ErrorKind, ProductWrite, StockWrite, Storefront, TemplateWrite, Unrecorded, Window,
};
use kcf_sandbox::{Dataset, Faults, SeedSize, shopify::CostLimit};
use kcf_shopify::{ShopifyConfig, ShopifyStore};
use serde_json::{Value, json};

struct Shop {
    emulator: kcf_sandbox::Emulator,
    store: ShopifyStore,
}

async fn start(seed: SeedSize, cost_limit: Option<CostLimit>) -> Shop {
    kcf_sandbox::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = kcf_sandbox::shopify::ShopifyConfig {
        cost_limit,
        webhook_time_scale: 0.001,
        ..Default::default()
    };
    let emulator = kcf_sandbox::start(
        listener,
        kcf_sandbox::EmulatorConfig::Shopify(config),
        Faults::default(),
        &Dataset::generate(seed),
        kcf_sandbox::Transport::Http,
    )
    .await
    .unwrap();
    let store = ShopifyStore::new(ShopifyConfig::sandbox(emulator.url())).unwrap();
    Shop { emulator, store }
}

impl Shop {
    /// A query straight to the emulator, as a person checking would.
    async fn look(&self, query: &str) -> Value {
        let body: Value = reqwest::Client::new()
            .post(format!(
                "{}/admin/api/2025-07/graphql.json",
                self.emulator.url()
            ))
            .header("X-Shopify-Access-Token", "shpat_sandbox")
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body["errors"].is_null(), "{body}");
        body["data"].clone()
    }

    async fn counters(&self) -> Value {
        reqwest::get(format!("{}/_sandbox/counters", self.emulator.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn product(sku: &str, name: &str, price: f64) -> ProductWrite {
    ProductWrite {
        key: sku.into(),
        record: ProductRecord {
            sku: sku.into(),
            name: name.into(),
            price,
            weight: 1.0,
            visible: true,
            status: "Active".into(),
            category_keys: Vec::new(),
            modified_at: None,
            msrp: Some(price * 1.2),
            template: None,
        },
        category_ids: Vec::new(),
        fields_off: Vec::new(),
    }
}

fn template(key: &str, options: usize, variants: &[(&str, &[&str])]) -> TemplateWrite {
    let names = ["Color", "Size", "Sleeve", "Fit"];
    TemplateWrite {
        key: key.into(),
        record: TemplateRecord {
            product: product(key, &format!("Template {key}"), 30.0).record,
            options: (0..options)
                .map(|n| OptionRecord {
                    name: names[n].into(),
                    values: vec!["A".into(), "B".into()],
                })
                .collect(),
            variants: variants
                .iter()
                .map(|(sku, values)| VariantRecord {
                    sku: (*sku).into(),
                    price: 30.0,
                    msrp: None,
                    options: values
                        .iter()
                        .enumerate()
                        .map(|(n, v)| (names[n].to_owned(), (*v).to_owned()))
                        .collect(),
                    active: true,
                })
                .collect(),
        },
        category_ids: Vec::new(),
    }
}

#[tokio::test]
async fn products_are_created_found_by_sku_and_updated_in_batches() {
    let shop = start(SeedSize::Small, None).await;
    let s = &shop.store;
    let id = s
        .create_product(&product("NEW-1", "New one", 12.5), &Unrecorded)
        .await
        .unwrap();
    assert_eq!(
        s.product_by_sku("NEW-1").await.unwrap().as_deref(),
        Some(id.as_str())
    );
    let seeded = Dataset::generate(SeedSize::Small).products[0].sku.clone();
    let found = s
        .product_ids_by_sku(&[seeded.clone(), "NEW-1".into(), "NOPE".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let seeded_id = found[&seeded.to_uppercase()].clone();

    let mut renamed = product("NEW-1", "Renamed", 14.0);
    renamed.fields_off = vec!["price".into()];
    let results = s
        .update_products(
            &[
                (id.clone(), renamed),
                (seeded_id, product(&seeded, "Seeded, renamed", 3.0)),
                ("999999".into(), product("GONE", "Gone", 1.0)),
            ],
            false,
            &Unrecorded,
        )
        .await
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
    assert_eq!(results[2].as_ref().unwrap_err().kind, ErrorKind::NotFound);
    let data = shop
        .look(&format!("{{ product(id: \"gid://shopify/Product/{id}\") {{ title tags variants(first: 5) {{ nodes {{ sku price }} }} }} }}"))
        .await;
    assert_eq!(data["product"]["title"], "Renamed");
    assert_eq!(
        data["product"]["variants"]["nodes"][0]["price"], "12.50",
        "the price was switched off"
    );
    assert_eq!(data["product"]["tags"], json!(["kcf:NEW-1"]));

    s.retire_product(&id, false, &Unrecorded).await.unwrap();
    let data = shop
        .look(&format!(
            "{{ product(id: \"gid://shopify/Product/{id}\") {{ status }} }}"
        ))
        .await;
    assert_eq!(data["product"]["status"], "ARCHIVED");
    s.retire_product(&id, true, &Unrecorded).await.unwrap();
    assert!(!s.exists(Entity::Product, &id).await.unwrap());
    assert_eq!(
        s.retire_product(&id, true, &Unrecorded)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn templates_are_one_product_with_variants_or_refused_whole() {
    let shop = start(SeedSize::Empty, None).await;
    let s = &shop.store;
    let t = template(
        "TSHIRT",
        2,
        &[
            ("TS-AA", &["A", "A"]),
            ("TS-AB", &["A", "B"]),
            ("TS-BB", &["B", "B"]),
        ],
    );
    let id = s.create_template(&t, &Unrecorded).await.unwrap();
    assert_eq!(
        s.product_by_sku("TSHIRT").await.unwrap().as_deref(),
        Some(id.as_str()),
        "found by its tag"
    );
    assert_eq!(
        s.product_of_variant("TS-AB").await.unwrap().as_deref(),
        Some(id.as_str())
    );
    let fewer = template(
        "TSHIRT",
        2,
        &[("TS-AA", &["A", "A"]), ("TS-BB", &["B", "B"])],
    );
    s.update_template(&id, &fewer, &Unrecorded).await.unwrap();
    let data = shop.look(&format!("{{ product(id: \"gid://shopify/Product/{id}\") {{ variants(first: 10) {{ nodes {{ sku }} }} }} }}")).await;
    assert_eq!(
        data["product"]["variants"]["nodes"],
        json!([{ "sku": "TS-AA" }, { "sku": "TS-BB" }])
    );

    let four = template("FOUR", 4, &[("F-1", &["A", "A", "A", "A"])]);
    let e = s.create_template(&four, &Unrecorded).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.to_string().contains("maximum of 3 options"), "{e}");
    assert_eq!(
        s.product_by_sku("FOUR").await.unwrap(),
        None,
        "nothing is left behind"
    );
}

#[tokio::test]
async fn stock_is_set_per_location_compared_with_what_was_read() {
    let shop = start(SeedSize::Small, None).await;
    let s = &shop.store;
    let sku = Dataset::generate(SeedSize::Small).products[0].sku.clone();
    let locations = s.locations().await.unwrap();
    assert_eq!(locations.len(), 2);
    let writes: Vec<StockWrite> = locations
        .iter()
        .enumerate()
        .map(|(n, (id, _))| StockWrite {
            sku: sku.clone(),
            location: id.clone(),
            quantity: 5 + n as i64,
        })
        .collect();
    s.set_stock(&writes, &Unrecorded).await.unwrap();
    let levels = s.stock_levels(std::slice::from_ref(&sku)).await.unwrap();
    assert_eq!(levels[&(sku.to_uppercase(), locations[1].0.clone())], 6);
    let e = s
        .set_stock(
            &[StockWrite {
                sku: "NOT-THERE".into(),
                location: locations[0].0.clone(),
                quantity: 1,
            }],
            &Unrecorded,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Record);
}

#[tokio::test]
async fn customers_are_found_by_email_written_and_keep_their_tags() {
    let shop = start(SeedSize::Small, None).await;
    let s = &shop.store;
    let seeded = Dataset::generate(SeedSize::Small).customers[0].clone();
    let id = s
        .customer_by_email(&seeded.email.to_uppercase())
        .await
        .unwrap()
        .unwrap();
    let mut record: CustomerRecord = s.customer(&id).await.unwrap().unwrap();
    assert_eq!(record.email, seeded.email);
    record.first_name = "Changed".into();
    record.class = Some("WHOLESALE".into());
    s.update_customer(&id, &record, &Unrecorded).await.unwrap();
    let back = s.customer(&id).await.unwrap().unwrap();
    assert_eq!(
        (back.first_name.as_str(), back.class.as_deref()),
        ("Changed", Some("WHOLESALE"))
    );
    record.key = String::new();
    let e = s.create_customer(&record, &Unrecorded).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    record.email = "fresh@example.com".into();
    let made = s.create_customer(&record, &Unrecorded).await.unwrap();
    assert!(s.exists(Entity::Customer, &made).await.unwrap());
}

#[tokio::test]
async fn orders_are_read_shipped_once_and_listed_by_window() {
    let shop = start(SeedSize::Small, None).await;
    let s = &shop.store;
    let before = Timestamp::now();
    let variant = shop
        .look("{ productVariants(first: 1) { nodes { id sku } } }")
        .await;
    let sku = variant["productVariants"]["nodes"][0]["sku"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = shop
        .look(&format!(
            "mutation {{ orderCreate(order: {{ email: \"b@example.com\", lineItems: [{{ variantId: \"{}\", quantity: 2 }}], shippingLines: [{{ title: \"Ground\", priceSet: {{ shopMoney: {{ amount: 5, currencyCode: \"USD\" }} }} }}], shippingAddress: {{ firstName: \"B\", lastName: \"Buyer\", address1: \"1 Road\", city: \"Austin\", provinceCode: \"TX\", countryCode: \"US\", zip: \"78701\" }} }}) {{ order {{ legacyResourceId }} userErrors {{ message }} }} }}",
            variant["productVariants"]["nodes"][0]["id"].as_str().unwrap()
        ))
        .await;
    let id = created["orderCreate"]["order"]["legacyResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let order = s.order(&id).await.unwrap().unwrap();
    assert_eq!(order.state.status, "OPEN");
    let record = s.order_record(&order).await.unwrap();
    assert_eq!(record.lines.len(), 1);
    assert_eq!(record.lines[0].sku, sku);
    assert_eq!(record.shipping_method, "Ground");
    assert_eq!(record.shipping.as_ref().unwrap().city, "Austin");

    let page = s
        .changed(
            Entity::Order,
            &Window {
                from: Some(before.minus(std::time::Duration::from_secs(1))),
                to: Timestamp::now().plus(std::time::Duration::from_secs(1)),
            },
            None,
        )
        .await
        .unwrap();
    assert!(
        page.records.iter().any(|r| r.key == id),
        "the new order is in the window"
    );
    assert!(
        page.records.len() < Dataset::generate(SeedSize::Small).orders.len(),
        "the seeded history is not"
    );

    // One of the two shipped first.
    let shipment = |key: &str, tracking: &str| ShipmentRecord {
        key: key.into(),
        order_key: "SO001".into(),
        status: "Confirmed".into(),
        confirmed: true,
        carrier: "UPS".into(),
        tracking_numbers: vec![tracking.into()],
        lines: vec![ShipmentLineRecord {
            sku: sku.clone(),
            quantity: 1.0,
        }],
        modified_at: None,
    };
    let marker = "Acumatica shipment SH001";
    assert_eq!(s.shipment_marked(&id, marker).await.unwrap(), None);
    let f = s
        .create_shipment(&id, &shipment("SH001", "1Z1"), marker, &Unrecorded)
        .await
        .unwrap();
    assert_eq!(
        s.shipment_marked(&id, marker).await.unwrap().as_deref(),
        Some(f.as_str())
    );
    // The same shipment again, as after a crash between the fulfillment and its marker (the
    // marker not found): the fulfillment made is adopted, nothing is fulfilled twice.
    let lost = "Acumatica shipment SH001 (marker lost)";
    let adopted = s
        .create_shipment(&id, &shipment("SH001", "1Z1"), lost, &Unrecorded)
        .await
        .unwrap();
    assert_eq!(adopted, f, "the fulfillment already made");
    assert_eq!(
        s.shipment_marked(&id, lost).await.unwrap().as_deref(),
        Some(f.as_str())
    );
    let status = format!(
        "{{ order(id: \"gid://shopify/Order/{id}\") {{ displayFulfillmentStatus fulfillments {{ trackingInfo {{ number company }} }} }} }}"
    );
    let data = shop.look(&status).await;
    assert_eq!(
        data["order"]["displayFulfillmentStatus"],
        "PARTIALLY_FULFILLED"
    );
    assert_eq!(data["order"]["fulfillments"].as_array().unwrap().len(), 1);
    // The rest, under its own tracking number; then nothing is left to ship.
    let second = s
        .create_shipment(
            &id,
            &shipment("SH002", "1Z2"),
            "Acumatica shipment SH002",
            &Unrecorded,
        )
        .await
        .unwrap();
    assert_ne!(second, f);
    let again = s
        .create_shipment(
            &id,
            &shipment("SH003", "1Z3"),
            "Acumatica shipment SH003",
            &Unrecorded,
        )
        .await
        .unwrap_err();
    assert_eq!(
        again.kind,
        ErrorKind::Record,
        "nothing left to ship: {again}"
    );
    let data = shop.look(&status).await;
    assert_eq!(data["order"]["displayFulfillmentStatus"], "FULFILLED");
    assert_eq!(
        data["order"]["fulfillments"][0]["trackingInfo"][0],
        json!({ "number": "1Z1", "company": "UPS" })
    );

    s.set_order_status(&id, "CLOSED", &Unrecorded)
        .await
        .unwrap();
    assert_eq!(s.order(&id).await.unwrap().unwrap().state.status, "CLOSED");
    assert!(!s.is_status("Shipped"));
    assert_eq!(
        s.check_id(Entity::Order, "gid://x").unwrap_err().kind,
        ErrorKind::Record
    );
}

#[tokio::test]
async fn cancelling_is_a_job_and_the_status_follows() {
    let shop = start(SeedSize::Small, None).await;
    let s = &shop.store;
    let page = shop
        .look("{ orders(first: 1) { nodes { legacyResourceId } } }")
        .await;
    let id = page["orders"]["nodes"][0]["legacyResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    s.set_order_status(&id, "CANCELLED", &Unrecorded)
        .await
        .unwrap();
    let mut state = None;
    for _ in 0..250 {
        state = Some(s.order(&id).await.unwrap().unwrap().state);
        if state.as_ref().is_some_and(|st| st.cancelled) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let state = state.unwrap();
    assert!(state.cancelled && state.closed, "{state:?}");
    s.set_order_status(&id, "CANCELLED", &Unrecorded)
        .await
        .unwrap();
}

#[tokio::test]
async fn collections_are_adopted_by_title_hidden_and_deleted() {
    let shop = start(SeedSize::Small, None).await;
    let s = &shop.store;
    let name = Dataset::generate(SeedSize::Small).categories[0]
        .name
        .clone();
    let record = CategoryRecord {
        key: "C1".into(),
        parent_key: None,
        name,
        sort_order: 1,
        modified_at: None,
    };
    let (id, adopted) = s.put_category(&record, None, &Unrecorded).await.unwrap();
    assert!(adopted);
    let fresh = CategoryRecord {
        name: "Brand new".into(),
        ..record.clone()
    };
    let (new_id, adopted) = s.put_category(&fresh, None, &Unrecorded).await.unwrap();
    assert!(!adopted && new_id != id);
    s.retire_category(&new_id, false, &Unrecorded)
        .await
        .unwrap();
    let data = shop.look(&format!("{{ collection(id: \"gid://shopify/Collection/{new_id}\") {{ publishedOnCurrentPublication }} }}")).await;
    assert_eq!(data["collection"]["publishedOnCurrentPublication"], false);
    s.update_category(&new_id, &fresh, None, &Unrecorded)
        .await
        .unwrap();
    s.retire_category(&new_id, true, &Unrecorded).await.unwrap();
    assert_eq!(
        s.update_category(&new_id, &fresh, None, &Unrecorded)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn webhooks_are_subscribed_once() {
    let shop = start(SeedSize::Empty, None).await;
    let s = &shop.store;
    let url = "http://127.0.0.1:9/webhooks/shopify/c1";
    assert_eq!(s.subscribe(url, &Default::default()).await.unwrap(), 5);
    s.subscribe(url, &Default::default()).await.unwrap();
    let data = shop
        .look("{ webhookSubscriptions(first: 50) { nodes { topic } } }")
        .await;
    assert_eq!(
        data["webhookSubscriptions"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn concurrent_queries_stay_within_the_bucket() {
    // A small bucket: 200 points, 1,000 restored per second (a query of 20 SKUs does not fit
    // whole: the adapter splits it).
    let shop = Arc::new(
        start(
            SeedSize::Small,
            Some(CostLimit {
                maximum: 200.0,
                restore_rate: 1000.0,
            }),
        )
        .await,
    );
    let skus: Vec<String> = Dataset::generate(SeedSize::Small)
        .products
        .iter()
        .take(20)
        .map(|p| p.sku.clone())
        .collect();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let shop = shop.clone();
        let skus = skus.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            let mut limited = 0;
            for _ in 0..3 {
                match shop.store.stock_levels(&skus).await {
                    Ok(_) => done += 1,
                    Err(e) if matches!(e.kind, ErrorKind::RateLimited { .. }) => {
                        limited += 1;
                        tokio::time::sleep(e.retry_after().unwrap_or_default()).await;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            (done, limited)
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap().0;
    }
    assert!(done > 0);
    let counters = shop.counters().await;
    assert_eq!(
        counters["rate_limited"], 0,
        "kcf caused no THROTTLED answer: {counters}"
    );
    let journal = shop.store.rate_limit_journal();
    assert_eq!(journal.started_during_pauses(), 0);
}

#[tokio::test]
async fn a_read_of_many_pages_gets_to_its_end_on_a_small_bucket() {
    // The Standard plan's shape, smaller: each page of the read needs most of the bucket and
    // more than the client's short wait to refill. The later pages wait for their points;
    // failing there would throw away the pages paid for, and the read retried would never
    // get to its end.
    let seed = SeedSize::Products(150);
    let shop = start(
        seed,
        Some(CostLimit {
            maximum: 300.0,
            restore_rate: 100.0,
        }),
    )
    .await;
    let skus: Vec<String> = Dataset::generate(seed)
        .products
        .iter()
        .map(|p| p.sku.clone())
        .collect();
    let read_all = async {
        loop {
            match shop.store.stock_levels(&skus).await {
                Ok(l) => break l,
                // Only the first page may say "not yet" (nothing is paid for then).
                Err(e) if matches!(e.kind, ErrorKind::RateLimited { .. }) => {
                    tokio::time::sleep(e.retry_after().unwrap_or_default()).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    // A deadline, not a measure: the read takes about 20 s of refills.
    let levels = tokio::time::timeout(std::time::Duration::from_secs(600), read_all)
        .await
        .expect("the read got to its end");
    let read: std::collections::BTreeSet<&String> = levels.keys().map(|(sku, _)| sku).collect();
    assert_eq!(read.len(), skus.len(), "every SKU read");
    let cost: Value = reqwest::get(format!("{}/_sandbox/cost", shop.emulator.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cost["throttled"], 0, "nothing THROTTLED: {cost}");
}

#[tokio::test]
async fn creators_of_one_template_at_once_make_one_product() {
    // Two worker processes syncing one template at once (its own message and a matrix
    // item's) both find no product and both create: Shopify's unique handle makes it one.
    let shop = Arc::new(start(SeedSize::Empty, None).await);
    let t = template("RACE", 1, &[("RC-A", &["A"]), ("RC-B", &["B"])]);
    let creators: Vec<_> = (0..4)
        .map(|_| {
            let (shop, t) = (shop.clone(), t.clone());
            tokio::spawn(async move { shop.store.create_template(&t, &Unrecorded).await })
        })
        .collect();
    let mut ids = Vec::new();
    for c in creators {
        ids.push(c.await.unwrap().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one product: {ids:?}");
    let data = shop
        .look("{ products(first: 10) { nodes { id handle tags } } }")
        .await;
    assert_eq!(
        data["products"]["nodes"].as_array().unwrap().len(),
        1,
        "{data}"
    );
}
