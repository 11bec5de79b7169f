//! Acumatica as kcf's ERP: the [`kcf_platform::Erp`] port over [`AcumaticaClient`]. Every
//! Acumatica fact the engine must not know lives here: the `OrderType/OrderNbr` key, the
//! `{"value": …}` bodies (through [`crate::mapping`]), the 412 of a `PUT` with a precondition,
//! the entities a batch lists and the order statuses a mapping may use.

use std::sync::Arc;

use kcf_domain::{
    Entity, MappingKind, Platform, Timestamp,
    records::{
        CategoryRecord, CustomerRecord, OrderRecord, ProductRecord, ShipmentRecord, StockLevel,
        TemplateRecord,
    },
};
use kcf_platform::{
    Erp, ErpOrder, ErrorKind, Inbound, Listed, ListedPage, Outbox, PlatformError, Result,
    SessionKeeper, Window,
};
use serde_json::Value;

use crate::{
    AcumaticaClient, ChangedQuery, ErpEntity, ErpList, Error, Precondition, SalesOrder, mapping,
};

/// Records per listing page.
pub const PAGE: u32 = 500;

/// Acumatica's sales-order statuses (SO301000), the ERP side of an order-status mapping.
pub const ORDER_STATUSES: &[&str] = &[
    "Open",
    "Pending Approval",
    "On Hold",
    "Credit Hold",
    "Pending Processing",
    "Back Order",
    "Shipping",
    "Awaiting Payment",
    "Completed",
    "Invoiced",
    "Cancelled",
    "Expired",
];

/// The order type of a bare order number.
const DEFAULT_ORDER_TYPE: &str = "SO";

/// Acumatica behind the ERP port.
#[derive(Debug, Clone)]
pub struct AcumaticaErp {
    client: AcumaticaClient,
    inbound: crate::inbound::PushReceiver,
}

impl AcumaticaErp {
    /// The port over `client`.
    pub fn new(client: AcumaticaClient) -> Self {
        Self {
            client,
            inbound: crate::inbound::PushReceiver,
        }
    }

    /// The concrete client.
    pub fn client(&self) -> &AcumaticaClient {
        &self.client
    }
}

/// Sorts a client error by what the worker does about it.
pub fn kind_of(e: &Error) -> ErrorKind {
    match e {
        Error::Throttled { retry_after, .. } => ErrorKind::RateLimited {
            retry_after: *retry_after,
        },
        Error::Unauthorized(_) => ErrorKind::SignInRefused,
        Error::NotFound(_) => ErrorKind::NotFound,
        _ if e.status() == Some(412) => ErrorKind::Conflict,
        _ => ErrorKind::from_client(e.is_unavailable(), e.is_retriable(), e.retry_after()),
    }
}

impl From<Error> for PlatformError {
    fn from(e: Error) -> Self {
        PlatformError::new(Platform::Acumatica, kind_of(&e), e)
    }
}

/// Splits an order key (`OrderType/OrderNbr`, or a bare `OrderNbr` of type SO).
pub fn split_order_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or((DEFAULT_ORDER_TYPE, key))
}

/// The order key of a type and number.
pub fn order_key(order_type: &str, order_nbr: &str) -> String {
    format!("{order_type}/{order_nbr}")
}

fn erp_order(so: &SalesOrder) -> ErpOrder {
    let status = mapping::order_status(so);
    ErpOrder {
        key: order_key(&so.order_type, &so.order_nbr),
        external_ref: so.external_ref.clone(),
        cancelled: so.status == "Cancelled",
        completed: so.status == "Completed",
        partially_shipped: status.partially_shipped,
        status: status.status,
    }
}

fn note(out: &dyn Outbox, target: String, body: &Value) {
    out.sending(None, target, body.clone());
}

/// The ERP entity a kcf entity is listed from.
fn listed_entity(entity: Entity) -> Option<ErpEntity> {
    Some(match entity {
        Entity::Product => ErpEntity::StockItem,
        Entity::Category => ErpEntity::ItemSalesCategory,
        Entity::Customer => ErpEntity::Customer,
        Entity::Shipment => ErpEntity::Shipment,
        Entity::TemplateItem => ErpEntity::TemplateItems,
        Entity::Availability => ErpEntity::InventoryQuantityAvailable,
        Entity::Order | Entity::OrderStatus => return None,
    })
}

#[async_trait::async_trait]
impl Erp for AcumaticaErp {
    fn platform(&self) -> Platform {
        Platform::Acumatica
    }

