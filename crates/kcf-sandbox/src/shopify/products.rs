//! Products: `products` (searched by `sku`, `updated_at`, `status`…), `product`,
//! `productByHandle`, `productsCount`. Every product has at least one variant (a "Default
//! Title" one when it has no options); at most 3 options and 2,048 variants. The writes are in
//! `product_set.rs`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Data, collections::CollectionNode, search::*, shop, variants::VariantNode};

/// Options a product may have.
pub const MAX_OPTIONS: usize = 3;
/// Variants a product may have.
pub const MAX_VARIANTS: usize = 2048;

/// Whether shoppers see a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize, Default)]
pub(crate) enum ProductStatus {
    #[default]
    Active,
    Archived,
    Draft,
}

/// A product option and its values, in order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct ProductOption {
    pub id: u64,
    pub name: String,
    pub values: Vec<String>,
}

/// A product as the shop keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Product {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub description_html: String,
    pub vendor: String,
    pub product_type: String,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    pub options: Vec<ProductOption>,
    /// Its variants' ids, in position order.
    pub variants: Vec<u64>,
    pub collections: Vec<u64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Product {
    pub(crate) fn payload(&self, data: &Data) -> Value {
        let variants: Vec<Value> = self
            .variants
            .iter()
            .filter_map(|v| data.variants.get(v))
            .map(|v| json!({ "id": v.id, "admin_graphql_api_id": gid("ProductVariant", v.id).0, "sku": v.sku, "price": Money::of(v.price).0 }))
            .collect();
        json!({
            "id": self.id,
            "admin_graphql_api_id": gid("Product", self.id).0,
            "title": self.title,
            "handle": self.handle,
            "status": format!("{:?}", self.status).to_lowercase(),
            "created_at": DateTime::of(self.created_ms).0,
            "updated_at": DateTime::of(self.updated_ms).0,
            "variants": variants,
        })
    }
}

/// A handle from a title: lower case, words joined by dashes, unique in the shop.
pub(crate) fn handle_for(data: &Data, title: &str, except: Option<u64>) -> String {
    unique_handle(title, |h| {
        data.products
            .values()
            .any(|p| p.handle == h && Some(p.id) != except)
    })
}

/// The handle of `title` (lower case, words joined by dashes), or the first of `handle-1`,
/// `handle-2`, … that `taken` does not hold.
pub(crate) fn unique_handle(title: &str, taken: impl Fn(&str) -> bool) -> String {
    let base: String = title
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let base = if base.is_empty() {
        "product".into()
    } else {
        base
    };
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|h| !taken(h))
        .unwrap_or(base)
}

/// `Product`.
#[derive(Debug, Clone)]
pub(crate) struct ProductNode(pub Product);

/// `ProductOption`.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "ProductOption")]
struct OptionNode {
    id: ID,
    name: String,
    position: i32,
    values: Vec<String>,
    option_values: Vec<OptionValueNode>,
}

/// `ProductOptionValue`.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "ProductOptionValue")]
struct OptionValueNode {
    id: ID,
    name: String,
    has_variants: bool,
}

/// `Count`.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct Count {
    pub count: i32,
    pub precision: String,
}

impl Count {
    pub(crate) fn exact(n: usize) -> Self {
        Self {
            count: i32::try_from(n).unwrap_or(i32::MAX),
            precision: "EXACT".into(),
        }
    }
}

