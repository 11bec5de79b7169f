//! Real-time intake: an authenticated notification becomes durable messages, one per affected
//! record, deduplicated on the sender's id. The caller answers 2xx only after this returns Ok,
//! which is after the commit.

use kcf_domain::{
    ConnectorId, ConnectorState, Direction, Enqueued, Entity, EntitySettings, MessageStatus, Mode,
    NewMessage, RecordKey,
};

use crate::Engine;

/// Re-checks one webhook without a `webhook-id` may add after messages that already ran.
const RECHECKS: usize = 3;

/// What a notification became.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IntakeReport {
    /// New messages stored.
    pub stored: usize,
    /// Records already stored under the same dedup key (a resend).
    pub duplicates: usize,
    /// Records not wanted, with why (entity inactive, real-time off, direction).
    pub ignored: Vec<String>,
}

/// Why a notification was refused. Nothing is stored.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No such connector.
    #[error("there is no connector '{0}'")]
    UnknownConnector(String),
    /// The secret header or signature did not match.
    #[error("{0}")]
    Unauthorized(String),
    /// The body is not a notification.
    #[error("{0}")]
    BadRequest(String),
    /// kcf's database could not store it; the sender should retry.
    #[error("kcf's database: {0}")]
    Store(#[from] kcf_store::StoreError),
}

/// Reads one request header (case-insensitive name).
pub type Headers<'a> = &'a (dyn Fn(&str) -> Option<Vec<u8>> + Sync);

impl Engine {
    fn intake_runtime(
        &self,
        connector: &str,
    ) -> Result<std::sync::Arc<crate::connector::ConnectorRuntime>, IntakeError> {
        ConnectorId::parse(connector)
            .ok()
            .and_then(|id| self.runtime(&id))
            .ok_or_else(|| IntakeError::UnknownConnector(connector.to_owned()))
    }

    /// An Acumatica push notification.
    pub async fn intake_push(
        &self,
        connector: &str,
        headers: Headers<'_>,
        body: &[u8],
    ) -> Result<IntakeReport, IntakeError> {
        let conn = self.intake_runtime(connector)?;
        let ingress = &conn.spec.ingress;
        if ingress.push_secret.is_empty() {
            return Err(IntakeError::Unauthorized(format!(
                "connector {connector} has no push secret configured, so push notifications are \
                 refused"
            )));
        }
        if !kcf_acumatica::notify::header_matches(
            ingress.push_secret.expose(),
            headers(&ingress.push_header).as_deref(),
        ) {
            return Err(IntakeError::Unauthorized(format!(
                "the {} header is missing or wrong",
                ingress.push_header
            )));
        }
        let notification = kcf_acumatica::notify::parse(body)
            .map_err(|e| IntakeError::BadRequest(e.to_string()))?;
        let changes = notification
            .changes()
            .map_err(|e| IntakeError::BadRequest(e.to_string()))?;
        let mut messages = Vec::new();
        let mut report = IntakeReport::default();
        let settings = self.settings(&conn.id).await?;
        for change in changes {
            let direction = Direction::ErpToStore;
            if let Some(why) = unwanted(&settings, &conn.id, change.entity, direction) {
                report
                    .ignored
                    .push(format!("{} {}: {why}", change.entity, change.record_key));
                continue;
            }
            let Ok(key) = RecordKey::parse(change.record_key.clone()) else {
                report.ignored.push(format!(
                    "{} '{}': not a usable key",
                    change.entity, change.record_key
                ));
                continue;
            };
            let description = describe(change.entity, &change.row, change.deleted);
            messages.push(
                NewMessage::new(
                    conn.id.clone(),
                    change.entity,
                    direction,
                    Mode::RealTime,
                    key,
                    "acumatica",
                )
                .with_dedup_key(change.dedup_key)
                .with_description(description)
                .with_payload(change.row),
            );
        }
        self.enqueue(messages, &mut report, "acumatica").await?;
        Ok(report)
    }

