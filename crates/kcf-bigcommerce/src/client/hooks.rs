//! `/v3/hooks`: webhook registrations, and keeping kcf's set of them in place.

use std::collections::BTreeMap;

use reqwest::Method;

use super::{BigCommerceClient, MAX_PAGE_SIZE, Paged, page_params};
use crate::{
    error::Error,
    model::{Hook, HookInput},
};

const PATH: &str = "/v3/hooks";

impl BigCommerceClient {
    /// Every webhook this API account registered (BigCommerce shows no one else's).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn hooks(&self) -> Result<Vec<Hook>, Error> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let mut q = Vec::new();
            page_params(&mut q, page, MAX_PAGE_SIZE);
            let got: Paged<Hook> = self
                .get_page(PATH, &q, "webhook", "reading webhooks")
                .await?;
            let more = got.has_more() && !got.items.is_empty();
            all.extend(got.items);
            if !more {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// Registers a webhook.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, scope = %h.scope), err(level = "warn"))]
    pub async fn create_hook(&self, h: &HookInput) -> Result<Hook, Error> {
        let action = "registering a webhook";
        let answer = self
            .send(Method::POST, PATH, &[], Some(h), "webhook", action)
            .await?;
        Ok(Self::decode::<super::Envelope<Hook>>(&answer, action)?.data)
    }

    /// Changes a webhook (also how a deactivated one is switched back on).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id, scope = %h.scope), err(level = "warn"))]
    pub async fn update_hook(&self, id: u64, h: &HookInput) -> Result<Hook, Error> {
        let action = "changing a webhook";
        let answer = self
            .send(
                Method::PUT,
                &format!("{PATH}/{id}"),
                &[],
                Some(h),
                "webhook",
                action,
            )
            .await?;
        Ok(Self::decode::<super::Envelope<Hook>>(&answer, action)?.data)
    }

    /// Removes a webhook.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn delete_hook(&self, id: u64) -> Result<(), Error> {
        self.send::<()>(
            Method::DELETE,
            &format!("{PATH}/{id}"),
            &[],
            None,
            "webhook",
            "removing a webhook",
        )
        .await
        .map(drop)
    }

    /// Makes sure one active webhook per scope sends to `destination` with `headers`.
    ///
    /// A hook already there is kept; one that drifted (switched off by BigCommerce after
    /// failed deliveries, other headers, or sending to an old kcf address) is changed back;
    /// a missing one is created. Returns the hooks in the order of `scopes`. Running it
    /// again changes nothing.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, scopes = scopes.len()), err(level = "warn"))]
    pub async fn ensure_hooks(
        &self,
        scopes: &[&str],
        destination: &str,
        headers: &BTreeMap<String, String>,
    ) -> Result<Vec<Hook>, Error> {
        let mut existing = self.hooks().await?;
        let mut ensured = Vec::with_capacity(scopes.len());
        for scope in scopes {
            if ensured.iter().any(|h: &Hook| h.scope == *scope) {
                continue;
            }
            let wanted = HookInput {
                scope: (*scope).to_owned(),
                destination: destination.to_owned(),
                is_active: true,
                headers: headers.clone(),
            };
            let same_place = existing
                .iter()
                .position(|h| h.scope == *scope && h.destination == destination);
            let same_scope = existing.iter().position(|h| h.scope == *scope);
            let hook = match same_place.or(same_scope) {
                Some(i) => {
                    let h = existing.swap_remove(i);
                    if h.destination == destination && h.is_active && h.headers == *headers {
                        h
                    } else {
                        tracing::info!(id = h.id, scope, "webhook drifted; putting it back");
                        self.update_hook(h.id, &wanted).await?
                    }
                }
                None => {
                    tracing::info!(scope, "registering webhook");
                    match self.create_hook(&wanted).await {
                        Ok(h) => h,
                        // Another kcf process registered it at the same moment (an api and
                        // a worker starting together): it is there, which is what was wanted.
                        Err(e @ Error::Conflict { .. }) => self
                            .hooks()
                            .await?
                            .into_iter()
                            .find(|h| h.scope == *scope && h.destination == destination)
                            .ok_or(e)?,
                        Err(e) => return Err(e),
                    }
                }
            };
            ensured.push(hook);
        }
        Ok(ensured)
    }
}
