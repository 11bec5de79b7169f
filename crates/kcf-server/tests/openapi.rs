//! The OpenAPI document: the checked-in copy is current, every operation it documents exists,
//! answers 401 without credentials and is routed with them, and real answers match the
//! documented response schemas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, Options, TOKEN};
use kcf_domain::{Direction, Entity, Mode, NewMessage, RecordKey};
use reqwest::Method;
use serde_json::{Value, json};

both_backends!(
    every_documented_operation_is_served,
    answers_match_the_documented_schemas
);

#[test]
fn the_checked_in_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let current = serde_json::to_string_pretty(&kcf_server::openapi::document()).unwrap() + "\n";
    if std::env::var("KCF_UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &current).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == current,
        "docs/openapi.json is stale: run `KCF_UPDATE_OPENAPI=1 cargo test -p kcf-server --test openapi` and commit it"
    );
}

fn concrete(path: &str) -> String {
    // The harness's second connector, `test2`, is the Shopify one.
    if path == "/webhooks/shopify/{connector}" {
        return path.replace("{connector}", "test2");
    }
    path.replace("{id}/entities/{entity}", "test/entities/product")
        .replace("{id}/bindings/{entity}", "test/bindings/product")
        .replace("connectors/{id}", "connectors/test")
        .replace("{connector}", "test")
        .replace("{id}", "1")
}

