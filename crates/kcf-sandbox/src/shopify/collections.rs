//! Collections (the store's categories): `collections`, `collection`, `collectionCreate`,
//! `collectionUpdate`, `collectionDelete`, and publishing to the Online Store
//! (`publishablePublish` / `publishableUnpublish`, which hide and show).

use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Data, UserError, now_ms, products::ProductNode, search::*, shop};
use crate::seed::Dataset;

/// The one publication (sales channel) the emulator has.
pub const ONLINE_STORE: u64 = 1;

/// A collection as the shop keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Collection {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub description_html: String,
    /// Published to the Online Store (visible to shoppers).
    pub published: bool,
    pub updated_ms: i64,
}

/// `Collection`.
#[derive(Debug, Clone)]
pub(crate) struct CollectionNode(pub Collection);

#[Object(name = "Collection")]
impl CollectionNode {
    async fn id(&self) -> ID {
        gid("Collection", self.0.id)
    }
    async fn legacy_resource_id(&self) -> String {
        self.0.id.to_string()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn handle(&self) -> &str {
        &self.0.handle
    }
    async fn description_html(&self) -> &str {
        &self.0.description_html
    }
    async fn updated_at(&self) -> DateTime {
        DateTime::of(self.0.updated_ms)
    }
    /// Whether it is published to the Online Store.
    async fn published_on_current_publication(&self) -> bool {
        self.0.published
    }
    async fn published_on_publication(&self, publication_id: ID) -> bool {
        self.0.published && id_of("Publication", &publication_id) == Some(ONLINE_STORE)
    }
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ProductNode>> {
        let data = shop(ctx).read();
        let items = data
            .products
            .values()
            .filter(|p| p.collections.contains(&self.0.id))
            .map(|p| ((p.id as i64, p.id), ProductNode(p.clone())))
            .collect();
        page(
            items,
            &Paging {
                first,
                after,
                ..Paging::default()
            },
        )
    }
}

/// `Publication`.
#[derive(Debug, Clone, SimpleObject)]
struct Publication {
    id: ID,
    name: String,
}

fn collection_field(c: &Collection, field: &str) -> Option<Vec<Field>> {
    Some(match field {
        "id" => vec![Field::Number(c.id as i64)],
        "title" | "default" => vec![Field::Text(c.title.clone())],
        "handle" => vec![Field::Text(c.handle.clone())],
        "updated_at" => vec![Field::Time(c.updated_ms)],
        "published_status" => vec![Field::Text(
            if c.published {
                "published"
            } else {
                "unpublished"
            }
            .into(),
        )],
        _ => return None,
    })
}

#[derive(Default)]
pub(crate) struct CollectionQuery;

#[Object]
impl CollectionQuery {
    #[allow(clippy::too_many_arguments)]
    async fn collections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        query: Option<String>,
    ) -> async_graphql::Result<Connection<String, CollectionNode>> {
        let data = shop(ctx).read();
        let search = Search::parse(query.as_deref());
        let items = data
            .collections
            .values()
            .filter(|c| search.matches(|f| collection_field(c, f)))
            .map(|c| ((c.id as i64, c.id), CollectionNode(c.clone())))
            .collect();
        page(
            items,
            &Paging {
                first,
                after,
                last,
                before,
                reverse: reverse.unwrap_or(false),
            },
        )
    }

    async fn collection(&self, ctx: &Context<'_>, id: ID) -> Option<CollectionNode> {
        let id = id_of("Collection", &id)?;
        shop(ctx)
            .read()
            .collections
            .get(&id)
            .cloned()
            .map(CollectionNode)
    }

    async fn publications(
        &self,
        first: Option<i32>,
    ) -> async_graphql::Result<Connection<String, Publication>> {
        page(
            vec![(
                (ONLINE_STORE as i64, ONLINE_STORE),
                Publication {
                    id: gid("Publication", ONLINE_STORE),
                    name: "Online Store".into(),
                },
            )],
            &Paging {
                first,
                ..Paging::default()
            },
        )
    }
}

/// `CollectionInput`.
#[derive(Debug, Clone, InputObject)]
struct CollectionInput {
    id: Option<ID>,
    title: Option<String>,
    handle: Option<String>,
    description_html: Option<String>,
}

/// `CollectionDeleteInput`.
#[derive(Debug, Clone, InputObject)]
struct CollectionDeleteInput {
    id: ID,
}

/// `CollectionCreatePayload` / `CollectionUpdatePayload`.
#[derive(SimpleObject)]
struct CollectionPayload {
    collection: Option<CollectionNode>,
    user_errors: Vec<UserError>,
}

/// `CollectionDeletePayload`.
#[derive(SimpleObject)]
struct CollectionDeletePayload {
    deleted_collection_id: Option<ID>,
    user_errors: Vec<UserError>,
}

/// `PublicationInput`.
#[derive(Debug, Clone, InputObject)]
struct PublicationInput {
    publication_id: Option<ID>,
}

/// `PublishablePublishPayload` / `PublishableUnpublishPayload`.
#[derive(SimpleObject)]
struct PublishablePayload {
    user_errors: Vec<UserError>,
}

fn handle_of(data: &Data, title: &str, except: u64) -> String {
    let base: String = title
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let taken = |h: &str| {
        data.collections
            .values()
            .any(|c| c.handle == h && c.id != except)
    };
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|h| !taken(h))
        .unwrap_or(base)
}

