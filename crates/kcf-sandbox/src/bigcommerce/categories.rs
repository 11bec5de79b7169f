//! Category trees: `/v3/catalog/trees` and `/v3/catalog/trees/categories` (create and update
//! in arrays, 207 on partial failure), and the nested tree of one tree.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Bc, Data,
    error::{BcError, BcResult},
    now_ms,
    params::{Fields, Params, json_body},
};
use crate::seed::SeedCategory;

/// The one tree every store has (channel 1).
const DEFAULT_TREE: u64 = 1;
/// BigCommerce's limit on category depth.
const MAX_DEPTH: usize = 8;

/// A category as the trees API returns it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Category {
    pub(super) category_id: u64,
    category_uuid: String,
    tree_id: u64,
    parent_id: u64,
    name: String,
    description: String,
    sort_order: i64,
    is_visible: bool,
    page_title: String,
    meta_description: String,
    search_keywords: String,
    image_url: String,
    url: Value,
    #[serde(skip)]
    pub(super) modified_ms: i64,
}

impl Category {
    fn blank(id: u64, now: i64) -> Self {
        Self {
            category_id: id,
            category_uuid: format!("00000000-0000-4000-8000-{id:012}"),
            tree_id: DEFAULT_TREE,
            parent_id: 0,
            name: String::new(),
            description: String::new(),
            sort_order: 0,
            is_visible: true,
            page_title: String::new(),
            meta_description: String::new(),
            search_keywords: String::new(),
            image_url: String::new(),
            url: Value::Null,
            modified_ms: now,
        }
    }

    pub(super) fn seeded(c: &SeedCategory, now: i64) -> Self {
        let mut cat = Self::blank(c.id, now);
        cat.parent_id = c.parent_id;
        cat.name = c.name.clone();
        cat.url = url_for(&c.name);
        cat
    }

    fn apply(&mut self, f: &mut Fields<'_>) {
        if let Some(v) = f.string("name") {
            if v.trim().is_empty() || v.chars().count() > 50 {
                f.errors
                    .insert("name".into(), "name must be 1 to 50 characters".into());
            } else {
                self.url = url_for(&v);
                self.name = v;
            }
        }
        if let Some(v) = f.uint("parent_id") {
            self.parent_id = v;
        }
        if let Some(v) = f.uint("tree_id") {
            self.tree_id = v;
        }
        if let Some(v) = f.int("sort_order") {
            self.sort_order = v;
        }
        if let Some(v) = f.boolean("is_visible") {
            self.is_visible = v;
        }
        for (name, slot) in [
            ("description", &mut self.description),
            ("page_title", &mut self.page_title),
            ("meta_description", &mut self.meta_description),
            ("search_keywords", &mut self.search_keywords),
            ("image_url", &mut self.image_url),
        ] {
            if let Some(v) = f.string(name) {
                *slot = v;
            }
        }
    }
}

fn url_for(name: &str) -> Value {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    json!({ "path": format!("/{}/", slug.trim_matches('-')), "is_customized": false })
}

/// Checks the parent exists, the depth limit, and that no sibling has the same name.
fn check(data: &Data, cat: &Category) -> BcResult<()> {
    if cat.tree_id != DEFAULT_TREE {
        return Err(BcError::not_found("tree"));
    }
    let mut depth = 1;
    let mut parent = cat.parent_id;
    while parent != 0 {
        if parent == cat.category_id {
            return Err(BcError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "A category cannot be its own ancestor.",
            ));
        }
        let Some(p) = data.categories.get(&parent) else {
            return Err(BcError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The parent category {parent} does not exist."),
            ));
        };
        depth += 1;
        parent = p.parent_id;
    }
    if depth > MAX_DEPTH {
        return Err(BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Categories can be at most 8 levels deep.",
        ));
    }
    let clash = data.categories.values().any(|o| {
        o.category_id != cat.category_id
            && o.parent_id == cat.parent_id
            && o.name.eq_ignore_ascii_case(&cat.name)
    });
    if clash {
        return Err(BcError::conflict(format!(
            "A category named \"{}\" already exists at this level.",
            cat.name
        )));
    }
    Ok(())
}

pub(super) async fn list_trees() -> Json<Value> {
    Json(
        json!({ "data": [{ "id": DEFAULT_TREE, "name": "Default", "channels": [1] }], "meta": {} }),
    )
}

/// `PUT /catalog/trees`: only the default tree exists here; renaming it is accepted.
pub(super) async fn upsert_trees(body: Bytes) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let trees = body.as_array().ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body must be an array of trees.",
        )
    })?;
    if trees.len() > 50 {
        return Err(BcError::too_many(50));
    }
    let name = trees
        .first()
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("Default");
    Ok(Json(
        json!({ "data": [{ "id": DEFAULT_TREE, "name": name, "channels": [1] }], "meta": {} }),
    ))
}

