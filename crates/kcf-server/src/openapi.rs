//! The OpenAPI 3 document of kcf's HTTP interface, built from one table of operations so the
//! served document (`GET /api/v1/openapi.json`) and the checked-in copy (`docs/openapi.json`,
//! compared by the test suite) cannot drift apart. Every operation in the table is exercised by
//! `tests/openapi.rs`.

use serde_json::{Map, Value, json};

/// One operation.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    params: &'static [(&'static str, &'static str, &'static str)],
    body: Option<&'static str>,
    response: &'static str,
    auth: Auth,
}

#[derive(Clone, Copy)]
enum Auth {
    Bearer,
    PushHeader,
    WebhookHeaderOrSignature,
    ShopifyHmac,
    None,
}

const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/api/v1/connectors",
        summary: "Connectors with their state, pause and rate-limit budget",
        params: &[],
        body: None,
        response: "ConnectorList",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/connectors/{id}/state",
        summary: "Pause, resume (running) or stop a connector",
        params: &[("id", "path", "string")],
        body: Some("StateChange"),
        response: "Object",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/connectors/{id}/realtime",
        summary: "Start real-time: register the store's webhooks (idempotent)",
        params: &[("id", "path", "string")],
        body: Some("Realtime"),
        response: "Object",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/connectors/{id}/entities",
        summary: "Entity settings of a connector",
        params: &[("id", "path", "string")],
        body: None,
        response: "EntitySettingsList",
        auth: Auth::Bearer,
    },
    Op {
        method: "patch",
        path: "/api/v1/connectors/{id}/entities/{entity}",
        summary: "Change one entity's settings (absent fields stay)",
        params: &[("id", "path", "string"), ("entity", "path", "string")],
        body: Some("EntityPatch"),
        response: "EntitySettings",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/messages",
        summary: "A page of messages, newest first",
        params: &[
            ("connector", "query", "string"),
            ("entity", "query", "string"),
            ("status", "query", "string"),
            ("mode", "query", "string"),
            ("text", "query", "string"),
            ("record_key", "query", "string"),
            ("batch_run", "query", "integer"),
            ("from", "query", "integer"),
            ("to", "query", "integer"),
            ("before", "query", "integer"),
            ("limit", "query", "integer"),
        ],
        body: None,
        response: "MessagePage",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/messages/counts",
        summary: "Message counts per connector, entity and status",
        params: &[
            ("connector", "query", "string"),
            ("entity", "query", "string"),
            ("status", "query", "string"),
            ("batch_run", "query", "integer"),
        ],
        body: None,
        response: "StatusCounts",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/messages/actions",
        summary: "Process, retry or skip messages",
        params: &[],
        body: Some("Action"),
        response: "ActionReport",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/messages/{id}",
        summary: "One message with its history of status changes",
        params: &[("id", "path", "integer")],
        body: None,
        response: "MessageDetail",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/messages/{id}/set-processed",
        summary: "Set as Processed: the record already exists in the other system as external_id; records the binding",
        params: &[("id", "path", "integer")],
        body: Some("SetProcessed"),
        response: "Binding",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/messages/{id}/resync",
        summary: "Resync: queue a new manual message for the same record and payload, processed now; answers the new message's id",
        params: &[("id", "path", "integer")],
        body: None,
        response: "Queued",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/batches",
        summary: "List what the source changed in [from, to) as batch messages",
        params: &[],
        body: Some("BatchRequest"),
        response: "BatchView",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/batches/{id}",
        summary: "A batch run with its messages' counts",
        params: &[("id", "path", "integer")],
        body: None,
        response: "BatchView",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/batches/{id}/process",
        summary: "Process all of a run's messages, or the given ones",
        params: &[("id", "path", "integer")],
        body: Some("ProcessBatch"),
        response: "ActionReport",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/connectors/{id}/test",
        summary: "Test Connection: sign in to the ERP and call the store, with the saved settings or, given a body, with those changes (not saved)",
        params: &[("id", "path", "string")],
        body: Some("ConnectionChange?"),
        response: "TestReport",
        auth: Auth::Bearer,
    },
    Op {
        method: "patch",
        path: "/api/v1/connectors/{id}/connection",
        summary: "Change the connection settings (absent or empty fields keep theirs); stored encrypted, the connector restarts with them",
        params: &[("id", "path", "string")],
        body: Some("ConnectionChange"),
        response: "Saved",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/connectors/{id}/mappings",
        summary: "Value mappings (order status, customer class, payment method, ship via, warehouse)",
        params: &[("id", "path", "string"), ("kind", "query", "string")],
        body: None,
        response: "MappingList",
        auth: Auth::Bearer,
    },
    Op {
        method: "put",
        path: "/api/v1/connectors/{id}/mappings",
        summary: "Set one mapping; an empty store_value removes it",
        params: &[("id", "path", "string")],
        body: Some("Mapping"),
        response: "Object",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/connectors/{id}/bindings/{entity}",
        summary: "Sync history: bindings (ERP key ↔ store id), searchable, keyset-paged by ERP key",
        params: &[
            ("id", "path", "string"),
            ("entity", "path", "string"),
            ("q", "query", "string"),
            ("after", "query", "string"),
            ("limit", "query", "integer"),
        ],
        body: None,
        response: "BindingList",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/connectors/{id}/bindings/{entity}",
        summary: "Import Entities: bindings from CSV text (erp_key,external_id); each row's records are looked up on both sides first",
        params: &[("id", "path", "string"), ("entity", "path", "string")],
        body: Some("BindingImport"),
        response: "ImportReport",
        auth: Auth::Bearer,
    },
    Op {
        method: "delete",
        path: "/api/v1/connectors/{id}/bindings/{entity}/{erp_key}",
        summary: "Unbind: forget a record's link; its next sync looks its counterpart up again (404 when not linked)",
        params: &[
            ("id", "path", "string"),
            ("entity", "path", "string"),
            ("erp_key", "path", "string"),
        ],
        body: None,
        response: "Unbound",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/tokens",
        summary: "API tokens (hints only; values are shown once, at creation)",
        params: &[],
        body: None,
        response: "ApiTokenList",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/api/v1/tokens",
        summary: "Create an API token; the answer holds its value, this once",
        params: &[],
        body: Some("NewTokenRequest"),
        response: "NewToken",
        auth: Auth::Bearer,
    },
    Op {
        method: "delete",
        path: "/api/v1/tokens/{id}",
        summary: "Revoke an API token",
        params: &[("id", "path", "integer")],
        body: None,
        response: "Object",
        auth: Auth::Bearer,
    },
    Op {
        method: "get",
        path: "/api/v1/openapi.json",
        summary: "This document",
        params: &[],
        body: None,
        response: "Object",
        auth: Auth::Bearer,
    },
    Op {
        method: "post",
        path: "/push/acumatica/{connector}",
        summary: "Acumatica push-notification receiver (answers after the commit)",
        params: &[("connector", "path", "string")],
        body: Some("PushNotification"),
        response: "IntakeReport",
        auth: Auth::PushHeader,
    },
    Op {
        method: "post",
        path: "/webhooks/bigcommerce/{connector}",
        summary: "BigCommerce webhook receiver (answers after the commit)",
        params: &[("connector", "path", "string")],
        body: Some("Webhook"),
        response: "IntakeReport",
        auth: Auth::WebhookHeaderOrSignature,
    },
    Op {
        method: "post",
        path: "/webhooks/shopify/{connector}",
        summary: "Shopify webhook receiver: X-Shopify-Hmac-Sha256 over the raw body, deduplicated on X-Shopify-Webhook-Id (answers after the commit)",
        params: &[("connector", "path", "string")],
        body: Some("ShopifyWebhook"),
        response: "IntakeReport",
        auth: Auth::ShopifyHmac,
    },
    Op {
        method: "get",
        path: "/healthz",
        summary: "The process is up",
        params: &[],
        body: None,
        response: "Text",
        auth: Auth::None,
    },
    Op {
        method: "get",
        path: "/readyz",
        summary: "The database answers",
        params: &[],
        body: None,
        response: "Text",
        auth: Auth::None,
    },
    Op {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics",
        params: &[],
        body: None,
        response: "Text",
        auth: Auth::None,
    },
];

