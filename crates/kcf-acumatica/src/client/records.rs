//! Reading records by key or by a unique field, and writing them (`PUT` upsert).

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{AcumaticaClient, Call, Precondition, query::quote};
use crate::{
    ErpEntity, Error,
    model::{
        Customer, ItemSalesCategory, QuantityAvailable, SalesOrder, Shipment, StockItem,
        TemplateItem, from_plain,
    },
    wire,
};

/// Whether a key value can travel as a URL path segment: Acumatica splits keys on `/` and
/// `|`, and dot segments would be resolved away.
fn path_safe(value: &str) -> bool {
    !value.is_empty()
        && value.trim() == value
        && !value.contains(['/', '|', '\\'])
        && value != "."
        && value != ".."
}

impl AcumaticaClient {
    /// A record by its key values (in the entity's key order), expanded as kcf reads it;
    /// `None` when there is none.
    async fn read(&self, entity: ErpEntity, keys: &[(&str, &str)]) -> Result<Option<Value>, Error> {
        if !keys.iter().all(|(_, v)| path_safe(v)) {
            let filter = keys
                .iter()
                .map(|(f, v)| format!("{f} eq {}", quote(v)))
                .collect::<Vec<_>>()
                .join(" and ");
            return self.first(entity, filter).await;
        }
        let mut segments = vec![entity.name()];
        segments.extend(keys.iter().map(|(_, v)| *v));
        let mut call = Call::get(self.entity_url(&segments)?);
        if !entity.expand().is_empty() {
            call = call.param("$expand", entity.expand().join(","));
        }
        let answer = self.execute(&call).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let answer = answer.check(entity.name())?;
        Ok(Some(wire::unwrap(&answer.json(entity.name())?)))
    }

    /// The first record (in key order) matching `filter`, expanded as kcf reads it.
    async fn first(&self, entity: ErpEntity, filter: String) -> Result<Option<Value>, Error> {
        let mut call = Call::get(self.entity_url(&[entity.name()])?)
            .param("$filter", filter)
            .param("$top", "1");
        if !entity.expand().is_empty() {
            call = call.param("$expand", entity.expand().join(","));
        }
        let answer = self.execute(&call).await?.check(entity.name())?;
        match answer.json(entity.name())? {
            Value::Array(rows) => Ok(rows.first().map(wire::unwrap)),
            _ => Err(Error::Decode(format!(
                "a list of {} records was expected",
                entity.name()
            ))),
        }
    }

    async fn read_as<T: DeserializeOwned>(
        &self,
        entity: ErpEntity,
        keys: &[(&str, &str)],
    ) -> Result<Option<T>, Error> {
        match self.read(entity, keys).await? {
            Some(record) => from_plain(entity.name(), &record).map(Some),
            None => Ok(None),
        }
    }

    async fn first_as<T: DeserializeOwned>(
        &self,
        entity: ErpEntity,
        filter: String,
    ) -> Result<Option<T>, Error> {
        match self.first(entity, filter).await? {
            Some(record) => from_plain(entity.name(), &record).map(Some),
            None => Ok(None),
        }
    }

    /// `PUT /{Entity}`: creates or updates the record `body` (plain JSON) names by its key
    /// fields or `id`; returns the saved record, plain, expanded as kcf reads it.
    async fn put(
        &self,
        entity: ErpEntity,
        body: &Value,
        precondition: Precondition,
    ) -> Result<Value, Error> {
        if !body.is_object() {
            return Err(Error::Invalid(format!(
                "a {} must be written from a JSON object",
                entity.name()
            )));
        }
        if let Some(key) = entity.record_key(body) {
            tracing::Span::current().record("key", key.as_str());
        }
        let wrapped = wire::wrap(body);
        let mut call = Call::with_body(Method::PUT, self.entity_url(&[entity.name()])?, &wrapped);
        call.precondition = precondition;
        if !entity.expand().is_empty() {
            call = call.param("$expand", entity.expand().join(","));
        }
        let answer = self.execute(&call).await?.check(entity.name())?;
        Ok(wire::unwrap(&answer.json(entity.name())?))
    }

