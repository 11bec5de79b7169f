//! `/v3/customers`: list, look up by id or e-mail, create, update.

use kcf_domain::Timestamp;
use reqwest::Method;

use super::{BigCommerceClient, MAX_PAGE_SIZE, Paged, joined, page_params, with_id};
use crate::{
    error::Error,
    model::{Customer, CustomerInput, format_date},
};

/// Which customers to list. Empty lists and `None` do not filter.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerQuery {
    /// Only these ids.
    pub ids: Vec<u64>,
    /// Only these e-mails.
    pub emails: Vec<String>,
    /// Modified at or after.
    pub modified_min: Option<Timestamp>,
    /// Modified at or before.
    pub modified_max: Option<Timestamp>,
    /// The page, from 1.
    pub page: u32,
    /// Per page, at most 250.
    pub limit: u32,
}

impl Default for CustomerQuery {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            emails: Vec::new(),
            modified_min: None,
            modified_max: None,
            page: 1,
            limit: MAX_PAGE_SIZE,
        }
    }
}

impl CustomerQuery {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.ids.is_empty() {
            q.push(("id:in", joined(&self.ids)));
        }
        if !self.emails.is_empty() {
            q.push(("email:in", self.emails.join(",")));
        }
        if let Some(t) = self.modified_min {
            q.push(("date_modified:min", format_date(t)));
        }
        if let Some(t) = self.modified_max {
            q.push(("date_modified:max", format_date(t)));
        }
        if self.modified_min.is_some() || self.modified_max.is_some() {
            // Pages stay stable while a window is walked.
            q.push(("sort", "date_modified:asc".to_owned()));
        }
        page_params(&mut q, self.page, self.limit);
        q
    }
}

const PATH: &str = "/v3/customers";

impl BigCommerceClient {
    /// One page of customers.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, page = q.page), err(level = "warn"))]
    pub async fn customers(&self, q: &CustomerQuery) -> Result<Paged<Customer>, Error> {
        self.get_page(PATH, &q.params(), "customer", "reading customers")
            .await
    }

    /// The customer with this e-mail, if any (BigCommerce compares e-mails without case).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn customer_by_email(&self, email: &str) -> Result<Option<Customer>, Error> {
        let q = CustomerQuery {
            emails: vec![email.to_owned()],
            limit: 5,
            ..CustomerQuery::default()
        };
        let page = self
            .get_page::<Customer>(
                PATH,
                &q.params(),
                "customer",
                "looking a customer up by e-mail",
            )
            .await?;
        Ok(page
            .items
            .into_iter()
            .find(|c| c.email.eq_ignore_ascii_case(email)))
    }

    /// The customer with this id, if any.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn customer(&self, id: u64) -> Result<Option<Customer>, Error> {
        let q = CustomerQuery {
            ids: vec![id],
            limit: 1,
            ..CustomerQuery::default()
        };
        let page = self
            .get_page::<Customer>(PATH, &q.params(), "customer", "reading a customer")
            .await?;
        Ok(page.items.into_iter().find(|c| c.id == id))
    }

    /// Creates a customer (e-mail, first and last name are required). A taken e-mail is a
    /// [`Error::Conflict`].
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn create_customer(&self, c: &CustomerInput) -> Result<Customer, Error> {
        self.batch_of_one(Method::POST, PATH, c, "customer", "creating a customer")
            .await
    }

    /// Changes customer `id`.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn update_customer(&self, id: u64, c: &CustomerInput) -> Result<Customer, Error> {
        let item = with_id("id", id, c)?;
        self.batch_of_one(Method::PUT, PATH, &item, "customer", "updating a customer")
            .await
    }
}
