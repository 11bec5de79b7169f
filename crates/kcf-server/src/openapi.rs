//! The OpenAPI 3.1 document of kcf's HTTP interface, generated from the code so it cannot
//! drift from what is served:
//! - the API and operations routes from their handlers: each carries `#[utoipa::path]`, and the
//!   same `OpenApiRouter` that routes them collects their documentation (`api::documented`,
//!   `ops::documented`), with the request and response schemas derived from the handlers'
//!   own types;
//! - one notification receiver per platform, from the registry, as `ingress::router` routes
//!   them;
//! - the answers every route can give besides its own (401, 403, 404, 413, 415, 503 …), by
//!   the same rules as the middleware that gives them ([`add_common_answers`]).
//!
//! `GET /api/v1/openapi.json` serves it; `docs/openapi.json` is the checked-in copy the suite
//! compares with it.

use std::sync::OnceLock;

use kcf_domain::Platform;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kcf",
        description = "kcf's REST API (bearer tokens), notification receivers and operations endpoints. Every refusal is {\"error\": {\"code\", \"message\"}}."
    ),
    components(schemas(crate::error::ErrorBody))
)]
struct Base;

/// The document.
pub fn document() -> Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build).clone()
}

/// Every (method, path) documented, for tests.
pub fn operations() -> Vec<(String, String)> {
    let doc = document();
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
                out.push((method.clone(), path.clone()));
            }
        }
    }
    out
}

fn build() -> Value {
    let (_, api) = OpenApiRouter::<AppState>::with_openapi(Base::openapi())
        .merge(crate::ops::documented())
        .nest("/api/v1", crate::api::documented())
        .split_for_parts();
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    add_receivers(&mut doc);
    add_security(&mut doc);
    add_common_answers(&mut doc);
    doc
}

/// How each platform's notifications are authenticated: the security schemes (any one of
/// them), and what the receiver is.
fn receiver(platform: Platform) -> (&'static str, &'static [&'static str]) {
    match platform {
        Platform::Acumatica => (
            "Acumatica push-notification receiver (answers after the commit)",
            &["pushHeader"],
        ),
        Platform::BigCommerce => (
            "BigCommerce webhook receiver: the custom header the hooks were registered with, or a Standard Webhooks signature (answers after the commit)",
            &["webhookHeader", "webhookSignature"],
        ),
        Platform::Shopify => (
            "Shopify webhook receiver: X-Shopify-Hmac-Sha256 over the raw body, deduplicated on X-Shopify-Webhook-Id (answers after the commit)",
            &["shopifyHmac"],
        ),
        Platform::Magento => ("Magento webhook receiver", &[]),
    }
}

/// The notification receivers, one per platform the registry routes (`ingress::router`).
fn add_receivers(doc: &mut Value) {
    for (platform, path) in kcf_engine::registry::ingress_routes() {
        let (summary, schemes) = receiver(platform);
        let security: Vec<Value> = schemes.iter().map(|s| json!({ *s: [] })).collect();
        let op = json!({
            "tags": ["ingress"],
            "summary": summary,
            "operationId": format!("receive_{platform}"),
            "parameters": [{
                "name": "connector", "in": "path", "required": true,
                "schema": { "$ref": "#/components/schemas/ConnectorId" },
            }],
            "requestBody": {
                "required": true,
                "description": format!("the notification as {platform} sends it"),
                "content": { "application/json": { "schema": { "type": "object" } } },
            },
            "responses": {
                "200": {
                    "description": "Stored (or a duplicate of one stored): the sender may forget it",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/IntakeReport" } } },
                },
            },
            "security": security,
        });
        doc["paths"][format!("{path}/{{connector}}")] = json!({ "post": op });
    }
    let schemas = &mut doc["components"]["schemas"];
    if let (Value::Object(schemas), Value::Object(more)) = (
        schemas,
        serde_json::to_value(
            utoipa::openapi::ComponentsBuilder::new()
                .schema_from::<kcf_engine::IntakeReport>()
                .schema_from::<kcf_domain::ConnectorId>()
                .build(),
        )
        .unwrap_or_default()["schemas"]
            .take(),
    ) {
        schemas.extend(more);
    }
}

/// The security schemes, and which each operation takes: a bearer token under `/api/v1`,
/// nothing for the operations routes, the receivers' own (set with them).
fn add_security(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer", "description": "an API token (API Tokens in the workspace, or --api-token); a workspace session cookie is taken too" },
        "pushHeader": { "type": "apiKey", "in": "header", "name": "X-KCF-Push-Secret", "description": "the header name and value set on the Acumatica push destination (configurable per connector)" },
        "webhookHeader": { "type": "apiKey", "in": "header", "name": "X-KCF-Webhook-Secret", "description": "the custom header the hooks were registered with" },
        "webhookSignature": { "type": "apiKey", "in": "header", "name": "webhook-signature", "description": "Standard Webhooks: v1,base64(HMAC-SHA256(secret, id.timestamp.body)) with webhook-id and webhook-timestamp" },
        "shopifyHmac": { "type": "apiKey", "in": "header", "name": "X-Shopify-Hmac-Sha256", "description": "base64(HMAC-SHA256(the app's client secret, raw body)), with X-Shopify-Topic and X-Shopify-Webhook-Id" },
    });
    for_each_operation(doc, |path, _, op| {
        if path.starts_with("/api/") {
            op.insert("security".into(), json!([{ "bearer": [] }]));
        } else if !op.contains_key("security") || !path.contains('{') {
            op.insert("security".into(), json!([]));
        }
    });
}

/// What any route can answer besides its own answers, by the rules of the layers that give
/// them: the credentials check (401), the same-origin check on writes (403), a path that
/// names nothing (404), the body limit and the JSON extractor (413, 415), a request kcf
/// cannot read (400), and the database not answering (503).
fn add_common_answers(doc: &mut Value) {
    for_each_operation(doc, |path, method, op| {
        let public = op["security"].as_array().is_some_and(Vec::is_empty);
        let unsafe_method = matches!(method, "post" | "put" | "patch" | "delete");
        let has_body = op.contains_key("requestBody");
        let mut add = |status: &str, why: &str| {
            if let Value::Object(responses) = &mut op["responses"] {
                responses.entry(status.to_owned()).or_insert_with(|| {
                    json!({ "description": why, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } } })
                });
            }
        };
        if public {
            return;
        }
        add(
            "400",
            "The request is not one kcf takes: what is wrong, in words",
        );
        add("401", "No credentials, or wrong or revoked ones");
        add("503", "kcf's database did not answer: try again");
        if unsafe_method && path.starts_with("/api/") {
            add(
                "403",
                "A browser's cross-site write (Sec-Fetch-Site, Origin)",
            );
        }
        if path.contains('{') || path == "/api/v1/batches" {
            add(
                "404",
                "The path (or the body's connector) names nothing kcf has",
            );
        }
        if has_body {
            add("413", "The body is over the 1 MiB limit");
            add("415", "The body is not sent as application/json");
        }
        // 409, 422 and 502 are the handlers' own: each states them in its `#[utoipa::path]`.
    });
}

fn for_each_operation(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Map<String, Value>)) {
    if let Value::Object(paths) = &mut doc["paths"] {
        for (path, item) in paths.iter_mut() {
            if let Value::Object(item) = item {
                for (method, op) in item.iter_mut() {
                    if let Value::Object(op) = op {
                        f(path, method, op);
                    }
                }
            }
        }
    }
}