    /// A BigCommerce webhook.
    pub async fn intake_webhook(
        &self,
        connector: &str,
        headers: Headers<'_>,
        body: &[u8],
    ) -> Result<IntakeReport, IntakeError> {
        let conn = self.intake_runtime(connector)?;
        let ingress = &conn.spec.ingress;
        let mut checked = false;
        if !ingress.webhook_secret.is_empty() {
            if !kcf_bigcommerce::notify::header_matches(
                ingress.webhook_secret.expose(),
                headers(&ingress.webhook_header).as_deref(),
            ) {
                return Err(IntakeError::Unauthorized(format!(
                    "the {} header is missing or wrong",
                    ingress.webhook_header
                )));
            }
            checked = true;
        }
        if !ingress.signing_secret.is_empty() {
            let text = |name: &str| {
                headers(name)
                    .and_then(|v| String::from_utf8(v).ok())
                    .unwrap_or_default()
            };
            kcf_bigcommerce::notify::verify_signature(
                ingress.signing_secret.expose().as_bytes(),
                &text("webhook-id"),
                &text("webhook-timestamp"),
                body,
                &text("webhook-signature"),
                kcf_domain::Timestamp::now().0 / 1000,
                300,
            )
            .map_err(|e| IntakeError::Unauthorized(format!("webhook signature: {e}")))?;
            checked = true;
        }
        if !checked {
            return Err(IntakeError::Unauthorized(format!(
                "connector {connector} has neither a webhook secret nor a signing secret, so \
                 webhooks are refused"
            )));
        }
        let event = kcf_bigcommerce::notify::parse(body)
            .map_err(|e| IntakeError::BadRequest(e.to_string()))?;
        // The payload's hash covers scope, record and `created_at` in whole seconds: two
        // changes of one record within a second share it. The `webhook-id` (Standard
        // Webhooks) is the same for every retry and duplicate of one event and differs
        // between events, so with it the later change is not taken for a resend.
        let delivery = headers("webhook-id")
            .and_then(|v| String::from_utf8(v).ok())
            .map(|id| id.trim().chars().take(200).collect::<String>())
            .filter(|id| !id.is_empty());
        let dedup_key = match &delivery {
            Some(id) => format!("{}:{id}", event.hash),
            None => event.hash.clone(),
        };
        let mut report = IntakeReport::default();
        let Some(entity) = event.entity else {
            report
                .ignored
                .push(format!("scope {} is not synced", event.scope));
            return Ok(report);
        };
        let direction = Direction::StoreToErp;
        let settings = self.settings(&conn.id).await?;
        if let Some(why) = unwanted(&settings, &conn.id, entity, direction) {
            report
                .ignored
                .push(format!("{entity} {}: {why}", event.resource_id));
            return Ok(report);
        }
        let key = RecordKey::parse(event.resource_id.clone())
            .map_err(|e| IntakeError::BadRequest(format!("data.id: {e}")))?;
        let payload = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
        let message = NewMessage::new(
            conn.id.clone(),
            entity,
            direction,
            Mode::RealTime,
            key,
            "bigcommerce",
        )
        .with_dedup_key(dedup_key)
        .with_description(format!(
            "{} {} ({})",
            entity_label(entity),
            event.resource_id,
            event.scope
        ))
        .with_payload(payload);
        if delivery.is_some() {
            self.enqueue(vec![message], &mut report, "bigcommerce")
                .await?;
            return Ok(report);
        }
        // Without a webhook-id, a resend and a second change within the same second look the
        // same. A copy whose message has not run yet changes nothing (that run reads the record
        // as it is then). One whose message already ran, or is running, may carry a later
        // change: it becomes a re-check, keyed on the message it follows, so that the change
        // is not lost. A true resend then costs one read of the record.
        let mut message = message;
        for _ in 0..RECHECKS {
            let [enqueued] = self
                .enqueue(vec![message.clone()], &mut report, "bigcommerce")
                .await?[..]
            else {
                break;
            };
            if !enqueued.duplicate {
                break;
            }
            let still_to_run =
                self.store.message(enqueued.id).await?.is_none_or(|m| {
                    matches!(m.status, MessageStatus::Pending | MessageStatus::Failed)
                });
            if still_to_run {
                break;
            }
            message = message.with_dedup_key(format!("{}:after:{}", event.hash, enqueued.id.0));
        }
        Ok(report)
    }

    async fn settings(&self, id: &ConnectorId) -> Result<Vec<EntitySettings>, IntakeError> {
        let connector = self.store.connector(id).await?;
        if connector.is_some_and(|c| c.state == ConnectorState::Stopped) {
            return Ok(Vec::new());
        }
        Ok(self.store.entity_settings(id).await?)
    }

    async fn enqueue(
        &self,
        messages: Vec<NewMessage>,
        report: &mut IntakeReport,
        source: &'static str,
    ) -> Result<Vec<Enqueued>, IntakeError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let enqueued = self.store.enqueue_many(messages).await?;
        let duplicates = enqueued.iter().filter(|e| e.duplicate).count();
        let stored = enqueued.len() - duplicates;
        report.duplicates += duplicates;
        report.stored += stored;
        metrics::counter!("kcf_notifications_total", "source" => source, "result" => "stored")
            .increment(stored as u64);
        metrics::counter!("kcf_notifications_total", "source" => source, "result" => "duplicate")
            .increment(duplicates as u64);
        Ok(enqueued)
    }
}

/// Why a record should not become a message, if it should not.
fn unwanted(
    settings: &[EntitySettings],
    id: &ConnectorId,
    entity: Entity,
    direction: Direction,
) -> Option<String> {
    let Some(s) = settings.iter().find(|s| s.entity == entity) else {
        return Some(format!(
            "connector {id} is stopped or has no settings for {entity}"
        ));
    };
    if !s.active {
        Some(format!("{entity} sync is not active"))
    } else if !s.realtime {
        Some(format!(
            "real-time {entity} sync is off (batches still run)"
        ))
    } else if !s.direction.allows(direction) {
        Some(format!("{entity} syncs {} only", s.direction))
    } else {
        None
    }
}

fn entity_label(entity: Entity) -> &'static str {
    match entity {
        Entity::Product => "Product",
        Entity::Category => "Category",
        Entity::Customer => "Customer",
        Entity::Order => "Order",
        Entity::Shipment => "Shipment",
        Entity::OrderStatus => "Order status",
    }
}

/// A line for the message list, from the notification's row.
fn describe(entity: Entity, row: &serde_json::Value, deleted: bool) -> String {
    let text = |k: &str| {
        row.get(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    let what = match entity {
        Entity::Product => format!("{} {}", text("InventoryID"), text("Description")),
        Entity::Category => format!("{} {}", text("CategoryID"), text("Description")),
        Entity::Customer => format!("{} {}", text("CustomerID"), text("CustomerName")),
        Entity::OrderStatus | Entity::Order => {
            format!(
                "{} {} → {}",
                text("OrderNbr"),
                text("ExternalRef"),
                text("Status")
            )
        }
        Entity::Shipment => format!("{} {}", text("ShipmentNbr"), text("Status")),
    };
    let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
    if deleted {
        format!("{}: deleted {what}", entity_label(entity))
    } else {
        format!("{}: {what}", entity_label(entity))
    }
}
