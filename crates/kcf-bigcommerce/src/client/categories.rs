//! Category trees (`/v3/catalog/trees`, `/v3/catalog/trees/categories`).

use reqwest::Method;
use serde::Deserialize;

use super::{BigCommerceClient, MAX_PAGE_SIZE, Paged, joined, page_params, with_id};
use crate::{
    error::Error,
    model::{Category, CategoryInput},
};

/// Which categories to list. Empty lists and `None` do not filter.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryQuery {
    /// Only these ids.
    pub ids: Vec<u64>,
    /// Only this exact name.
    pub name: Option<String>,
    /// Only children of this category (0: the top level).
    pub parent_id: Option<u64>,
    /// Only this tree.
    pub tree_id: Option<u64>,
    /// The page, from 1.
    pub page: u32,
    /// Per page, at most 250.
    pub limit: u32,
}

impl Default for CategoryQuery {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            name: None,
            parent_id: None,
            tree_id: None,
            page: 1,
            limit: MAX_PAGE_SIZE,
        }
    }
}

impl CategoryQuery {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.ids.is_empty() {
            q.push(("category_id:in", joined(&self.ids)));
        }
        if let Some(name) = &self.name {
            q.push(("name", name.clone()));
        }
        if let Some(parent) = self.parent_id {
            q.push(("parent_id:in", parent.to_string()));
        }
        if let Some(tree) = self.tree_id {
            q.push(("tree_id:in", tree.to_string()));
        }
        page_params(&mut q, self.page, self.limit);
        q
    }
}

#[derive(Debug, Deserialize)]
struct Tree {
    id: u64,
    #[serde(default)]
    channels: Vec<u64>,
}

const PATH: &str = "/v3/catalog/trees/categories";

impl BigCommerceClient {
    /// The tree of the store's default channel (channel 1), where kcf puts categories.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn default_tree_id(&self) -> Result<u64, Error> {
        let trees: Vec<Tree> = self
            .get_one(
                "/v3/catalog/trees",
                "category tree",
                "reading category trees",
            )
            .await?;
        trees
            .iter()
            .find(|t| t.channels.contains(&1))
            .or(trees.first())
            .map(|t| t.id)
            .ok_or_else(|| Error::NotFound {
                message: "the BigCommerce store has no category tree; create one for the \
                          storefront channel"
                    .into(),
            })
    }

    /// One page of categories.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, page = q.page), err(level = "warn"))]
    pub async fn categories(&self, q: &CategoryQuery) -> Result<Paged<Category>, Error> {
        self.get_page(PATH, &q.params(), "category", "reading categories")
            .await
    }

    /// Creates a category (it needs a name, and a tree or a parent).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, name = c.name.as_deref()), err(level = "warn"))]
    pub async fn create_category(&self, c: &CategoryInput) -> Result<Category, Error> {
        self.batch_of_one(Method::POST, PATH, c, "category", "creating a category")
            .await
    }

    /// Changes the fields set in `c` of category `id`.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash, id), err(level = "warn"))]
    pub async fn update_category(&self, id: u64, c: &CategoryInput) -> Result<Category, Error> {
        let item = with_id("category_id", id, c)?;
        self.batch_of_one(Method::PUT, PATH, &item, "category", "updating a category")
            .await
    }

    /// Deletes categories (and the categories under them).
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn delete_categories(&self, ids: &[u64]) -> Result<(), Error> {
        self.send::<()>(
            Method::DELETE,
            PATH,
            &[("category_id:in", joined(ids))],
            None,
            "category",
            "deleting categories",
        )
        .await?;
        Ok(())
    }
}