    async fn put_as<T: DeserializeOwned>(
        &self,
        entity: ErpEntity,
        body: &Value,
        precondition: Precondition,
    ) -> Result<T, Error> {
        let saved = self.put(entity, body, precondition).await?;
        from_plain(entity.name(), &saved)
    }

    /// A stock item with its categories; `None` when there is none.
    #[tracing::instrument(skip_all, fields(entity = "StockItem", key = inventory_id), err)]
    pub async fn stock_item(&self, inventory_id: &str) -> Result<Option<StockItem>, Error> {
        self.read_as(ErpEntity::StockItem, &[("InventoryID", inventory_id)])
            .await
    }

    /// A template item with its categories and the attributes its matrix items differ by.
    #[tracing::instrument(skip_all, fields(entity = "TemplateItems", key = inventory_id), err)]
    pub async fn template_item(&self, inventory_id: &str) -> Result<Option<TemplateItem>, Error> {
        self.read_as(ErpEntity::TemplateItems, &[("InventoryID", inventory_id)])
            .await
    }

    /// The matrix items of template `template`, with their attribute values, in key order.
    #[tracing::instrument(skip_all, fields(entity = "StockItem", key = template), err)]
    pub async fn matrix_items(&self, template: &str) -> Result<Vec<StockItem>, Error> {
        let rows = self
            .all(
                ErpEntity::StockItem,
                format!("TemplateItemID eq {}", quote(template.trim())),
            )
            .await?;
        rows.iter()
            .map(|r| from_plain(ErpEntity::StockItem.name(), r))
            .collect()
    }

    /// An item's stock in each warehouse.
    #[tracing::instrument(skip_all, fields(entity = "InventoryQuantityAvailable", key = inventory_id), err)]
    pub async fn quantities_available(
        &self,
        inventory_id: &str,
    ) -> Result<Vec<QuantityAvailable>, Error> {
        let rows = self
            .all(
                ErpEntity::InventoryQuantityAvailable,
                format!("InventoryID eq {}", quote(inventory_id.trim())),
            )
            .await?;
        rows.iter()
            .map(|r| from_plain(ErpEntity::InventoryQuantityAvailable.name(), r))
            .collect()
    }

    /// Every record matching `filter`, expanded as kcf reads them, a page of 500 at a time.
    async fn all(&self, entity: ErpEntity, filter: String) -> Result<Vec<Value>, Error> {
        const PAGE: usize = 500;
        let mut out = Vec::new();
        loop {
            let mut call = Call::get(self.entity_url(&[entity.name()])?)
                .param("$filter", filter.clone())
                .param("$top", PAGE.to_string())
                .param("$skip", out.len().to_string());
            if !entity.expand().is_empty() {
                call = call.param("$expand", entity.expand().join(","));
            }
            let answer = self.execute(&call).await?.check(entity.name())?;
            let Value::Array(rows) = answer.json(entity.name())? else {
                return Err(Error::Decode(format!(
                    "a list of {} records was expected",
                    entity.name()
                )));
            };
            let n = rows.len();
            out.extend(rows.iter().map(wire::unwrap));
            if n < PAGE {
                return Ok(out);
            }
        }
    }

    /// A sales category by its number; `None` when there is none.
    #[tracing::instrument(skip_all, fields(entity = "ItemSalesCategory", key = id), err)]
    pub async fn item_sales_category(&self, id: &str) -> Result<Option<ItemSalesCategory>, Error> {
        if id.trim().parse::<i64>().is_err() {
            return Err(Error::Invalid(format!(
                "sales category ids are numbers; '{id}' is not one"
            )));
        }
        self.read_as(ErpEntity::ItemSalesCategory, &[("CategoryID", id.trim())])
            .await
    }

    /// A customer with its main contact and address; `None` when there is none.
    #[tracing::instrument(skip_all, fields(entity = "Customer", key = customer_id), err)]
    pub async fn customer(&self, customer_id: &str) -> Result<Option<Customer>, Error> {
        self.read_as(ErpEntity::Customer, &[("CustomerID", customer_id)])
            .await
    }