async fn every_documented_operation_is_served(backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            workers: false,
            second_store: Some(kcf_engine::registry::StoreKind::Shopify),
            ..Options::default()
        },
    )
    .await;
    let served: serde_json::Value = h
        .http
        .get(format!("{}/api/v1/openapi.json", h.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, kcf_server::openapi::document());
    for (method, path) in kcf_server::openapi::operations() {
        let path = path.as_str();
        let url = format!("{}{}", h.url(), concrete(path));
        let method: Method = method.to_uppercase().parse().unwrap();
        let public = matches!(path, "/healthz" | "/readyz" | "/metrics");
        // Without credentials: refused (notification receivers check their own secret).
        let anonymous = h
            .http
            .request(method.clone(), &url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        if public {
            assert_eq!(anonymous.status(), 200, "{method} {path}");
            continue;
        }
        assert_eq!(
            anonymous.status(),
            401,
            "{method} {path} without credentials"
        );
        if path.starts_with("/push") || path.starts_with("/webhooks") {
            continue;
        }
        // With a token: routed to a handler (which may still refuse the empty body, with an
        // error of its own, or not find record 1), never the router's 404/405.
        let r = h
            .http
            .request(method.clone(), &url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}: {body}");
        if status == 404 {
            assert!(
                body.contains("\"error\""),
                "{method} {path}: the router's 404"
            );
        }
        assert!(status < 500, "{method} {path}: {status} {body}");
    }
    h.stop().await;
}

/// Why `v` does not fit `schema` (`$ref`, `allOf`, `oneOf`, `type`, `enum`, `required`,
/// `properties`, `additionalProperties`, `items`: what the document uses); empty when it fits.
fn misfits(doc: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return misfits(doc, &doc["components"]["schemas"][name], v, at);
    }
    let mut out = Vec::new();
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            out.extend(misfits(doc, s, v, at));
        }
    }
    if let Some(any) = schema["oneOf"].as_array()
        && !any.iter().any(|s| misfits(doc, s, v, at).is_empty())
    {
        out.push(format!("{at}: {v} fits none of oneOf"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let is = |t: &str| match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        out.push(format!("{at}: {v} is not {types:?}"));
        return out;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        out.push(format!("{at}: {v} is not one of {allowed:?}"));
    }
    if let Some(object) = v.as_object() {
        for key in schema["required"].as_array().into_iter().flatten() {
            if let Some(key) = key.as_str()
                && !object.contains_key(key)
            {
                out.push(format!("{at}: required '{key}' is missing"));
            }
        }
        for (key, value) in object {
            if let Some(p) = schema["properties"].get(key) {
                out.extend(misfits(doc, p, value, &format!("{at}.{key}")));
            } else if schema["additionalProperties"].is_object() {
                out.extend(misfits(
                    doc,
                    &schema["additionalProperties"],
                    value,
                    &format!("{at}.{key}"),
                ));
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            out.extend(misfits(doc, items, item, &format!("{at}[{i}]")));
        }
    }
    out
}

async fn answers_match_the_documented_schemas(backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            workers: false,
            ..Options::default()
        },
    )
    .await;
    let doc = kcf_server::openapi::document();
    // The checker itself catches a wrong type, a value outside an enum and missing fields.
    let wrong = misfits(
        &doc,
        &json!({ "$ref": "#/components/schemas/Page_Message" }),
        &json!({ "items": [{ "id": "7", "connector": "test", "entity": "widget", "direction": "erp-to-store", "mode": "real-time", "status": "pending" }] }),
        "page",
    );
    // Nine required fields missing, a value outside the enum, a wrong type.
    assert_eq!(wrong.len(), 11, "{wrong:?}");
    let id =
        h.db.store
            .enqueue(
                NewMessage::new(
                    h.id.clone(),
                    Entity::Product,
                    Direction::ErpToStore,
                    Mode::RealTime,
                    RecordKey::parse("SCHEMA-1").unwrap(),
                    "acumatica",
                )
                .with_description("Stock item SCHEMA-1")
                .with_payload(json!({ "InventoryID": "SCHEMA-1" })),
            )
            .await
            .unwrap()
            .id
            .0;
    let message = format!("/api/v1/messages/{id}");
    // (method, documented path, concrete path, body), in an order that leaves something to
    // list for each read.
    let calls: Vec<(Method, &str, String, Option<Value>)> = vec![
        (
            Method::GET,
            "/api/v1/connectors",
            "/api/v1/connectors".into(),
            None,
        ),
        (
            Method::GET,
            "/api/v1/connectors/{id}/entities",
            "/api/v1/connectors/test/entities".into(),
            None,
        ),
        (
            Method::PATCH,
            "/api/v1/connectors/{id}/entities/{entity}",
            "/api/v1/connectors/test/entities/product".into(),
            Some(json!({ "max_attempts": 5 })),
        ),
        (
            Method::POST,
            "/api/v1/connectors/{id}/test",
            "/api/v1/connectors/test/test".into(),
            None,
        ),
        (
            Method::PUT,
            "/api/v1/connectors/{id}/mappings",
            "/api/v1/connectors/test/mappings".into(),
            Some(
                json!({ "kind": "ship-via", "erp_value": "FEDEX", "store_value": "Fedex Ground" }),
            ),
        ),
        (
            Method::GET,
            "/api/v1/connectors/{id}/mappings",
            "/api/v1/connectors/test/mappings".into(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/connectors/{id}/bindings/{entity}",
            "/api/v1/connectors/test/bindings/product".into(),
            Some(json!({ "csv": "erp_key,external_id\nSCHEMA-1,9001\nSCHEMA-2,9001\n" })),
        ),
        (
            Method::GET,
            "/api/v1/connectors/{id}/bindings/{entity}",
            "/api/v1/connectors/test/bindings/product".into(),
            None,
        ),
        (
            Method::GET,
            "/api/v1/messages",
            "/api/v1/messages?connector=test".into(),
            None,
        ),
        (
            Method::GET,
            "/api/v1/messages/counts",
            "/api/v1/messages/counts".into(),
            None,
        ),
        (Method::GET, "/api/v1/messages/{id}", message.clone(), None),
        (
            Method::POST,
            "/api/v1/messages/{id}/resync",
            format!("{message}/resync"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/messages/actions",
            "/api/v1/messages/actions".into(),
            Some(json!({ "action": "skip", "ids": [id, 999_999] })),
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            Some(json!({ "name": "schema" })),
        ),
        (Method::GET, "/api/v1/tokens", "/api/v1/tokens".into(), None),
        (
            Method::POST,
            "/api/v1/batches",
            "/api/v1/batches".into(),
            Some(json!({ "connector": "test", "entity": "product", "from": "2020-01-01" })),
        ),
        (
            Method::PATCH,
            "/api/v1/connectors/{id}/connection",
            "/api/v1/connectors/test/connection".into(),
            Some(json!({})),
        ),
    ];
    let mut checked = 0;
    for (method, documented, path, body) in calls {
        let mut request = h
            .http
            .request(method.clone(), format!("{}{path}", h.url()))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let answer: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        let op = &doc["paths"][documented][method.as_str().to_lowercase()];
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {documented} is not documented"
        );
        let wrong = misfits(&doc, schema, &answer, "answer");
        assert!(
            wrong.is_empty(),
            "{method} {path}:\n{}\n{answer:#}",
            wrong.join("\n")
        );
        checked += 1;
        // The run the batch call made: its own read.
        if documented == "/api/v1/batches" {
            let run = answer["run"]["id"].as_i64().unwrap();
            let r = h
                .http
                .get(format!("{}/api/v1/batches/{run}", h.url()))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            let answer: Value = r.json().await.unwrap();
            let schema = &doc["paths"]["/api/v1/batches/{id}"]["get"]["responses"]["200"]["content"]
                ["application/json"]["schema"];
            let wrong = misfits(&doc, schema, &answer, "answer");
            assert!(
                wrong.is_empty(),
                "GET batch:\n{}\n{answer:#}",
                wrong.join("\n")
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
    h.stop().await;
}