#[Object(name = "Product")]
impl ProductNode {
    async fn id(&self) -> ID {
        gid("Product", self.0.id)
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
    #[graphql(name = "descriptionHtml")]
    async fn description_html(&self) -> &str {
        &self.0.description_html
    }
    async fn description(&self) -> String {
        strip_tags(&self.0.description_html)
    }
    async fn vendor(&self) -> &str {
        &self.0.vendor
    }
    async fn product_type(&self) -> &str {
        &self.0.product_type
    }
    async fn status(&self) -> ProductStatus {
        self.0.status
    }
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    async fn created_at(&self) -> DateTime {
        DateTime::of(self.0.created_ms)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime::of(self.0.updated_ms)
    }
    async fn has_only_default_variant(&self) -> bool {
        self.0.options.len() == 1 && self.0.options[0].name == "Title" && self.0.variants.len() == 1
    }
    async fn options(&self, ctx: &Context<'_>, first: Option<i32>) -> Vec<OptionNode> {
        let data = shop(ctx).read();
        let limit = first.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(0));
        self.0
            .options
            .iter()
            .take(limit)
            .enumerate()
            .map(|(n, o)| OptionNode {
                id: gid("ProductOption", o.id),
                name: o.name.clone(),
                position: n as i32 + 1,
                values: o.values.clone(),
                option_values: o
                    .values
                    .iter()
                    .enumerate()
                    .map(|(k, v)| OptionValueNode {
                        id: gid("ProductOptionValue", o.id * 100 + k as u64),
                        name: v.clone(),
                        has_variants: self.0.variants.iter().any(|id| {
                            data.variants
                                .get(id)
                                .is_some_and(|var| var.value_of(&o.name) == Some(v.as_str()))
                        }),
                    })
                    .collect(),
            })
            .collect()
    }
    #[allow(clippy::too_many_arguments)]
    async fn variants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
    ) -> async_graphql::Result<Connection<String, VariantNode>> {
        let data = shop(ctx).read();
        let items = self
            .0
            .variants
            .iter()
            .enumerate()
            .filter_map(|(n, id)| data.variants.get(id).map(|v| ((n as i64, *id), v)))
            .map(|(k, v)| (k, VariantNode(v.clone())))
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
    async fn variants_count(&self) -> Count {
        Count::exact(self.0.variants.len())
    }
    async fn total_inventory(&self, ctx: &Context<'_>) -> i64 {
        let data = shop(ctx).read();
        self.0
            .variants
            .iter()
            .filter_map(|v| data.levels.get(v))
            .flat_map(|l| l.values())
            .map(|l| l.available)
            .sum()
    }
    async fn collections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, CollectionNode>> {
        let data = shop(ctx).read();
        let items = self
            .0
            .collections
            .iter()
            .filter_map(|id| data.collections.get(id))
            .map(|c| ((c.id as i64, c.id), CollectionNode(c.clone())))
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

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// How product lists sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum ProductSortKeys {
    Id,
    UpdatedAt,
    CreatedAt,
    Title,
}

fn product_field(data: &Data, p: &Product, field: &str) -> Option<Vec<Field>> {
    Some(match field {
        "id" => vec![Field::Number(p.id as i64)],
        "title" | "default" => vec![Field::Text(p.title.clone())],
        "handle" => vec![Field::Text(p.handle.clone())],
        "status" => vec![Field::Text(format!("{:?}", p.status))],
        "vendor" => vec![Field::Text(p.vendor.clone())],
        "product_type" => vec![Field::Text(p.product_type.clone())],
        "tag" => p.tags.iter().map(|t| Field::Text(t.clone())).collect(),
        "updated_at" => vec![Field::Time(p.updated_ms)],
        "created_at" => vec![Field::Time(p.created_ms)],
        "sku" => p
            .variants
            .iter()
            .filter_map(|v| data.variants.get(v))
            .map(|v| Field::Text(v.sku.clone()))
            .collect(),
        _ => return None,
    })
}

#[derive(Default)]
pub(crate) struct ProductQuery;

#[Object]
impl ProductQuery {
    #[allow(clippy::too_many_arguments)]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        query: Option<String>,
        sort_key: Option<ProductSortKeys>,
    ) -> async_graphql::Result<Connection<String, ProductNode>> {
        let data = shop(ctx).read();
        let search = Search::parse(query.as_deref());
        let items = data
            .products
            .values()
            .filter(|p| search.matches(|f| product_field(&data, p, f)))
            .map(|p| {
                let key = match sort_key.unwrap_or(ProductSortKeys::Id) {
                    ProductSortKeys::Id | ProductSortKeys::Title => (p.id as i64, p.id),
                    ProductSortKeys::UpdatedAt => (p.updated_ms, p.id),
                    ProductSortKeys::CreatedAt => (p.created_ms, p.id),
                };
                (key, ProductNode(p.clone()))
            })
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

    async fn product(&self, ctx: &Context<'_>, id: ID) -> Option<ProductNode> {
        let id = id_of("Product", &id)?;
        shop(ctx).read().products.get(&id).cloned().map(ProductNode)
    }

    async fn product_by_handle(&self, ctx: &Context<'_>, handle: String) -> Option<ProductNode> {
        let data = shop(ctx).read();
        data.products
            .values()
            .find(|p| p.handle == handle)
            .cloned()
            .map(ProductNode)
    }

    async fn products_count(&self, ctx: &Context<'_>, query: Option<String>) -> Count {
        let data = shop(ctx).read();
        let search = Search::parse(query.as_deref());
        Count::exact(
            data.products
                .values()
                .filter(|p| search.matches(|f| product_field(&data, p, f)))
                .count(),
        )
    }
}