/// Every (method, path) documented, for tests.
pub fn operations() -> Vec<(&'static str, &'static str)> {
    OPS.iter().map(|o| (o.method, o.path)).collect()
}

fn schemas() -> Value {
    let obj = |props: Value, required: &[&str]| json!({ "type": "object", "properties": props, "required": required });
    let s = |t: &str| json!({ "type": t });
    let r = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let statuses = json!({ "type": "string", "enum": kcf_domain::MessageStatus::all().iter().map(|s| s.as_str()).collect::<Vec<_>>() });
    let entities = json!({ "type": "string", "enum": kcf_domain::Entity::all().iter().map(|e| e.as_str()).collect::<Vec<_>>() });
    json!({
        "Object": { "type": "object" },
        "Text": { "type": "string" },
        "Error": obj(json!({ "error": obj(json!({ "code": s("string"), "message": s("string") }), &["code", "message"]) }), &["error"]),
        "Entity": entities,
        "Status": statuses,
        "Connector": obj(json!({
            "id": s("string"), "name": s("string"),
            "state": { "type": "string", "enum": ["running", "paused", "stopped"] },
            "paused_until": { "type": ["integer", "null"], "description": "epoch ms" },
            "pause_reason": { "type": ["string", "null"] }, "configured": s("boolean"),
            "rate_limit": { "type": ["object", "null"] },
            "outage": { "type": ["object", "null"], "description": "set while the other system is out: system, since, reason, probes, next_probe_at, needs_person (a refused sign-in waits for a person)", "properties": {
                "system": { "type": "string", "enum": ["acumatica", "bigcommerce", "shopify", "magento"] },
                "since": s("integer"), "reason": s("string"), "probes": s("integer"),
                "next_probe_at": s("integer"), "needs_person": s("boolean"),
            } },
        }), &["id", "name", "state", "configured"]),
        "ConnectorList": { "type": "array", "items": r("Connector") },
        "TestReport": obj(json!({ "ok": s("boolean"), "acumatica": s("string"), "bigcommerce": { "type": "string", "description": "for a connector to BigCommerce" }, "shopify": { "type": "string", "description": "for a connector to Shopify" } }), &["ok", "acumatica"]),
        "Mapping": obj(json!({ "kind": { "type": "string", "enum": ["order-status", "customer-class", "payment-method", "ship-via", "warehouse"] }, "erp_value": s("string"), "store_value": s("string") }), &["kind", "erp_value", "store_value"]),
        "MappingList": { "type": "array", "items": r("Mapping") },
        "Binding": obj(json!({ "connector": s("string"), "entity": r("Entity"), "erp_key": s("string"), "external_id": s("string"), "fingerprint": { "type": ["string", "null"] }, "synced_at": s("integer") }), &["connector", "entity", "erp_key", "external_id", "synced_at"]),
        "BindingList": { "type": "array", "items": r("Binding") },
        "BindingImport": obj(json!({ "csv": s("string") }), &["csv"]),
        "ImportReport": obj(json!({ "imported": s("integer"), "refused": { "type": "array", "items": obj(json!({ "erp_key": s("string"), "error": s("string") }), &["erp_key", "error"]) }, "unchecked": { "type": "array", "description": "rows linked although a record could not be looked up (a system did not answer)", "items": obj(json!({ "erp_key": s("string"), "error": s("string") }), &["erp_key", "error"]) } }), &["imported", "refused"]),
        "Unbound": obj(json!({ "unbound": s("boolean"), "entity": r("Entity"), "erp_key": s("string") }), &["unbound", "entity", "erp_key"]),
        "ApiToken": obj(json!({ "id": s("integer"), "name": s("string"), "hint": s("string"), "created_by": s("string"), "created_at": s("integer"), "last_used_at": { "type": ["integer", "null"] }, "revoked_at": { "type": ["integer", "null"] } }), &["id", "name", "hint", "created_by", "created_at"]),
        "ApiTokenList": { "type": "array", "items": r("ApiToken") },
        "NewTokenRequest": obj(json!({ "name": s("string") }), &["name"]),
        "NewToken": { "allOf": [r("ApiToken"), obj(json!({ "token": s("string") }), &["token"])] },
        "StateChange": obj(json!({ "state": { "type": "string", "enum": ["running", "paused", "stopped"] } }), &["state"]),
        "Realtime": obj(json!({ "webhook_url": { "type": "string", "format": "uri" } }), &["webhook_url"]),
        "EntitySettings": obj(json!({
            "connector": s("string"), "entity": r("Entity"), "active": s("boolean"),
            "direction": { "type": "string", "enum": ["erp-to-store", "store-to-erp", "both"] },
            "realtime": s("boolean"), "auto_process": s("boolean"), "paused": s("boolean"),
            "schedule": { "type": ["string", "null"], "description": "cron, UTC" },
            "max_attempts": s("integer"), "fields": { "type": "object", "additionalProperties": s("boolean") },
            "on_removal": { "type": "string", "enum": ["keep", "hide", "delete"], "description": "what a deletion in the ERP does in the store; only product, template-item (hide, delete) and category (keep, hide, delete) have it" },
        }), &["connector", "entity", "active", "direction", "realtime", "auto_process", "paused", "max_attempts"]),
        "EntitySettingsList": { "type": "array", "items": r("EntitySettings") },
        "EntityPatch": { "type": "object", "additionalProperties": false, "properties": {
            "active": s("boolean"), "direction": { "type": "string", "enum": ["erp-to-store", "store-to-erp", "both"] },
            "realtime": s("boolean"), "auto_process": s("boolean"), "paused": s("boolean"),
            "schedule": { "type": "string", "description": "cron (UTC); empty removes it" },
            "max_attempts": { "type": "integer", "minimum": 1, "maximum": 100 },
            "fields": { "type": "object", "additionalProperties": s("boolean"), "description": "field toggles; product: name, price, weight, visibility, categories" },
            "on_removal": { "type": "string", "enum": ["keep", "hide", "delete"], "description": "what a deletion in the ERP does in the store: product and template-item take hide or delete, category keep, hide or delete; other entities refuse it (400)" },
        } },
        "Message": obj(json!({
            "id": s("integer"), "connector": s("string"), "entity": r("Entity"),
            "direction": { "type": "string", "enum": ["erp-to-store", "store-to-erp"] },
            "mode": { "type": "string", "enum": ["real-time", "batch", "manual"] },
            "record_key": s("string"), "description": s("string"), "source": s("string"),
            "dedup_key": { "type": ["string", "null"] }, "status": r("Status"), "attempts": s("integer"),
            "postponed": { "type": "integer", "description": "tries put off because the other system was out or busy; they spend no attempt" },
            "next_attempt_at": s("integer"), "manual": s("boolean"),
            "lease_owner": { "type": ["string", "null"] }, "lease_expires_at": { "type": ["integer", "null"] },
            "last_error": { "type": ["string", "null"] }, "payload": {},
            "source_modified_at": { "type": ["integer", "null"] }, "batch_run": { "type": ["integer", "null"] },
            "created_at": s("integer"), "updated_at": s("integer"),
        }), &["id", "connector", "entity", "direction", "mode", "record_key", "status", "attempts"]),
        "MessagePage": obj(json!({ "items": { "type": "array", "items": r("Message") }, "next": { "type": ["integer", "null"] } }), &["items"]),
        "HistoryEntry": obj(json!({
            "message_id": s("integer"), "at": s("integer"), "from": { "type": ["string", "null"] },
            "to": r("Status"), "actor": s("string"), "reason": { "type": ["string", "null"] },
        }), &["message_id", "at", "to", "actor"]),
        "MessageDetail": obj(json!({ "message": r("Message"), "history": { "type": "array", "items": r("HistoryEntry") }, "binding": { "oneOf": [r("Binding"), { "type": "null" }], "description": "what the record is linked to on the other side" }, "sent": { "oneOf": [r("SentDocument"), { "type": "null" }], "description": "what kcf last sent to the other system for it (the record as mapped), whether the write worked or not" }, "waiting": { "type": ["string", "null"], "description": "why it has not run yet, or what happens next, in words; null once finished" } }), &["message", "history"]),
        "SentDocument": obj(json!({ "message_id": s("integer"), "at": s("integer"), "target": { "type": "string", "description": "where it went, e.g. 'Acumatica SalesOrder (create)'" }, "body": { "description": "the body as sent" } }), &["message_id", "at", "target", "body"]),
        "SetProcessed": obj(json!({ "external_id": s("string") }), &["external_id"]),
        "Queued": obj(json!({ "id": s("integer") }), &["id"]),
        "Saved": obj(json!({ "saved": s("boolean") }), &["saved"]),
        "ConnectionChange": { "type": "object", "additionalProperties": false, "properties": {
            "acumatica_url": s("string"), "acumatica_endpoint": s("string"),
            "acumatica_username": s("string"), "acumatica_password": { "type": "string", "writeOnly": true },
            "acumatica_tenant": s("string"), "bigcommerce_url": s("string"), "store_hash": s("string"),
            "shopify_url": s("string"), "api_version": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" },
            "access_token": { "type": "string", "writeOnly": true, "description": "the store's (BigCommerce or Shopify)" },
        } },
        "StatusCounts": { "type": "array", "items": obj(json!({ "connector": s("string"), "entity": r("Entity"), "status": r("Status"), "count": s("integer") }), &["connector", "entity", "status", "count"]) },
        "Action": obj(json!({
            "action": { "type": "string", "enum": ["process", "retry", "skip"] },
            "ids": { "type": "array", "items": s("integer"), "minItems": 1, "maxItems": 10000 },
            "reason": s("string"),
        }), &["action", "ids"]),
        "ActionReport": obj(json!({
            "changed": { "type": "array", "items": s("integer") },
            "refused": { "type": "array", "items": { "type": "array", "prefixItems": [s("integer"), s("string")] } },
        }), &["changed", "refused"]),
        "BatchRequest": obj(json!({
            "connector": s("string"), "entity": r("Entity"),
            "from": { "type": "string", "description": "2026-11-01, RFC 3339 or epoch ms; inclusive" },
            "to": { "type": "string", "description": "exclusive; default now" },
            "mode": { "type": "string", "enum": ["incremental", "by-date", "full"] },
        }), &["connector", "entity"]),
        "BatchRun": obj(json!({
            "id": s("integer"), "connector": s("string"), "entity": r("Entity"),
            "mode": { "type": "string", "enum": ["incremental", "by-date", "full"] },
            "window_from": s("integer"), "window_to": s("integer"),
            "status": { "type": "string", "enum": ["listing", "listed", "completed", "failed", "cancelled"] },
            "checkpoint": { "type": ["string", "null"] }, "listed": s("integer"), "enqueued": s("integer"),
            "error": { "type": ["string", "null"] }, "created_at": s("integer"), "updated_at": s("integer"),
        }), &["id", "connector", "entity", "mode", "window_from", "window_to", "status", "listed", "enqueued"]),
        "BatchView": obj(json!({ "run": r("BatchRun"), "counts": r("StatusCounts"), "progress": obj(json!({ "listed": s("integer"), "processed": s("integer"), "pending": s("integer"), "failed": s("integer"), "status": { "type": "string", "enum": ["listing", "listing failed", "cancelled", "moved to a later run", "waiting for Process", "processing", "done with failures", "done"] } }), &["listed", "processed", "pending", "failed", "status"]) }), &["run", "counts", "progress"]),
        "ProcessBatch": { "type": "object", "properties": { "all": s("boolean"), "ids": { "type": "array", "items": s("integer") } } },
        "PushNotification": obj(json!({
            "Inserted": { "type": "array", "items": { "type": "object" } },
            "Deleted": { "type": "array", "items": { "type": "object" } },
            "Query": s("string"), "CompanyId": s("string"), "Id": s("string"), "TimeStamp": s("integer"),
        }), &["Query", "Id"]),
        "Webhook": obj(json!({
            "scope": s("string"), "store_id": s("string"), "hash": s("string"), "created_at": s("integer"),
            "producer": s("string"), "data": obj(json!({ "type": s("string"), "id": {} }), &["id"]),
        }), &["scope", "hash", "data"]),
        "ShopifyWebhook": obj(json!({
            "id": { "type": "integer", "description": "the resource's id (orders/*, customers/* topics)" },
            "admin_graphql_api_id": s("string"), "updated_at": s("string"),
        }), &["id"]),
        "IntakeReport": obj(json!({
            "stored": s("integer"), "duplicates": s("integer"), "ignored": { "type": "array", "items": s("string") },
        }), &["stored", "duplicates", "ignored"]),
    })
}