fn announce(shop: &super::Shop, c: &Collection, topic: &str) {
    shop.changed(
        format!("collections/{}", c.id),
        topic,
        json!({ "id": c.id, "admin_graphql_api_id": gid("Collection", c.id).0, "title": c.title, "handle": c.handle, "updated_at": DateTime::of(c.updated_ms).0 }),
    );
}

#[derive(Default)]
pub(crate) struct CollectionMutation;

#[Object]
impl CollectionMutation {
    async fn collection_create(
        &self,
        ctx: &Context<'_>,
        input: CollectionInput,
    ) -> CollectionPayload {
        let title = input.title.clone().unwrap_or_default();
        if title.trim().is_empty() {
            return CollectionPayload {
                collection: None,
                user_errors: vec![UserError::new(&["title"], "Title can't be blank", "BLANK")],
            };
        }
        let shop = shop(ctx);
        let created = {
            let mut data = shop.write();
            let id = data.id();
            let handle = input
                .handle
                .clone()
                .unwrap_or_else(|| handle_of(&data, &title, id));
            let c = Collection {
                id,
                title,
                handle,
                description_html: input.description_html.unwrap_or_default(),
                published: true,
                updated_ms: now_ms(),
            };
            data.collections.insert(id, c.clone());
            c
        };
        announce(shop, &created, "collections/create");
        CollectionPayload {
            collection: Some(CollectionNode(created)),
            user_errors: Vec::new(),
        }
    }

    async fn collection_update(
        &self,
        ctx: &Context<'_>,
        input: CollectionInput,
    ) -> CollectionPayload {
        let shop = shop(ctx);
        let updated = {
            let mut data = shop.write();
            let found = input
                .id
                .as_ref()
                .and_then(|id| id_of("Collection", id))
                .and_then(|id| data.collections.get(&id).cloned());
            found.map(|mut c| {
                if let Some(t) = input.title.filter(|t| !t.trim().is_empty()) {
                    c.title = t;
                }
                if let Some(h) = input.handle {
                    c.handle = h;
                }
                if let Some(d) = input.description_html {
                    c.description_html = d;
                }
                c.updated_ms = now_ms();
                data.collections.insert(c.id, c.clone());
                c
            })
        };
        match updated {
            Some(c) => {
                announce(shop, &c, "collections/update");
                CollectionPayload {
                    collection: Some(CollectionNode(c)),
                    user_errors: Vec::new(),
                }
            }
            None => CollectionPayload {
                collection: None,
                user_errors: vec![UserError::new(
                    &["id"],
                    "Collection does not exist",
                    "NOT_FOUND",
                )],
            },
        }
    }

    async fn collection_delete(
        &self,
        ctx: &Context<'_>,
        input: CollectionDeleteInput,
    ) -> CollectionDeletePayload {
        let shop = shop(ctx);
        let removed = {
            let mut data = shop.write();
            let removed =
                id_of("Collection", &input.id).and_then(|id| data.collections.remove(&id));
            if let Some(c) = &removed {
                for p in data.products.values_mut() {
                    p.collections.retain(|k| *k != c.id);
                }
            }
            removed
        };
        match removed {
            Some(c) => {
                announce(shop, &c, "collections/delete");
                CollectionDeletePayload {
                    deleted_collection_id: Some(gid("Collection", c.id)),
                    user_errors: Vec::new(),
                }
            }
            None => CollectionDeletePayload {
                deleted_collection_id: None,
                user_errors: vec![UserError::new(
                    &["id"],
                    "Collection does not exist",
                    "NOT_FOUND",
                )],
            },
        }
    }

    /// Shows a collection on the Online Store.
    async fn publishable_publish(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Vec<PublicationInput>,
    ) -> PublishablePayload {
        publish(shop(ctx), &id, &input, true)
    }

    /// Hides a collection from the Online Store.
    async fn publishable_unpublish(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Vec<PublicationInput>,
    ) -> PublishablePayload {
        publish(shop(ctx), &id, &input, false)
    }
}

fn publish(
    shop: &super::Shop,
    id: &ID,
    input: &[PublicationInput],
    on: bool,
) -> PublishablePayload {
    let known = input.iter().all(|p| {
        p.publication_id
            .as_ref()
            .is_some_and(|id| id_of("Publication", id) == Some(ONLINE_STORE))
    });
    if !known || input.is_empty() {
        return PublishablePayload {
            user_errors: vec![UserError::new(
                &["input"],
                "Publication does not exist",
                "INVALID",
            )],
        };
    }
    let changed = {
        let mut data = shop.write();
        let found = id_of("Collection", id).and_then(|n| data.collections.get_mut(&n));
        found.map(|c| {
            c.published = on;
            c.updated_ms = now_ms();
            c.clone()
        })
    };
    match changed {
        Some(c) => {
            announce(shop, &c, "collections/update");
            PublishablePayload {
                user_errors: Vec::new(),
            }
        }
        None => PublishablePayload {
            user_errors: vec![UserError::new(
                &["id"],
                "Resource does not exist",
                "NOT_FOUND",
            )],
        },
    }
}

/// The seed's categories as collections; returns seed id → collection id.
pub(super) fn seed(data: &mut Data, dataset: &Dataset, now: i64) -> BTreeMap<u64, u64> {
    let mut ids = BTreeMap::new();
    for c in &dataset.categories {
        let id = data.id();
        let handle = handle_of(data, &c.name, id);
        data.collections.insert(
            id,
            Collection {
                id,
                title: c.name.clone(),
                handle,
                description_html: String::new(),
                published: true,
                updated_ms: now,
            },
        );
        ids.insert(c.id, id);
    }
    ids
}