    /// The customer (lowest CustomerID) whose main contact has this e-mail (compared without
    /// regard to case, as Acumatica's database does).
    #[tracing::instrument(skip_all, fields(entity = "Customer", key = email), err)]
    pub async fn customer_by_email(&self, email: &str) -> Result<Option<Customer>, Error> {
        let filter = format!("MainContact/Email eq {}", quote(email.trim()));
        self.first_as(ErpEntity::Customer, filter).await
    }

    /// A sales order with its lines and shipments; `None` when there is none.
    #[tracing::instrument(skip_all, fields(entity = "SalesOrder", key = %format!("{order_type}/{order_nbr}")), err)]
    pub async fn sales_order(
        &self,
        order_type: &str,
        order_nbr: &str,
    ) -> Result<Option<SalesOrder>, Error> {
        self.read_as(
            ErpEntity::SalesOrder,
            &[("OrderType", order_type), ("OrderNbr", order_nbr)],
        )
        .await
    }

    /// The sales order whose `ExternalRef` is `external_ref` (the store's order id).
    #[tracing::instrument(skip_all, fields(entity = "SalesOrder", key = external_ref), err)]
    pub async fn sales_order_by_external_ref(
        &self,
        external_ref: &str,
    ) -> Result<Option<SalesOrder>, Error> {
        let filter = format!("ExternalRef eq {}", quote(external_ref));
        self.first_as(ErpEntity::SalesOrder, filter).await
    }

    /// A shipment with its lines, packages and orders; `None` when there is none.
    #[tracing::instrument(skip_all, fields(entity = "Shipment", key = shipment_nbr), err)]
    pub async fn shipment(&self, shipment_nbr: &str) -> Result<Option<Shipment>, Error> {
        self.read_as(ErpEntity::Shipment, &[("ShipmentNbr", shipment_nbr)])
            .await
    }

    /// Creates or updates a stock item from a plain body.
    #[tracing::instrument(skip_all, fields(entity = "StockItem", key = tracing::field::Empty), err)]
    pub async fn put_stock_item(&self, item: &Value) -> Result<StockItem, Error> {
        self.put_as(ErpEntity::StockItem, item, Precondition::None)
            .await
    }

    /// Creates or updates a sales category from a plain body (without `CategoryID`, Acumatica
    /// numbers a new one).
    #[tracing::instrument(skip_all, fields(entity = "ItemSalesCategory", key = tracing::field::Empty), err)]
    pub async fn put_item_sales_category(&self, c: &Value) -> Result<ItemSalesCategory, Error> {
        self.put_as(ErpEntity::ItemSalesCategory, c, Precondition::None)
            .await
    }

    /// Creates or updates a customer from a plain body (see [`crate::mapping::customer_body`]).
    #[tracing::instrument(skip_all, fields(entity = "Customer", key = tracing::field::Empty), err)]
    pub async fn put_customer(
        &self,
        body: &Value,
        precondition: Precondition,
    ) -> Result<Customer, Error> {
        self.put_as(ErpEntity::Customer, body, precondition).await
    }

    /// Creates or updates a sales order from a plain body (see
    /// [`crate::mapping::sales_order_body`]); without `OrderNbr`, Acumatica numbers a new one.
    #[tracing::instrument(skip_all, fields(entity = "SalesOrder", key = tracing::field::Empty), err)]
    pub async fn put_sales_order(
        &self,
        body: &Value,
        precondition: Precondition,
    ) -> Result<SalesOrder, Error> {
        self.put_as(ErpEntity::SalesOrder, body, precondition).await
    }

    /// Updates (or creates) a shipment from a plain body, e.g. to add packages.
    #[tracing::instrument(skip_all, fields(entity = "Shipment", key = tracing::field::Empty), err)]
    pub async fn put_shipment(&self, body: &Value) -> Result<Shipment, Error> {
        self.put_as(ErpEntity::Shipment, body, Precondition::None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_keys_go_through_a_filter() {
        assert!(path_safe("SKU-000001") && path_safe("A.B") && path_safe("ÆØÅ 1"));
        for bad in ["", "A/B", "A|B", "..", " A", "A\\B"] {
            assert!(!path_safe(bad), "{bad}");
        }
    }
}
