//! Push notifications: destinations (an address and one header name/value), one built-in
//! query per entity, and a notification for every change in Acumatica's format — `Inserted`
//! and `Deleted` rows of flat columns (an update is both), `Query`, `CompanyId`, `Id`,
//! `TimeStamp` — delivered asynchronously and resent on an error reply, at most 5 attempts.
//! Destinations are set through `PUT /_sandbox/push/destinations` (Acumatica's SM302000 has no
//! REST API); `GET /_sandbox/push` lists every delivery attempt.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, body::Bytes, extract::State, http::StatusCode, response::IntoResponse, response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::control::Control;

/// At most this many attempts per notification (Acumatica's limit).
pub const MAX_ATTEMPTS: usize = 5;

/// Where notifications go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// Its name.
    pub name: String,
    /// The webhook URL.
    pub address: String,
    /// The one custom header Acumatica sends (the receiver's only authentication).
    #[serde(default)]
    pub header_name: Option<String>,
    /// Its value.
    #[serde(default)]
    pub header_value: Option<String>,
    /// Which queries it receives (all when empty).
    #[serde(default)]
    pub queries: Vec<String>,
    /// Whether it receives anything.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The built-in query of each entity: its name and the columns its rows carry.
pub fn query_of(entity: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match entity {
        "StockItem" => (
            "Stock Items: Last Modified Date",
            &[
                "InventoryID",
                "Description",
                "ItemStatus",
                "DefaultPrice",
                "TemplateItemID",
            ],
        ),
        // The template's key travels as `TemplateItemID`, which tells its rows from a
        // stock item's.
        "TemplateItems" => (
            "Template Items",
            &[
                "TemplateItemID",
                "Description",
                "ItemStatus",
                "DefaultPrice",
            ],
        ),
        "InventoryQuantityAvailable" => (
            "Inventory Quantity Available",
            &[
                "InventoryID",
                "WarehouseID",
                "OnHand",
                "Allocated",
                "Available",
            ],
        ),
        "ItemSalesCategory" => (
            "Item Sales Categories",
            &["CategoryID", "ParentCategoryID", "Description"],
        ),
        "Customer" => (
            "Customers",
            &["CustomerID", "CustomerName", "Email", "Status"],
        ),
        "SalesOrder" => (
            "Sales Orders",
            &[
                "OrderType",
                "OrderNbr",
                "Status",
                "CustomerID",
                "ExternalRef",
            ],
        ),
        "Shipment" => ("Shipments", &["ShipmentNbr", "Status", "CustomerID"]),
        _ => return None,
    })
}

/// A flat row of the entity's query for `record`.
pub fn row(entity: &str, record: &Map<String, Value>) -> Value {
    let Some((_, columns)) = query_of(entity) else {
        return Value::Null;
    };
    let mut out = Map::new();
    for c in columns {
        let field = match (entity, *c) {
            ("TemplateItems", "TemplateItemID") => "InventoryID",
            (_, c) => c,
        };
        out.insert(
            (*c).into(),
            record.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    out.insert(
        "lastModifiedDateTime".into(),
        record
            .get("LastModifiedDateTime")
            .cloned()
            .unwrap_or(Value::Null),
    );
    Value::Object(out)
}

/// A change to announce.
#[derive(Debug)]
pub struct Change {
    /// The entity.
    pub entity: &'static str,
    /// The row before (none for an insert).
    pub old: Option<Value>,
    /// The row after (none for a delete).
    pub new: Option<Value>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The destination's name.
    pub destination: String,
    /// The query.
    pub query: String,
    /// The notification's `Id`.
    pub id: String,
    /// Attempt number (1-based).
    pub attempt: usize,
    /// The receiver's status (0 when unreachable).
    pub status: u16,
}

/// Push notification state: destinations and the delivery ledger.
#[derive(Debug, Default)]
pub struct Push {
    destinations: Mutex<Vec<Destination>>,
    deliveries: Mutex<Vec<Delivery>>,
}

impl Push {
    fn destinations(&self) -> Vec<Destination> {
        self.destinations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// `PUT /_sandbox/push/destinations`.
pub async fn put_destinations(State(push): State<Arc<Push>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Vec<Destination>>(&body) {
        Ok(list) => {
            *push.destinations.lock().unwrap_or_else(|p| p.into_inner()) = list.clone();
            Json(list).into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `GET /_sandbox/push/destinations`.
pub async fn get_destinations(State(push): State<Arc<Push>>) -> Json<Vec<Destination>> {
    Json(push.destinations())
}

/// `GET /_sandbox/push`: every delivery attempt.
pub async fn deliveries(State(push): State<Arc<Push>>) -> Json<Vec<Delivery>> {
    Json(
        push.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    )
}

/// Turns changes into notifications for every destination that wants their query.
pub async fn dispatch(
    push: Arc<Push>,
    control: Arc<Control>,
    tenant: String,
    retry_delay: Duration,
    mut changes: mpsc::UnboundedReceiver<Change>,
) {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return;
    };
    // Acumatica's TimeStamp: a rising 64-bit number (here, 100 ns ticks like .NET's).
    let mut stamp: i64 = jiff::Timestamp::now().as_microsecond() * 10;
    while let Some(change) = changes.recv().await {
        let Some((query, _)) = query_of(change.entity) else {
            continue;
        };
        stamp += 1;
        let body = json!({
            "Inserted": change.new.into_iter().collect::<Vec<_>>(),
            "Deleted": change.old.into_iter().collect::<Vec<_>>(),
            "Query": query,
            "CompanyId": tenant,
            "Id": super::new_guid(),
            "TimeStamp": stamp,
            "AdditionalInfo": {},
        });
        for d in push.destinations() {
            if !d.active || !(d.queries.is_empty() || d.queries.iter().any(|q| q == query)) {
                continue;
            }
            if control.drop_notification() {
                control.notification("dropped");
                continue;
            }
            let copies = if control.duplicate_notification() {
                2
            } else {
                1
            };
            for _ in 0..copies {
                tokio::spawn(deliver(
                    push.clone(),
                    control.clone(),
                    http.clone(),
                    d.clone(),
                    body.clone(),
                    retry_delay,
                ));
            }
        }
    }
}

async fn deliver(
    push: Arc<Push>,
    control: Arc<Control>,
    http: reqwest::Client,
    d: Destination,
    body: Value,
    delay: Duration,
) {
    let id = body["Id"].as_str().unwrap_or("").to_owned();
    let query = body["Query"].as_str().unwrap_or("").to_owned();
    for attempt in 1..=MAX_ATTEMPTS {
        let mut request = http.post(&d.address).json(&body);
        if let (Some(name), Some(value)) = (&d.header_name, &d.header_value) {
            request = request.header(name.as_str(), value.as_str());
        }
        let status = request
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        push.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Delivery {
                destination: d.name.clone(),
                query: query.clone(),
                id: id.clone(),
                attempt,
                status,
            });
        if (200..300).contains(&status) {
            control.notification("delivered");
            return;
        }
        control.notification("failed");
        tokio::time::sleep(delay * attempt as u32).await;
    }
    control.notification("abandoned");
}
