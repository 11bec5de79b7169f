//! Notification ingress and the API's front door: what is refused, with which status and
//! reason, and that nothing refused is stored. Runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, Options};
use serde_json::json;

both_backends!(
    a_body_dropped_mid_way_stores_nothing,
    bad_push_notifications_are_refused_and_not_stored,
    bad_webhooks_are_refused_and_not_stored,
    api_needs_a_token_and_says_what_is_wrong,
    push_dedups_on_id_query_and_key,
    notifications_holding_nul_or_long_ids_are_kept,
    hostile_api_input_gets_a_4xx_or_nothing_found,
    silent_and_slow_clients_are_closed,
    a_hostile_corpus_gets_4xx_and_stores_nothing,
);

async fn quiet(backend: &str) -> Harness {
    Harness::with(
        backend,
        Options {
            workers: false,
            ..Options::default()
        },
    )
    .await
}

async fn stored(h: &Harness) -> u64 {
    h.db.store
        .count_by_status(&kcf_store::MessageFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum()
}

fn push_body(id: &str, key: &str) -> String {
    json!({
        "Inserted": [{ "InventoryID": key, "Description": "x", "ItemStatus": "Active", "DefaultPrice": 1 }],
        "Deleted": [], "Query": "Stock Items: Last Modified Date", "CompanyId": "Company",
        "Id": id, "TimeStamp": 1, "AdditionalInfo": {},
    })
    .to_string()
}

async fn bad_push_notifications_are_refused_and_not_stored(backend: &str) {
    let h = quiet(backend).await;
    let conn = h.engine.runtime(&h.id).unwrap();
    let (header, secret) = (
        conn.spec.ingress.push_header.clone(),
        conn.spec.ingress.push_secret.expose().to_owned(),
    );
    let url = format!("{}/push/acumatica/{}", h.url(), h.id);
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let mut bodies: Vec<(String, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", br#"{"Inserted": [{"InventoryID": "A"#.to_vec()),
        ("not an object", b"[1,2,3]".to_vec()),
        (
            "wrong types",
            br#"{"Inserted": "x", "Deleted": [], "Query": 5, "Id": 7}"#.to_vec(),
        ),
        (
            "no Id",
            br#"{"Inserted": [], "Deleted": [], "Query": "q"}"#.to_vec(),
        ),
        (
            "no key column",
            br#"{"Inserted": [{"Foo": 1}], "Deleted": [], "Query": "q", "Id": "i"}"#.to_vec(),
        ),
        ("deep nesting", deep.into_bytes()),
        ("invalid utf-8", vec![0xff, 0xfe, b'{', b'}']),
        (
            "a number too big",
            br#"{"Inserted": [], "Deleted": [], "Query": "q", "Id": "i", "TimeStamp": 1e999}"#
                .to_vec(),
        ),
        (
            "a lone surrogate",
            br#"{"Inserted": [{"InventoryID": "\ud800"}], "Deleted": [], "Query": "q", "Id": "i"}"#
                .to_vec(),
        ),
        ("a bare string", br#""Inserted""#.to_vec()),
        ("null", b"null".to_vec()),
    ]
    .into_iter()
    .map(|(what, body)| (what.to_owned(), body))
    .collect();
    // Every proper prefix of a good notification (a sender cut off mid-body), and the good
    // one with one byte made invalid UTF-8, at positions across it.
    let good = push_body("a", "SKU-1").into_bytes();
    for cut in (1..good.len()).step_by(good.len() / 40) {
        bodies.push((format!("cut at byte {cut}"), good[..cut].to_vec()));
    }
    for at in (0..good.len()).step_by(good.len() / 20) {
        let mut b = good.clone();
        b[at] = 0xff;
        bodies.push((format!("0xFF at byte {at}"), b));
    }
    let tried = bodies.len();
    for (what, body) in bodies {
        let r = h
            .http
            .post(&url)
            .header(header.as_str(), secret.as_str())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, 400, "{what}: {text}");
        assert!(text.contains("\"message\""), "{what}: a reason: {text}");
    }
    let huge = vec![b' '; kcf_server::MAX_BODY + 10];
    let r = h
        .http
        .post(&url)
        .header(header.as_str(), secret.as_str())
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "oversized body");
    for (what, value) in [
        ("missing", None),
        ("wrong", Some("nope")),
        ("empty", Some("")),
    ] {
        let mut req = h.http.post(&url).body(push_body("a", "SKU-1"));
        if let Some(v) = value {
            req = req.header(header.as_str(), v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{what} secret");
    }
    let r = h
        .http
        .post(format!("{}/push/acumatica/nobody", h.url()))
        .header(header.as_str(), secret.as_str())
        .body(push_body("a", "SKU-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(stored(&h).await, 0, "nothing refused is stored");
    common::report(
        &format!("{backend}::bad_push_notifications_are_refused_and_not_stored"),
        &format!(
            "{tried} malformed push bodies answered 400 with a reason, 1 oversized answered 413, \
             3 missing or wrong secrets 401, an unknown connector 404; 0 stored"
        ),
    );
    h.stop().await;
}

async fn bad_webhooks_are_refused_and_not_stored(backend: &str) {
    let h = quiet(backend).await;
    let conn = h.engine.runtime(&h.id).unwrap();
    let ingress = conn.spec.ingress.clone();
    let url = format!("{}/webhooks/bigcommerce/{}", h.url(), h.id);
    let body = json!({ "scope": "store/order/created", "store_id": "1", "hash": "h1",
        "created_at": 1, "producer": "stores/sandbox", "data": { "type": "order", "id": 5 } })
    .to_string();
    let now = kcf_domain::Timestamp::now().0 / 1000;
    let secret = ingress.signing_secret.expose().as_bytes().to_vec();
    let send = |header: Option<&str>, ts: i64, sig: String, body: String| {
        let mut req = h
            .http
            .post(&url)
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body);
        if let Some(v) = header {
            req = req.header(ingress.webhook_header.as_str(), v);
        }
        req.send()
    };
    let good_sig = common::sign(&secret, "msg_1", now, &body);
    let secret_value = ingress.webhook_secret.expose();
    let cases = vec![
        (
            "no secret header",
            None,
            now,
            good_sig.clone(),
            body.clone(),
            401,
        ),
        (
            "wrong secret header",
            Some("nope"),
            now,
            good_sig.clone(),
            body.clone(),
            401,
        ),
        (
            "tampered body",
            Some(secret_value),
            now,
            good_sig.clone(),
            body.replace("h1", "h2"),
            401,
        ),
        (
            "wrong key",
            Some(secret_value),
            now,
            common::sign(b"other", "msg_1", now, &body),
            body.clone(),
            401,
        ),
        (
            "stale",
            Some(secret_value),
            now - 3600,
            common::sign(&secret, "msg_1", now - 3600, &body),
            body.clone(),
            401,
        ),
        (
            "future",
            Some(secret_value),
            now + 3600,
            common::sign(&secret, "msg_1", now + 3600, &body),
            body.clone(),
            401,
        ),
        (
            "garbage signature",
            Some(secret_value),
            now,
            "v1,@@@".into(),
            body.clone(),
            401,
        ),
    ];
    let signature_cases = cases.len();
    for (what, header, ts, sig, body, want) in cases {
        let r = send(header, ts, sig, body).await.unwrap();
        assert_eq!(r.status().as_u16(), want, "{what}");
    }
    // Correctly signed, but not a webhook: every proper prefix of the good body.
    let cuts: Vec<(String, String)> = (1..body.len())
        .step_by(body.len() / 20)
        .filter(|cut| body.is_char_boundary(*cut))
        .map(|cut| (format!("cut at byte {cut}"), body[..cut].to_owned()))
        .collect();
    let malformed = cuts.len() + 3;
    for (what, bad) in cuts.into_iter().chain([
        (
            "truncated".to_owned(),
            r#"{"scope": "store/order/created", "data": {"#.to_owned(),
        ),
        (
            "no hash".to_owned(),
            json!({ "scope": "store/order/created", "data": { "id": 5 } }).to_string(),
        ),
        (
            "wrong types".to_owned(),
            json!({ "scope": 1, "data": "x", "hash": [] }).to_string(),
        ),
    ]) {
        let sig = common::sign(&secret, "msg_1", now, &bad);
        let r = send(Some(secret_value), now, sig, bad).await.unwrap();
        assert_eq!(r.status(), 400, "{what}");
    }
    assert_eq!(stored(&h).await, 0, "nothing refused is stored");
    common::report(
        &format!("{backend}::bad_webhooks_are_refused_and_not_stored"),
        &format!(
            "{signature_cases} secret and signature vectors (missing, wrong, tampered body, wrong key, \
             stale, future, garbage) answered 401; {malformed} signed malformed bodies 400; 0 stored; \
             a resend deduplicated"
        ),
    );
    let r = send(Some(secret_value), now, good_sig.clone(), body.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the good one is accepted");
    assert_eq!(stored(&h).await, 1);
    // A resend of that event (same webhook-id) is the same message.
    let r = send(Some(secret_value), now, good_sig, body.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(stored(&h).await, 1, "a resend is deduplicated");
    // Another event with the same payload hash (the same record changed again within the
    // same second): a message of its own, not lost as a "duplicate".
    let r = h
        .http
        .post(&url)
        .header(ingress.webhook_header.as_str(), secret_value)
        .header("webhook-id", "msg_2")
        .header("webhook-timestamp", now.to_string())
        .header(
            "webhook-signature",
            common::sign(&secret, "msg_2", now, &body),
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        stored(&h).await,
        2,
        "a second change in the same second is kept"
    );

    // Without a webhook-id (a sender that does not sign) the hash is all there is: a copy
    // while the message waits is a duplicate; a copy after it ran may be a later change and
    // becomes a re-check, once.
    let other = body.replace("\"id\":5", "\"id\":6");
    assert_ne!(other, body);
    let unsigned = |body: String| {
        h.http
            .post(&url)
            .header(ingress.webhook_header.as_str(), secret_value)
            .header("webhook-id", "")
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", common::sign(&secret, "", now, &body))
            .body(body)
            .send()
    };
    for _ in 0..2 {
        assert_eq!(unsigned(other.clone()).await.unwrap().status(), 200);
    }
    assert_eq!(stored(&h).await, 3, "a copy while it waits is a duplicate");
    let claimed =
        h.db.store
            .claim("test", 10, std::time::Duration::from_secs(30))
            .await
            .unwrap();
    for c in &claimed {
        h.db.store
            .complete(&c.lease, kcf_domain::Outcome::Processed, None)
            .await
            .unwrap();
    }
    let r = unsigned(other.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(stored(&h).await, 4, "after it ran: a re-check ({report})");
    assert_eq!(unsigned(other).await.unwrap().status(), 200);
    assert_eq!(stored(&h).await, 4, "the re-check waits: a duplicate again");
    h.stop().await;
}

async fn api_needs_a_token_and_says_what_is_wrong(backend: &str) {
    let h = quiet(backend).await;
    let base = format!("{}/api/v1", h.url());
    for path in ["/messages", "/connectors", "/batches/1"] {
        let r = h.http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        let r = h
            .http
            .get(format!("{base}{path}"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
    }
    let (status, body) = h
        .api(reqwest::Method::GET, "/messages?status=bogus", None)
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("bogus"),
        "{body}"
    );
    let (status, _) = h.api(reqwest::Method::GET, "/messages?limit=0", None).await;
    assert_eq!(status, 400);
    let (status, body) = h
        .api(
            reqwest::Method::POST,
            "/batches",
            Some(json!({ "connector": "test", "entity": "product", "from": "yesterday" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = h
        .api(
            reqwest::Method::POST,
            "/batches",
            Some(json!({ "connector": "test", "entity": "order-status", "from": "2026-01-01" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = h.api(reqwest::Method::GET, "/messages/999999", None).await;
    assert_eq!(status, 404);
    let (status, body) = h
        .api(
            reqwest::Method::PATCH,
            "/connectors/test/entities/product",
            Some(json!({ "schedule": "every night" })),
        )
        .await;
    // Every field is allowed; a cron expression that names no time is 422.
    assert_eq!(status, 422, "{body}");
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = h
            .http
            .get(format!("{}{path}", h.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} needs no token");
        if path == "/metrics" {
            let body = r.text().await.unwrap();
            assert!(body.contains("kcf_search_index_lag"), "{body}");
        }
    }
    h.stop().await;
}

async fn push_dedups_on_id_query_and_key(backend: &str) {
    let h = quiet(backend).await;
    let conn = h.engine.runtime(&h.id).unwrap();
    let (header, secret) = (
        conn.spec.ingress.push_header.clone(),
        conn.spec.ingress.push_secret.expose().to_owned(),
    );
    let url = format!("{}/push/acumatica/{}", h.url(), h.id);
    let send = |body: String| {
        h.http
            .post(&url)
            .header(header.as_str(), secret.as_str())
            .body(body)
            .send()
    };
    // Acumatica resends on an error reply; concurrent duplicates collapse too.
    let replies =
        futures_util::future::join_all((0..5).map(|_| send(push_body("n-1", "SKU-000001")))).await;
    assert!(replies.iter().all(|r| r.as_ref().unwrap().status() == 200));
    assert_eq!(stored(&h).await, 1);
    send(push_body("n-2", "SKU-000001")).await.unwrap();
    assert_eq!(
        stored(&h).await,
        2,
        "another notification is another message"
    );
    h.stop().await;
}

/// PostgreSQL cannot keep a NUL character or index a dedup key of several KB: such a
/// notification, authenticated and well formed, used to get 503 on every resend (then be
/// dropped by its sender). It is kept, once, on both backends.
async fn notifications_holding_nul_or_long_ids_are_kept(backend: &str) {
    let h = quiet(backend).await;
    let conn = h.engine.runtime(&h.id).unwrap();
    let (header, secret) = (
        conn.spec.ingress.push_header.clone(),
        conn.spec.ingress.push_secret.expose().to_owned(),
    );
    let url = format!("{}/push/acumatica/{}", h.url(), h.id);
    let long_id = "n".repeat(3000);
    let body = json!({
        "Inserted": [{ "InventoryID": "SKU-000001", "Description": "bad\u{0}name", "ItemStatus": "Active", "DefaultPrice": 1 }],
        "Deleted": [], "Query": "Stock Items: Last Modified Date", "CompanyId": "Company",
        "Id": long_id, "TimeStamp": 1, "AdditionalInfo": { "note": "\u{0}" },
    })
    .to_string();
    assert!(
        body.contains("\\u0000"),
        "the NUL travels escaped, as JSON must send it"
    );
    for _ in 0..3 {
        let reply = h
            .http
            .post(&url)
            .header(header.as_str(), secret.as_str())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = reply.status();
        assert_eq!(status, 200, "{}", reply.text().await.unwrap_or_default());
    }
    assert_eq!(stored(&h).await, 1, "a resend collapses onto the first");
    h.stop().await;
}

/// Text a backend cannot keep or search for (a NUL), and values far longer than any system's,
/// get an answer that says so, or find nothing; never a 503 (which a client retries forever).
async fn hostile_api_input_gets_a_4xx_or_nothing_found(backend: &str) {
    let h = quiet(backend).await;
    for path in [
        "/messages?text=a%00b",
        "/messages?text=%00%00%00",
        "/connectors/test/bindings/product?q=%00",
    ] {
        let (status, body) = h.api(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = h
        .api(
            reqwest::Method::POST,
            "/tokens",
            Some(json!({ "name": "ci\u{0}bot" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = h
        .api(
            reqwest::Method::PUT,
            "/connectors/test/mappings",
            Some(json!({ "kind": "ship-via", "erp_value": "x".repeat(500_000), "store_value": "UPS" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 200 characters"),
        "{body}"
    );
    h.stop().await;
}

/// Clients that connect and send nothing, stop in the middle of their headers, or trickle a
/// body are closed by kcf (they would otherwise hold a file descriptor each until kcf has none
/// left), and `/healthz` answers meanwhile. Nothing they sent is stored.
async fn silent_and_slow_clients_are_closed(backend: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::with(
        backend,
        Options {
            workers: false,
            timeouts: kcf_server::Timeouts {
                header: std::time::Duration::from_secs(1),
                body: std::time::Duration::from_secs(1),
            },
            ..Options::default()
        },
    )
    .await;
    let addr = h.url().trim_start_matches("http://").to_owned();
    let push = format!("/push/acumatica/{}", h.id);
    let mut clients = Vec::new();
    for n in 0..30 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        match n % 3 {
            // Silent.
            0 => {}
            // Headers begun, never finished.
            1 => c
                .write_all(format!("POST {push} HTTP/1.1\r\nHost: x\r\n").as_bytes())
                .await
                .unwrap(),
            // A body promised, a tenth of it sent.
            _ => c
                .write_all(
                    format!(
                        "POST {push} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
                    )
                    .as_bytes(),
                )
                .await
                .unwrap(),
        }
        clients.push(c);
    }
    let r = h
        .http
        .get(format!("{}/healthz", h.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "healthz answers while they hang");
    // Each is closed by kcf (read: end of stream or a reset), after at most an answer that
    // is not a success.
    for (n, mut c) in clients.into_iter().enumerate() {
        let mut got = Vec::new();
        let ended = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            let mut buf = [0u8; 1024];
            loop {
                match c.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "client {n} was never closed");
        let answer = String::from_utf8_lossy(&got);
        assert!(!answer.starts_with("HTTP/1.1 2"), "client {n}: {answer}");
    }
    assert_eq!(stored(&h).await, 0);
    h.stop().await;
}

/// Bodies made from a valid notification by cutting it short, corrupting a byte, swapping a
/// field's type, nesting it absurdly or inflating it, and signature vectors: every one is
/// answered 4xx (never 5xx), and none stores anything. The corpus is generated, so it grows
/// with the valid bodies it starts from.
async fn a_hostile_corpus_gets_4xx_and_stores_nothing(backend: &str) {
    let h = quiet(backend).await;
    let conn = h.engine.runtime(&h.id).unwrap();
    let ingress = conn.spec.ingress.clone();
    let push_url = format!("{}/push/acumatica/{}", h.url(), h.id);
    let hook_url = format!("{}/webhooks/bigcommerce/{}", h.url(), h.id);
    let mut corpus: Vec<(String, Vec<u8>)> = Vec::new();
    let valid = push_body("corpus-1", "SKU-000001").into_bytes();
    let step = (valid.len() / 30).max(1);
    for cut in (1..valid.len() - 1).step_by(step) {
        corpus.push((format!("cut at {cut}"), valid[..cut].to_vec()));
    }
    for at in (0..valid.len()).step_by(step) {
        let mut bad = valid.clone();
        bad[at] = 0xff;
        corpus.push((format!("0xff at {at}"), bad));
    }
    let row = json!({ "InventoryID": "SKU-1", "Description": "x" });
    for (field, value) in [
        ("Inserted", json!("x")),
        ("Inserted", json!(7)),
        ("Inserted", json!({ "a": 1 })),
        ("Inserted", json!([1, 2])),
        ("Inserted", json!(["row"])),
        ("Inserted", json!([null])),
        ("Inserted", json!([[row.clone()]])),
        ("Deleted", json!("x")),
        ("Deleted", json!({})),
        ("Id", json!({ "x": 1 })),
        ("Id", json!([1])),
        ("Id", json!(true)),
        ("Id", json!(null)),
        ("Query", json!([1])),
        ("Query", json!({})),
    ] {
        let mut body = json!({ "Inserted": [row.clone()], "Deleted": [], "Query": "q", "Id": "i" });
        body[field] = value.clone();
        corpus.push((format!("{field} = {value}"), body.to_string().into_bytes()));
    }
    for depth in [64, 200, 1000, 20_000] {
        corpus.push((
            format!("arrays {depth} deep"),
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
        ));
        corpus.push((
            format!("objects {depth} deep"),
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes(),
        ));
    }
    for text in [
        "",
        " ",
        "null",
        "true",
        "1e999999",
        "\"\\uD800\"",
        "{}",
        "[]",
        "{\"Id\":\"x\"}",
    ] {
        corpus.push((format!("body {text:?}"), text.as_bytes().to_vec()));
    }
    corpus.push(("over 1 MiB".into(), vec![b'['; kcf_server::MAX_BODY + 1]));
    let mut tried = 0;
    for (what, body) in &corpus {
        let r = h
            .http
            .post(&push_url)
            .header(ingress.push_header.as_str(), ingress.push_secret.expose())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "push, {what}: {status}");
        tried += 1;
    }
    // The webhook receiver: the same bodies, correctly signed, and signature vectors.
    let secret = ingress.signing_secret.expose().as_bytes().to_vec();
    let now = kcf_domain::Timestamp::now().0 / 1000;
    let hook = |id: &str, ts: String, sig: String, body: Vec<u8>| {
        h.http
            .post(&hook_url)
            .header(
                ingress.webhook_header.as_str(),
                ingress.webhook_secret.expose(),
            )
            .header("webhook-id", id)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", sig)
            .body(body)
            .send()
    };
    for (what, body) in &corpus {
        let text = String::from_utf8_lossy(body).into_owned();
        let sig = common::sign(&secret, "msg_c", now, &text);
        let r = hook("msg_c", now.to_string(), sig, body.clone())
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "webhook, {what}: {status}");
        tried += 1;
    }
    let good = json!({ "scope": "store/order/created", "store_id": "1", "hash": "hc",
        "created_at": 1, "producer": "stores/sandbox", "data": { "type": "order", "id": 5 } })
    .to_string();
    let sig = common::sign(&secret, "msg_c", now, &good);
    for (what, id, ts, signature) in [
        (
            "no v1 entry",
            "msg_c",
            now.to_string(),
            sig.replace("v1,", "v2,"),
        ),
        ("empty signature", "msg_c", now.to_string(), String::new()),
        (
            "signature of another id",
            "msg_other",
            now.to_string(),
            sig.clone(),
        ),
        (
            "timestamp not a number",
            "msg_c",
            "soon".into(),
            sig.clone(),
        ),
        (
            "timestamp with a fraction",
            "msg_c",
            format!("{now}.5"),
            sig.clone(),
        ),
        ("timestamp negative", "msg_c", "-1".into(), sig.clone()),
        (
            "base64 cut short",
            "msg_c",
            now.to_string(),
            sig[..sig.len() - 4].to_owned(),
        ),
        (
            "signature for an empty body",
            "msg_c",
            now.to_string(),
            common::sign(&secret, "msg_c", now, ""),
        ),
    ] {
        let r = hook(id, ts, signature, good.clone().into_bytes())
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "webhook, {what}");
        tried += 1;
    }
    assert!(tried >= 150, "{tried} inputs");
    assert_eq!(stored(&h).await, 0, "nothing refused is stored");
    h.stop().await;
}

/// A sender whose connection drops in the middle of an authenticated notification's body
/// (after its headers, the secret included): nothing of it is stored, kcf goes on serving, and
/// the sender's resend is stored once.
async fn a_body_dropped_mid_way_stores_nothing(backend: &str) {
    use tokio::io::AsyncWriteExt;
    let h = quiet(backend).await;
    let conn = h.engine.runtime(&h.id).unwrap();
    let header = conn.spec.ingress.push_header.clone();
    let secret = conn.spec.ingress.push_secret.expose().to_owned();
    let addr = h.url().trim_start_matches("http://").to_owned();
    let push = format!("/push/acumatica/{}", h.id);
    let mut dropped = 0;
    for (n, share) in [1usize, 2, 3, 5, 9].into_iter().enumerate() {
        let body = push_body(&format!("dropped-{n}"), &format!("SKU-00000{n}"));
        let cut = body.len() * share / 10;
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(
            format!(
                "POST {push} HTTP/1.1\r\nHost: x\r\n{header}: {secret}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        c.write_all(&body.as_bytes()[..cut]).await.unwrap();
        c.flush().await.unwrap();
        // The connection closes with the body cut at `share` tenths.
        drop(c);
        dropped += 1;
    }
    let r = h
        .http
        .get(format!("{}/healthz", h.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "kcf serves on");
    // The sender resends the last one whole: stored, once.
    let body = push_body("dropped-4", "SKU-000004");
    for _ in 0..2 {
        let r = h
            .http
            .post(format!("{}{push}", h.url()))
            .header(&header, &secret)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    assert_eq!(stored(&h).await, 1, "only the whole resend is stored");
    common::report(
        &format!("{backend}::a_body_dropped_mid_way_stores_nothing"),
        &format!(
            "{dropped} authenticated notifications whose connection dropped at 10 to 90 % of \
             the body: none stored; the whole resend stored once"
        ),
    );
    h.stop().await;
}