pub(super) async fn list(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<Json<Value>> {
    let p = Params::new(pairs);
    let ids = p.ids("category_id:in")?;
    let trees = p.ids("tree_id:in")?;
    let parents = p.ids("parent_id:in")?;
    let name = p.get("name");
    let like = p.get("name:like").map(str::to_lowercase);
    let visible = p.flag("is_visible")?;
    let page = p.page()?;
    let data = bc.read();
    let found: Vec<&Category> = data
        .categories
        .values()
        .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.category_id)))
        .filter(|c| trees.as_ref().is_none_or(|t| t.contains(&c.tree_id)))
        .filter(|c| parents.as_ref().is_none_or(|ps| ps.contains(&c.parent_id)))
        .filter(|c| name.is_none_or(|n| c.name == n))
        .filter(|c| {
            like.as_ref()
                .is_none_or(|l| c.name.to_lowercase().contains(l))
        })
        .filter(|c| visible.is_none_or(|v| v == c.is_visible))
        .collect();
    let (items, meta) = page.slice(&found, "/catalog/trees/categories");
    Ok(Json(json!({ "data": items, "meta": meta })))
}

/// Answers a batch: all good → `ok`; some failed → 207; all failed → the first failure.
fn batch_answer(
    ok: StatusCode,
    done: Vec<Category>,
    mut failed: Vec<BcError>,
) -> BcResult<Response> {
    if done.is_empty() && !failed.is_empty() {
        return Err(failed.swap_remove(0));
    }
    if failed.is_empty() {
        return Ok((ok, Json(json!({ "data": done, "meta": {} }))).into_response());
    }
    let errors: Vec<Value> = failed.iter().map(BcError::to_json).collect();
    Ok((
        StatusCode::MULTI_STATUS,
        Json(json!({ "data": done, "errors": errors, "meta": {} })),
    )
        .into_response())
}

fn array(body: &Value) -> BcResult<&Vec<Value>> {
    body.as_array().ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body must be an array of categories.",
        )
    })
}

pub(super) async fn create(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Response> {
    let body = json_body(&body)?;
    let now = now_ms();
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    {
        let mut data = bc.write();
        for item in array(&body)? {
            let result = (|| {
                let mut f = Fields::of(item, "category")?;
                f.require("name");
                if !f.has("tree_id") && !f.has("parent_id") {
                    f.errors
                        .insert("tree_id".into(), "tree_id or parent_id is required".into());
                }
                let id = data.next_category + 1;
                let mut cat = Category::blank(id, now);
                cat.apply(&mut f);
                f.finish()?;
                check(&data, &cat)?;
                data.next_category = id;
                data.categories.insert(id, cat.clone());
                Ok(cat)
            })();
            match result {
                Ok(c) => done.push(c),
                Err(e) => failed.push(e),
            }
        }
    }
    for c in &done {
        bc.changed("category", c.category_id, "created");
    }
    batch_answer(StatusCode::CREATED, done, failed)
}

pub(super) async fn update(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Response> {
    let body = json_body(&body)?;
    let now = now_ms();
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    {
        let mut data = bc.write();
        for item in array(&body)? {
            let result = (|| {
                let mut f = Fields::of(item, "category")?;
                let id = f.uint("category_id").ok_or_else(|| {
                    BcError::invalid(BTreeMap::from([(
                        "category_id".into(),
                        "category_id is required".into(),
                    )]))
                })?;
                let mut cat = data
                    .categories
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| BcError::not_found("category"))?;
                cat.apply(&mut f);
                f.finish()?;
                check(&data, &cat)?;
                cat.modified_ms = now;
                data.categories.insert(id, cat.clone());
                Ok(cat)
            })();
            match result {
                Ok(c) => done.push(c),
                Err(e) => failed.push(e),
            }
        }
    }
    for c in &done {
        bc.changed("category", c.category_id, "updated");
    }
    batch_answer(StatusCode::OK, done, failed)
}

/// `DELETE …/trees/categories?category_id:in=…`; children go with their parent.
pub(super) async fn delete_many(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<StatusCode> {
    let p = Params::new(pairs);
    let ids = p.ids("category_id:in")?.ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A filter such as category_id:in is required.",
        )
    })?;
    let mut data = bc.write();
    let mut doomed = ids;
    while let Some(id) = doomed.pop() {
        if data.categories.remove(&id).is_some() {
            bc.changed("category", id, "deleted");
            doomed.extend(
                data.categories
                    .values()
                    .filter(|c| c.parent_id == id)
                    .map(|c| c.category_id),
            );
        }
    }
    // BC-REF (category-trees_catalog.v3.yml, via reference/apis.md) documents 202 here.
    Ok(StatusCode::ACCEPTED)
}

/// `GET /catalog/trees/{id}/categories`: the nested tree.
pub(super) async fn tree(
    State(bc): State<Arc<Bc>>,
    Path((_, tree_id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    if tree_id != DEFAULT_TREE {
        return Err(BcError::not_found("tree"));
    }
    let data = bc.read();
    fn children(data: &Data, parent: u64, depth: usize) -> Vec<Value> {
        data.categories
            .values()
            .filter(|c| c.parent_id == parent)
            .map(|c| {
                json!({
                    "id": c.category_id,
                    "parent_id": c.parent_id,
                    "depth": depth,
                    "name": c.name,
                    "is_visible": c.is_visible,
                    "url": c.url["path"],
                    "children": if depth < MAX_DEPTH { children(data, c.category_id, depth + 1) } else { Vec::new() },
                })
            })
            .collect()
    }
    Ok(Json(json!({ "data": children(&data, 0, 1), "meta": {} })))
}