    fn inbound(&self) -> Option<&dyn Inbound> {
        Some(&self.inbound)
    }

    fn keep_session_in(&self, keeper: Arc<dyn SessionKeeper>) {
        self.client.keep_session_in(keeper);
    }

    fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    async fn test_connection(&self) -> Result<()> {
        Ok(self.client.test_connection().await?)
    }

    async fn sign_out(&self) {
        let _ = self.client.logout().await;
    }

    async fn product(&self, key: &str) -> Result<Option<ProductRecord>> {
        Ok(self
            .client
            .stock_item(key)
            .await?
            .map(|i| mapping::product(&i)))
    }

    async fn template(&self, key: &str) -> Result<Option<TemplateRecord>> {
        let Some(template) = self.client.template_item(key).await? else {
            return Ok(None);
        };
        let children = self.client.matrix_items(&template.inventory_id).await?;
        Ok(Some(mapping::template(&template, &children)))
    }

    async fn stock(&self, key: &str) -> Result<Vec<StockLevel>> {
        Ok(self
            .client
            .quantities_available(key)
            .await?
            .iter()
            .map(mapping::stock_level)
            .collect())
    }

    async fn category(&self, key: &str) -> Result<Option<CategoryRecord>> {
        Ok(self
            .client
            .item_sales_category(key)
            .await?
            .map(|c| mapping::category(&c)))
    }

    async fn customer(&self, key: &str) -> Result<Option<CustomerRecord>> {
        Ok(self
            .client
            .customer(key)
            .await?
            .map(|c| mapping::customer(&c)))
    }

    async fn customer_by_email(&self, email: &str) -> Result<Option<String>> {
        Ok(self
            .client
            .customer_by_email(email)
            .await?
            .map(|c| c.customer_id))
    }

    fn new_customer_keys(&self, record: &CustomerRecord) -> Vec<String> {
        let base = mapping::new_customer_id(record);
        (0..5)
            .map(|n| mapping::customer_id_with_suffix(&base, n))
            .collect()
    }