/// The document.
/// A parameter's schema, with the constraints the handlers check (so a request the document
/// allows is one kcf takes).
fn param_schema(path: &str, name: &str, kind: &str) -> Value {
    let connector = json!({ "type": "string", "pattern": "^[a-z0-9_-]{1,64}$", "description": "a connector id: 1 to 64 of a-z, 0-9, '-' and '_'" });
    match (name, kind) {
        ("connector", "string") => connector,
        ("id", "string") if path.starts_with("/api/v1/connectors/") => connector,
        ("entity", "string") => json!({ "$ref": "#/components/schemas/Entity" }),
        ("mode", "string") => {
            json!({ "type": "string", "enum": kcf_domain::Mode::all().iter().map(|m| m.as_str()).collect::<Vec<_>>() })
        }
        ("limit", "integer") => {
            json!({ "type": "integer", "minimum": 1, "maximum": kcf_store::MAX_PAGE })
        }
        (_, kind) => json!({ "type": kind }),
    }
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPS {
        let mut o = Map::new();
        o.insert("summary".into(), json!(op.summary));
        o.insert(
            "operationId".into(),
            json!(format!(
                "{}{}",
                op.method,
                op.path
                    .replace("/api/v1", "")
                    .split(['/', '{', '}', '.', '-'])
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let mut c = p.chars();
                        c.next()
                            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<String>()
            )),
        );
        if !op.params.is_empty() {
            o.insert(
                "parameters".into(),
                Value::Array(
                    op.params
                        .iter()
                        .map(|(name, place, kind)| {
                            json!({ "name": name, "in": place, "required": *place == "path", "schema": param_schema(op.path, name, kind) })
                        })
                        .collect(),
                ),
            );
        }
        if let Some(body) = op.body {
            // A trailing `?` marks an optional body.
            let (body, required) = match body.strip_suffix('?') {
                Some(b) => (b, false),
                None => (body, true),
            };
            o.insert(
                "requestBody".into(),
                json!({ "required": required, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{body}") } } } }),
            );
        }
        let content = if op.response == "Text" {
            json!({ "text/plain": { "schema": { "type": "string" } } })
        } else {
            json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{}", op.response) } } })
        };
        let error = json!({ "description": "What is wrong, in plain words", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({ "description": "OK", "content": content }),
        );
        let unsafe_method = matches!(op.method, "post" | "put" | "patch" | "delete");
        if !matches!(op.auth, Auth::None) {
            responses.insert("400".into(), error.clone());
            responses.insert("401".into(), error.clone());
            // kcf's database could not answer: try again.
            responses.insert("503".into(), error.clone());
        }
        if unsafe_method && matches!(op.auth, Auth::Bearer) {
            // A browser's cross-site write (Sec-Fetch-Site, Origin).
            responses.insert("403".into(), error.clone());
        }
        if op.path.contains('{') {
            responses.insert("404".into(), error.clone());
        }
        if op.body.is_some() {
            responses.insert("413".into(), error.clone());
        }
        // Operations that ask the ERP or the store, which may not answer.
        if ["/test", "/mappings", "/bindings/", "/realtime", "/batches"]
            .iter()
            .any(|p| op.path.contains(p))
            && !(op.method == "get" && op.path.contains("/batches/"))
        {
            responses.insert("502".into(), error.clone());
        }
        o.insert("responses".into(), Value::Object(responses));
        let security = match op.auth {
            Auth::Bearer => json!([{ "bearer": [] }]),
            Auth::PushHeader => json!([{ "pushHeader": [] }]),
            Auth::WebhookHeaderOrSignature => {
                json!([{ "webhookHeader": [] }, { "webhookSignature": [] }])
            }
            Auth::ShopifyHmac => json!([{ "shopifyHmac": [] }]),
            Auth::None => json!([]),
        };
        o.insert("security".into(), security);
        let entry = paths
            .entry(op.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(op.method.into(), Value::Object(o));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kcf",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "kcf's REST API (bearer tokens), notification receivers and operations endpoints. Errors are {\"error\": {\"code\", \"message\"}}."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "pushHeader": { "type": "apiKey", "in": "header", "name": "X-KCF-Push-Secret", "description": "the header name and value set on the Acumatica push destination (configurable per connector)" },
                "webhookHeader": { "type": "apiKey", "in": "header", "name": "X-KCF-Webhook-Secret", "description": "the custom header the hooks were registered with" },
                "webhookSignature": { "type": "apiKey", "in": "header", "name": "webhook-signature", "description": "Standard Webhooks: v1,base64(HMAC-SHA256(secret, id.timestamp.body)) with webhook-id and webhook-timestamp" },
                "shopifyHmac": { "type": "apiKey", "in": "header", "name": "X-Shopify-Hmac-Sha256", "description": "base64(HMAC-SHA256(the app's client secret, raw body)), with X-Shopify-Topic and X-Shopify-Webhook-Id" },
            },
        },
    })
}
