//! Acumatica's push notifications as kcf's ERP inbound: the destination's secret header
//! (SM302000 → Header Name / Header Value) checked on the raw request, then one change per
//! record, deduplicated on `Id:Query:record_key`.

use kcf_domain::Entity;
use kcf_platform::{Change, Headers, Inbound, IngressSecrets, Notification, header_matches};
use serde_json::Value;

use crate::notify;

/// The push-notification receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushReceiver;

impl Inbound for PushReceiver {
    fn verify(
        &self,
        connector: &str,
        secrets: &IngressSecrets,
        headers: Headers<'_>,
        _body: &[u8],
    ) -> Result<(), String> {
        if secrets.push_secret.is_empty() {
            return Err(format!(
                "connector {connector} has no push secret configured, so push notifications are \
                 refused"
            ));
        }
        if !header_matches(
            secrets.push_secret.expose(),
            headers(&secrets.push_header).as_deref(),
        ) {
            return Err(format!(
                "the {} header is missing or wrong",
                secrets.push_header
            ));
        }
        Ok(())
    }

    fn read(&self, _headers: Headers<'_>, body: &[u8]) -> Result<Notification, String> {
        let notification = notify::parse(body).map_err(|e| e.to_string())?;
        let changes = notification.changes().map_err(|e| e.to_string())?;
        Ok(Notification {
            changes: changes
                .into_iter()
                .map(|c| Change {
                    entity: c.entity,
                    description: describe(c.entity, &c.row, c.deleted),
                    key: c.record_key,
                    key_field: None,
                    dedup_key: c.dedup_key,
                    payload: c.row,
                })
                .collect(),
            ignored: Vec::new(),
            ambiguous: None,
        })
    }
}

/// A line for the message list, from the notification's row.
fn describe(entity: Entity, row: &Value, deleted: bool) -> String {
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
        Entity::TemplateItem => format!("{} {}", text("TemplateItemID"), text("Description")),
        Entity::Availability => format!(
            "{} in {}: {} available",
            text("InventoryID"),
            text("WarehouseID"),
            text("Available")
        ),
    };
    let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
    if deleted {
        format!("{}: deleted {what}", entity.label())
    } else {
        format!("{}: {what}", entity.label())
    }
}
