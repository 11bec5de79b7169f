//! v2 orders: list, read, lines, shipping addresses, status, shipments.

use kcf_domain::Timestamp;
use reqwest::Method;
use serde_json::json;

use super::{BigCommerceClient, MAX_PAGE_SIZE, page_params};
use crate::{
    error::Error,
    model::{Order, OrderAddress, OrderProduct, Shipment, ShipmentInput, format_date},
};

/// Which orders to list. `None` does not filter.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderQuery {
    /// Modified at or after.
    pub min_date_modified: Option<Timestamp>,
    /// Modified at or before.
    pub max_date_modified: Option<Timestamp>,
    /// Only this status.
    pub status_id: Option<i64>,
    /// Only this customer.
    pub customer_id: Option<u64>,
    /// Ids from this one up (how a long listing resumes after a checkpoint).
    pub min_id: Option<u64>,
    /// Ids up to this one.
    pub max_id: Option<u64>,
    /// The page, from 1.
    pub page: u32,
    /// Per page, at most 250.
    pub limit: u32,
    /// The order of the list: `id:asc` (BigCommerce's default when `None`),
    /// `date_modified:asc`, `date_modified:desc`, `date_created:asc`…
    pub sort: Option<String>,
}

impl Default for OrderQuery {
    fn default() -> Self {
        Self {
            min_date_modified: None,
            max_date_modified: None,
            status_id: None,
            customer_id: None,
            min_id: None,
            max_id: None,
            page: 1,
            limit: MAX_PAGE_SIZE,
            sort: None,
        }
    }
}

impl OrderQuery {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        // v2 takes ISO 8601 as well as RFC 2822 here.
        if let Some(t) = self.min_date_modified {
            q.push(("min_date_modified", format_date(t)));
        }
        if let Some(t) = self.max_date_modified {
            q.push(("max_date_modified", format_date(t)));
        }
        if let Some(s) = self.status_id {
            q.push(("status_id", s.to_string()));
        }
        if let Some(c) = self.customer_id {
            q.push(("customer_id", c.to_string()));
        }
        if let Some(id) = self.min_id {
            q.push(("min_id", id.to_string()));
        }
        if let Some(id) = self.max_id {
            q.push(("max_id", id.to_string()));
        }
        if let Some(sort) = &self.sort {
            q.push(("sort", sort.clone()));
        }
        page_params(&mut q, self.page, self.limit);
        q
    }
}

impl BigCommerceClient {
    /// One page of orders (an empty list when there are none: v2 answers 204).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, page = q.page), err(level = "warn"))]
    pub async fn orders(&self, q: &OrderQuery) -> Result<Vec<Order>, Error> {
        self.get_v2_list("/v2/orders", &q.params(), "order", "reading orders")
            .await
    }

    /// The order with this id, if any.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn order(&self, id: u64) -> Result<Option<Order>, Error> {
        let action = "reading an order";
        match self
            .send::<()>(
                Method::GET,
                &format!("/v2/orders/{id}"),
                &[],
                None,
                "order",
                action,
            )
            .await
        {
            Ok(answer) => Ok(Some(Self::decode(&answer, action)?)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The order's lines.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn order_products(&self, id: u64) -> Result<Vec<OrderProduct>, Error> {
        self.get_v2_all(
            &format!("/v2/orders/{id}/products"),
            "order",
            "reading an order's lines",
        )
        .await
    }

    /// The order's shipping addresses.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn order_shipping_addresses(&self, id: u64) -> Result<Vec<OrderAddress>, Error> {
        self.get_v2_all(
            &format!("/v2/orders/{id}/shipping_addresses"),
            "order",
            "reading an order's shipping addresses",
        )
        .await
    }

    /// Creates an order from a v2 body (`billing_address`, `products`…): for tests and demos.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn create_order(&self, body: &serde_json::Value) -> Result<Order, Error> {
        let action = "creating an order";
        let answer = self
            .send(Method::POST, "/v2/orders", &[], Some(body), "order", action)
            .await?;
        Self::decode(&answer, action)
    }

    /// Sets the order's status (0–14; see `GET /v2/order_statuses`).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id, status_id), err(level = "warn"))]
    pub async fn update_order_status(&self, id: u64, status_id: i64) -> Result<Order, Error> {
        let action = "changing an order's status";
        let answer = self
            .send(
                Method::PUT,
                &format!("/v2/orders/{id}"),
                &[],
                Some(&json!({ "status_id": status_id })),
                "order",
                action,
            )
            .await?;
        Self::decode(&answer, action)
    }

    /// The order's shipments.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, order_id), err(level = "warn"))]
    pub async fn shipments(&self, order_id: u64) -> Result<Vec<Shipment>, Error> {
        self.get_v2_all(
            &format!("/v2/orders/{order_id}/shipments"),
            "shipment",
            "reading an order's shipments",
        )
        .await
    }

    /// Ships lines of the order (BigCommerce then marks it Shipped or Partially Shipped).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, order_id), err(level = "warn"))]
    pub async fn create_shipment(
        &self,
        order_id: u64,
        s: &ShipmentInput,
    ) -> Result<Shipment, Error> {
        let action = "creating a shipment";
        let answer = self
            .send(
                Method::POST,
                &format!("/v2/orders/{order_id}/shipments"),
                &[],
                Some(s),
                "shipment",
                action,
            )
            .await?;
        Self::decode(&answer, action)
    }
}