    async fn update_customer(
        &self,
        key: &str,
        record: &CustomerRecord,
        class: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<()> {
        let body = mapping::customer_body(key, record, class);
        note(out, format!("Acumatica Customer {key} (update)"), &body);
        match self
            .client
            .put_customer(&body, Precondition::MustExist)
            .await
        {
            Ok(_) => Ok(()),
            // "Must exist" failed: it is gone.
            Err(e) if e.status() == Some(412) => Err(PlatformError::new(
                Platform::Acumatica,
                ErrorKind::NotFound,
                e,
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn create_customer(
        &self,
        key: &str,
        record: &CustomerRecord,
        class: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<()> {
        let body = mapping::customer_body(key, record, class);
        note(out, format!("Acumatica Customer {key} (create)"), &body);
        self.client
            .put_customer(&body, Precondition::MustNotExist)
            .await?;
        Ok(())
    }

    fn order_key(&self, key: &str) -> String {
        let (order_type, nbr) = split_order_key(key);
        order_key(order_type, nbr)
    }

    async fn order(&self, key: &str) -> Result<Option<ErpOrder>> {
        let (order_type, nbr) = split_order_key(key);
        Ok(self
            .client
            .sales_order(order_type, nbr)
            .await?
            .map(|so| erp_order(&so)))
    }

    async fn order_by_external_ref(&self, external: &str) -> Result<Option<ErpOrder>> {
        Ok(self
            .client
            .sales_order_by_external_ref(external)
            .await?
            .map(|so| erp_order(&so)))
    }

    async fn create_order(
        &self,
        record: &OrderRecord,
        customer: &str,
        payment: Option<&str>,
        ship_via: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<String> {
        let body = mapping::sales_order_body(record, customer, payment, ship_via);
        note(out, "Acumatica SalesOrder (create)".into(), &body);
        let created = self
            .client
            .put_sales_order(&body, Precondition::None)
            .await?;
        Ok(order_key(&created.order_type, &created.order_nbr))
    }

    async fn cancel_order(&self, key: &str, out: &dyn Outbox) -> Result<()> {
        let (order_type, nbr) = split_order_key(key);
        note(
            out,
            format!("Acumatica SalesOrder {key} (action CancelSalesOrder)"),
            &serde_json::json!({ "entity": { "OrderType": { "value": order_type }, "OrderNbr": { "value": nbr } } }),
        );
        Ok(self.client.cancel_sales_order(order_type, nbr).await?)
    }

    async fn shipment(&self, key: &str) -> Result<Option<ShipmentRecord>> {
        Ok(self
            .client
            .shipment(key)
            .await?
            .map(|s| mapping::shipment(&s)))
    }

    async fn changed(
        &self,
        entity: Entity,
        window: &Window,
        after: Option<&str>,
    ) -> Result<ListedPage> {
        let Some(erp_entity) = listed_entity(entity) else {
            return Err(PlatformError::record(
                Platform::Acumatica,
                format!("{entity} has no batch process"),
            ));
        };
        let query = ChangedQuery {
            from: window.from,
            to: Some(window.to),
            after_key: after.map(str::to_owned),
            top: PAGE,
            select: None,
        };
        let rows =
            self.client.changed(erp_entity, &query).await.map_err(|e| {
                PlatformError::from(e).doing(format!("listing {}", erp_entity.name()))
            })?;
        let next = if rows.len() as u32 >= PAGE {
            rows.last().and_then(|r| erp_entity.key_of(r))
        } else {
            None
        };
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(key) = erp_entity.record_key(&row) else {
                continue;
            };
            let modified = row
                .get(erp_entity.modified_field())
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                .map(|t| Timestamp(t.as_millisecond()));
            let text = |k: &str| {
                row.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            // Stock comes a row per warehouse; the item is the record, its row the sum.
            if entity == Entity::Availability
                && let Some(last) = records.last_mut().filter(|l: &&mut Listed| l.key == key)
            {
                merge_stock_row(&mut last.payload, &row);
                last.modified = last.modified.max(modified);
                continue;
            }
            let description = match entity {
                Entity::Product | Entity::Category | Entity::TemplateItem => {
                    format!("{key} {}", text("Description"))
                }
                Entity::Availability => format!("{key} stock"),
                Entity::Customer => format!("{key} {}", text("CustomerName")),
                _ => format!("{key} {}", text("Status")),
            };
            records.push(Listed {
                key,
                description: description.trim().to_owned(),
                payload: row,
                modified,
            });
        }
        Ok(ListedPage { records, next })
    }

    async fn exists(&self, entity: Entity, key: &str) -> Result<bool> {
        let c = &self.client;
        Ok(match entity {
            Entity::Product => c.stock_item(key).await?.is_some(),
            Entity::Category => c.item_sales_category(key).await?.is_some(),
            Entity::Customer => c.customer(key).await?.is_some(),
            Entity::Order | Entity::OrderStatus => {
                let Some((order_type, nbr)) = key.split_once('/') else {
                    return Ok(false);
                };
                c.sales_order(order_type, nbr).await?.is_some()
            }
            Entity::Shipment => c.shipment(key).await?.is_some(),
            Entity::TemplateItem => c.template_item(key).await?.is_some(),
            Entity::Availability => c.stock_item(key).await?.is_some(),
        })
    }

    async fn choices(&self, kind: MappingKind) -> Result<Vec<(String, String)>> {
        let list = match kind {
            MappingKind::OrderStatus => {
                return Ok(ORDER_STATUSES
                    .iter()
                    .map(|s| ((*s).to_owned(), (*s).to_owned()))
                    .collect());
            }
            MappingKind::CustomerClass => ErpList::CustomerClasses,
            MappingKind::PaymentMethod => ErpList::PaymentMethods,
            MappingKind::ShipVia => ErpList::ShipVias,
            MappingKind::Warehouse => ErpList::Warehouses,
        };
        Ok(self.client.values(list).await?)
    }
}

/// The batch grid's columns of the records this ERP lists for `entity` (field, heading).
pub fn columns(entity: Entity) -> &'static [(&'static str, &'static str)] {
    match entity {
        Entity::Product => &[
            ("InventoryID", "InventoryID"),
            ("Description", "Description"),
            ("ItemType", "Type"),
            ("ItemClass", "Item Class"),
            ("PostingClass", "Posting Class"),
            ("TaxCategory", "Tax Category"),
            ("BaseUOM", "Base Unit"),
            ("DefaultPrice", "Default Price"),
            ("ItemStatus", "Item Status"),
            ("LastModifiedDateTime", "Last Modified On"),
        ],
        Entity::Category => &[
            ("CategoryID", "Category ID"),
            ("Description", "Description"),
            ("ParentCategoryID", "Parent"),
            ("LastModifiedDateTime", "Last Modified On"),
        ],
        Entity::Customer => &[
            ("CustomerID", "Customer ID"),
            ("CustomerName", "Customer Name"),
            ("CustomerClass", "Customer Class"),
            ("Status", "Status"),
            ("LastModifiedDateTime", "Last Modified On"),
        ],
        Entity::TemplateItem => &[
            ("InventoryID", "Template ID"),
            ("Description", "Description"),
            ("ItemClass", "Item Class"),
            ("DefaultPrice", "Default Price"),
            ("MSRP", "MSRP"),
            ("ItemStatus", "Item Status"),
            ("LastModifiedDateTime", "Last Modified On"),
        ],
        Entity::Availability => &[
            ("InventoryID", "InventoryID"),
            ("WarehouseID", "Warehouse"),
            ("OnHand", "On Hand"),
            ("Allocated", "Allocated"),
            ("Available", "Available"),
            ("LastModifiedDateTime", "Last Modified On"),
        ],
        Entity::Shipment => &[
            ("ShipmentNbr", "Shipment Nbr"),
            ("Status", "Status"),
            ("CustomerID", "Customer"),
            ("ShipmentDate", "Shipment Date"),
            ("LastModifiedDateTime", "Last Modified On"),
        ],
        _ => &[],
    }
}

/// Adds another warehouse's stock row of the same item to `into`: the warehouses listed, the
/// quantities summed, the latest change kept.
fn merge_stock_row(into: &mut Value, row: &Value) {
    let Some(into) = into.as_object_mut() else {
        return;
    };
    for field in ["OnHand", "Allocated", "Available"] {
        let sum = into.get(field).and_then(Value::as_f64).unwrap_or(0.0)
            + row.get(field).and_then(Value::as_f64).unwrap_or(0.0);
        into.insert(field.to_owned(), Value::from(sum));
    }
    if let Some(w) = row.get("WarehouseID").and_then(Value::as_str) {
        let listed = into
            .get("WarehouseID")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let joined = if listed.is_empty() {
            w.to_owned()
        } else {
            format!("{listed}, {w}")
        };
        into.insert("WarehouseID".to_owned(), Value::from(joined));
    }
    let later = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    if let (Some(a), Some(b)) = (
        later(into.get("LastModifiedDateTime")),
        later(row.get("LastModifiedDateTime")),
    ) && b > a
    {
        into.insert("LastModifiedDateTime".to_owned(), Value::from(b));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_items_stock_rows_add_up_to_one_listed_row() {
        let mut row = serde_json::json!({ "InventoryID": "A", "WarehouseID": "MAIN", "OnHand": 5.0,
            "Allocated": 1.0, "Available": 4.0, "LastModifiedDateTime": "2026-01-01T00:00:00Z" });
        merge_stock_row(
            &mut row,
            &serde_json::json!({ "InventoryID": "A", "WarehouseID": "RETAIL", "OnHand": 2.0,
                "Allocated": 0.0, "Available": 2.0, "LastModifiedDateTime": "2026-02-01T00:00:00Z" }),
        );
        assert_eq!(row["WarehouseID"], "MAIN, RETAIL");
        assert_eq!(row["OnHand"], 7.0);
        assert_eq!(row["Allocated"], 1.0);
        assert_eq!(row["Available"], 6.0);
        assert_eq!(row["LastModifiedDateTime"], "2026-02-01T00:00:00Z");
    }

    #[test]
    fn client_errors_sort_into_what_the_worker_does() {
        let http = |status| Error::Http {
            status,
            message: "x".into(),
        };
        let throttled = Error::Throttled {
            retry_after: Some(Duration::from_secs(3)),
            message: "API Login Limit".into(),
        };
        assert_eq!(
            kind_of(&throttled),
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            kind_of(&Error::Unauthorized("no".into())),
            ErrorKind::SignInRefused
        );
        assert_eq!(kind_of(&Error::NotFound("x".into())), ErrorKind::NotFound);
        assert_eq!(kind_of(&http(412)), ErrorKind::Conflict);
        assert!(matches!(kind_of(&http(502)), ErrorKind::Unavailable { .. }));
        assert_eq!(kind_of(&http(422)), ErrorKind::Invalid);
        // The words keep the client's, after the platform's name.
        let e = PlatformError::from(Error::NotFound("SO/000001".into()));
        assert_eq!(
            e.words(),
            format!("Acumatica: {}", Error::NotFound("SO/000001".into()))
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn order_keys_are_type_and_number() {
        assert_eq!(split_order_key("SO/000123"), ("SO", "000123"));
        assert_eq!(split_order_key("000123"), ("SO", "000123"));
        assert_eq!(order_key("IN", "7"), "IN/7");
        assert!(!columns(Entity::Product).is_empty());
        assert!(columns(Entity::Order).is_empty());
    }
}
