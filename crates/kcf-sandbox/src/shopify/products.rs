//! Products: `products`, `product`, and the writes an ERP sync uses: `productSet` (the whole
//! product with its options and variants, all or nothing), `productCreate`, `productUpdate`,
//! `productDelete`. Every product has at least one variant (a "Default Title" one when it has
//! no options); at most 3 options and 2,048 variants.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Data, UserError, collections::CollectionNode, now_ms, search::*, shop, variants::Variant,
    variants::VariantNode,
};
use crate::seed::Dataset;

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
    let taken = |h: &str| {
        data.products
            .values()
            .any(|p| p.handle == h && Some(p.id) != except)
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

/// `OptionSetInput` / `OptionCreateInput`: an option and its values.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "OptionSetInput")]
pub(crate) struct OptionInput {
    name: Option<String>,
    position: Option<i32>,
    values: Option<Vec<OptionValueInput>>,
}

/// `OptionValueSetInput`.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "OptionValueSetInput")]
pub(crate) struct OptionValueInput {
    name: Option<String>,
}

/// `VariantOptionValueInput`: a variant's value of one option.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct VariantOptionValueInput {
    pub option_name: Option<String>,
    pub name: Option<String>,
}

/// `InventoryItemInput` (the SKU may be given here, as in recent versions).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct InventoryItemInput {
    pub sku: Option<String>,
    pub tracked: Option<bool>,
}

/// `ProductVariantSetInput`.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct ProductVariantSetInput {
    pub id: Option<ID>,
    pub sku: Option<String>,
    pub price: Option<Money>,
    pub compare_at_price: Option<Money>,
    pub barcode: Option<String>,
    pub option_values: Option<Vec<VariantOptionValueInput>>,
    pub inventory_item: Option<InventoryItemInput>,
    pub position: Option<i32>,
}

/// `ProductSetInput`: the whole product.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct ProductSetInput {
    id: Option<ID>,
    title: Option<String>,
    handle: Option<String>,
    description_html: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    status: Option<ProductStatus>,
    tags: Option<Vec<String>>,
    collections: Option<Vec<ID>>,
    product_options: Option<Vec<OptionInput>>,
    variants: Option<Vec<ProductVariantSetInput>>,
}

/// `ProductSetIdentifiers`.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct ProductSetIdentifiers {
    id: Option<ID>,
    handle: Option<String>,
}

/// `ProductSetPayload`.
#[derive(SimpleObject)]
struct ProductSetPayload {
    product: Option<ProductNode>,
    user_errors: Vec<UserError>,
}

/// `ProductCreateInput` / `ProductUpdateInput` / `ProductInput`.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "ProductInput")]
pub(crate) struct ProductInput {
    id: Option<ID>,
    title: Option<String>,
    handle: Option<String>,
    description_html: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    status: Option<ProductStatus>,
    tags: Option<Vec<String>>,
    collections_to_join: Option<Vec<ID>>,
    collections_to_leave: Option<Vec<ID>>,
    product_options: Option<Vec<OptionInput>>,
}

/// `ProductCreatePayload` / `ProductUpdatePayload`.
#[derive(SimpleObject)]
struct ProductPayload {
    product: Option<ProductNode>,
    user_errors: Vec<UserError>,
}

/// `ProductDeleteInput`.
#[derive(Debug, Clone, InputObject)]
struct ProductDeleteInput {
    id: ID,
}

/// `ProductDeletePayload`.
#[derive(SimpleObject)]
struct ProductDeletePayload {
    deleted_product_id: Option<ID>,
    user_errors: Vec<UserError>,
}

/// A product's options checked: names unique, values unique, within the limit.
fn options_of(
    inputs: &[OptionInput],
    path: &str,
    next_id: &mut dyn FnMut() -> u64,
) -> Result<Vec<ProductOption>, UserError> {
    if inputs.len() > MAX_OPTIONS {
        return Err(UserError::new(
            &["input", path],
            format!("Can only specify a maximum of {MAX_OPTIONS} options"),
            "OPTIONS_OVER_LIMIT",
        ));
    }
    let mut ordered: Vec<(i32, &OptionInput)> = inputs
        .iter()
        .enumerate()
        .map(|(n, o)| (o.position.unwrap_or(n as i32 + 1), o))
        .collect();
    ordered.sort_by_key(|(p, _)| *p);
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for (_, o) in ordered {
        let name = o.name.clone().unwrap_or_default();
        if name.trim().is_empty() {
            return Err(UserError::new(
                &["input", path, "name"],
                "Option name can't be blank",
                "INVALID_INPUT",
            ));
        }
        if !names.insert(name.to_lowercase()) {
            return Err(UserError::new(
                &["input", path],
                format!("Duplicated option name '{name}'"),
                "DUPLICATED_OPTION_NAME",
            ));
        }
        let mut values = Vec::new();
        for v in o.values.iter().flatten() {
            let v = v.name.clone().unwrap_or_default();
            if v.trim().is_empty() || values.contains(&v) {
                return Err(UserError::new(
                    &["input", path, "values"],
                    format!("Option '{name}' has a blank or repeated value"),
                    "DUPLICATED_OPTION_VALUE",
                ));
            }
            values.push(v);
        }
        if values.is_empty() {
            return Err(UserError::new(
                &["input", path, "values"],
                format!("Option '{name}' must have at least one value"),
                "OPTION_VALUES_MISSING",
            ));
        }
        out.push(ProductOption {
            id: next_id(),
            name,
            values,
        });
    }
    Ok(out)
}

/// The default option and variant of a product without options.
fn default_option(id: u64) -> ProductOption {
    ProductOption {
        id,
        name: "Title".into(),
        values: vec!["Default Title".into()],
    }
}

/// What a productSet will write, checked whole before anything changes.
struct Planned {
    product: Product,
    variants: Vec<Variant>,
    removed: Vec<u64>,
    created: bool,
}

fn plan_set(
    data: &mut Data,
    input: ProductSetInput,
    identifier: Option<ProductSetIdentifiers>,
) -> Result<Planned, UserError> {
    let now = now_ms();
    let target = identifier
        .as_ref()
        .and_then(|i| i.id.clone())
        .or(input.id.clone());
    let existing = match (&target, identifier.as_ref().and_then(|i| i.handle.clone())) {
        (Some(id), _) => {
            let found = id_of("Product", id).and_then(|n| data.products.get(&n).cloned());
            match found {
                Some(p) => Some(p),
                None => {
                    return Err(UserError::new(
                        &["input", "id"],
                        "Product does not exist",
                        "PRODUCT_DOES_NOT_EXIST",
                    ));
                }
            }
        }
        (None, Some(handle)) => data.products.values().find(|p| p.handle == handle).cloned(),
        (None, None) => None,
    };
    let created = existing.is_none();
    let mut product = match existing {
        Some(p) => p,
        None => {
            let title = input.title.clone().unwrap_or_default();
            if title.trim().is_empty() {
                return Err(UserError::new(
                    &["input", "title"],
                    "Title can't be blank",
                    "BLANK",
                ));
            }
            Product {
                id: 0,
                title,
                handle: String::new(),
                description_html: String::new(),
                vendor: String::new(),
                product_type: String::new(),
                status: ProductStatus::Active,
                tags: Vec::new(),
                options: Vec::new(),
                variants: Vec::new(),
                collections: Vec::new(),
                created_ms: now,
                updated_ms: now,
            }
        }
    };
    if let Some(t) = input.title {
        if t.trim().is_empty() {
            return Err(UserError::new(
                &["input", "title"],
                "Title can't be blank",
                "BLANK",
            ));
        }
        product.title = t;
    }
    if let Some(h) = input.handle {
        if data
            .products
            .values()
            .any(|p| p.handle == h && p.id != product.id)
        {
            return Err(UserError::new(
                &["input", "handle"],
                format!("Handle '{h}' already in use. Please provide a new handle."),
                "HANDLE_NOT_UNIQUE",
            ));
        }
        product.handle = h;
    }
    if let Some(v) = input.description_html {
        product.description_html = v;
    }
    if let Some(v) = input.vendor {
        product.vendor = v;
    }
    if let Some(v) = input.product_type {
        product.product_type = v;
    }
    if let Some(v) = input.status {
        product.status = v;
    }
    if let Some(v) = input.tags {
        product.tags = v;
    }
    if let Some(ids) = input.collections {
        let mut out = Vec::new();
        for id in ids {
            match id_of("Collection", &id).filter(|n| data.collections.contains_key(n)) {
                Some(n) => out.push(n),
                None => {
                    return Err(UserError::new(
                        &["input", "collections"],
                        format!("Collection {} does not exist", id.0),
                        "INVALID_INPUT",
                    ));
                }
            }
        }
        product.collections = out;
    }
    let mut ids: Vec<u64> = Vec::new();
    let mut counter = data.next_id;
    let mut next = || {
        counter += 1;
        ids.push(counter);
        counter
    };
    if let Some(options) = &input.product_options {
        product.options = options_of(options, "productOptions", &mut next)?;
    } else if created && input.variants.is_some() {
        return Err(UserError::new(
            &["input", "productOptions"],
            "Product options input is required when updating variants",
            "PRODUCT_OPTIONS_INPUT_MISSING",
        ));
    }
    if product.options.is_empty() {
        product.options = vec![default_option(next())];
    }
    let variants_in = match input.variants {
        Some(v) => v,
        None if created || input.product_options.is_some() => {
            let values = product
                .options
                .iter()
                .map(|o| VariantOptionValueInput {
                    option_name: Some(o.name.clone()),
                    name: o.values.first().cloned(),
                })
                .collect();
            vec![ProductVariantSetInput {
                id: None,
                sku: None,
                price: Some(Money::of(0.0)),
                compare_at_price: None,
                barcode: None,
                option_values: Some(values),
                inventory_item: None,
                position: None,
            }]
        }
        None => {
            data.next_id = counter;
            let variants = product
                .variants
                .iter()
                .filter_map(|v| data.variants.get(v).cloned())
                .collect();
            product.updated_ms = now;
            return Ok(Planned {
                product,
                variants,
                removed: Vec::new(),
                created,
            });
        }
    };
    if variants_in.len() > MAX_VARIANTS {
        return Err(UserError::new(
            &["input", "variants"],
            format!("Can only specify a maximum of {MAX_VARIANTS} variants"),
            "VARIANTS_OVER_LIMIT",
        ));
    }
    if variants_in.is_empty() {
        return Err(UserError::new(
            &["input", "variants"],
            "A product must have at least one variant",
            "VARIANTS_INPUT_MISSING",
        ));
    }
    let old: BTreeMap<u64, Variant> = product
        .variants
        .iter()
        .filter_map(|v| data.variants.get(v).map(|var| (*v, var.clone())))
        .collect();
    let mut seen = BTreeSet::new();
    let mut variants = Vec::new();
    for (n, v) in variants_in.into_iter().enumerate() {
        let n_text = n.to_string();
        let path = ["input", "variants", n_text.as_str()];
        let mut values = Vec::new();
        for o in &product.options {
            let given = v.option_values.iter().flatten().find(|ov| {
                ov.option_name
                    .as_deref()
                    .is_some_and(|name| name.eq_ignore_ascii_case(&o.name))
            });
            let Some(value) = given.and_then(|g| g.name.clone()) else {
                return Err(UserError::new(
                    &path,
                    format!("Variant is missing a value for option '{}'", o.name),
                    "OPTION_VALUES_MISSING",
                ));
            };
            if !o.values.contains(&value) {
                return Err(UserError::new(
                    &path,
                    format!(
                        "Option value '{value}' does not exist for option '{}'",
                        o.name
                    ),
                    "OPTION_VALUE_DOES_NOT_EXIST",
                ));
            }
            values.push((o.name.clone(), value));
        }
        let extra = v.option_values.iter().flatten().find(|ov| {
            !product.options.iter().any(|o| {
                ov.option_name
                    .as_deref()
                    .is_some_and(|name| name.eq_ignore_ascii_case(&o.name))
            })
        });
        if let Some(extra) = extra {
            return Err(UserError::new(
                &path,
                format!(
                    "Option '{}' does not exist",
                    extra.option_name.clone().unwrap_or_default()
                ),
                "OPTION_DOES_NOT_EXIST",
            ));
        }
        if !seen.insert(values.clone()) {
            let label: Vec<&str> = values.iter().map(|(_, v)| v.as_str()).collect();
            return Err(UserError::new(
                &path,
                format!("The variant '{}' already exists.", label.join(" / ")),
                "DUPLICATED_VARIANT",
            ));
        }
        let matched = match &v.id {
            Some(id) => match id_of("ProductVariant", id).and_then(|i| old.get(&i)) {
                Some(var) => Some(var.clone()),
                None => {
                    return Err(UserError::new(
                        &path,
                        format!("Variant {} does not belong to this product", id.0),
                        "INVALID_VARIANT",
                    ));
                }
            },
            None => old.values().find(|o| o.options == values).cloned(),
        };
        let mut variant = matched.unwrap_or_else(|| Variant::blank(next(), product.id, now));
        variant.options = values;
        if let Some(sku) = v
            .sku
            .or_else(|| v.inventory_item.as_ref().and_then(|i| i.sku.clone()))
        {
            variant.sku = sku;
        }
        if let Some(p) = v.price {
            variant.price = p.value();
        }
        if let Some(p) = v.compare_at_price {
            variant.compare_at_price = Some(p.value());
        }
        if let Some(b) = v.barcode {
            variant.barcode = Some(b);
        }
        variant.updated_ms = now;
        variants.push(variant);
    }
    data.next_id = counter;
    let kept: BTreeSet<u64> = variants.iter().map(|v| v.id).collect();
    let removed = old
        .keys()
        .filter(|id| !kept.contains(id))
        .copied()
        .collect();
    product.updated_ms = now;
    Ok(Planned {
        product,
        variants,
        removed,
        created,
    })
}

/// Writes a planned product: assigns its id and handle, replaces its variants.
fn apply(data: &mut Data, mut planned: Planned) -> Product {
    if planned.created {
        planned.product.id = data.id();
    }
    if planned.product.handle.is_empty() {
        planned.product.handle = handle_for(data, &planned.product.title, Some(planned.product.id));
    }
    for id in &planned.removed {
        data.variants.remove(id);
        data.levels.remove(id);
    }
    let locations: Vec<u64> = data.locations.keys().copied().collect();
    planned.product.variants = planned.variants.iter().map(|v| v.id).collect();
    for mut v in planned.variants {
        v.product_id = planned.product.id;
        let levels = data.levels.entry(v.id).or_default();
        for l in &locations {
            levels.entry(*l).or_default();
        }
        data.variants.insert(v.id, v);
    }
    data.products
        .insert(planned.product.id, planned.product.clone());
    planned.product
}

pub(crate) fn announce(shop: &super::Shop, product: &Product, created: bool) {
    let payload = product.payload(&shop.read());
    let topic = if created {
        "products/create"
    } else {
        "products/update"
    };
    shop.changed(format!("products/{}", product.id), topic, payload);
}

#[derive(Default)]
pub(crate) struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Creates or updates a product with its options and variants in one request; all or
    /// nothing.
    async fn product_set(
        &self,
        ctx: &Context<'_>,
        input: ProductSetInput,
        identifier: Option<ProductSetIdentifiers>,
        #[graphql(default = true)] synchronous: bool,
    ) -> ProductSetPayload {
        let _ = synchronous;
        let shop = shop(ctx);
        let result = {
            let mut data = shop.write();
            plan_set(&mut data, input, identifier).map(|planned| {
                let created = planned.created;
                (apply(&mut data, planned), created)
            })
        };
        match result {
            Ok((product, created)) => {
                announce(shop, &product, created);
                ProductSetPayload {
                    product: Some(ProductNode(product)),
                    user_errors: Vec::new(),
                }
            }
            Err(e) => ProductSetPayload {
                product: None,
                user_errors: vec![e],
            },
        }
    }

    /// Creates a product (its options' first values make its one variant).
    async fn product_create(
        &self,
        ctx: &Context<'_>,
        product: Option<ProductInput>,
        input: Option<ProductInput>,
    ) -> ProductPayload {
        let Some(given) = product.or(input) else {
            return ProductPayload {
                product: None,
                user_errors: vec![UserError::new(
                    &["product"],
                    "Product input is required",
                    "BLANK",
                )],
            };
        };
        let set = ProductSetInput {
            id: None,
            title: given.title,
            handle: given.handle,
            description_html: given.description_html,
            vendor: given.vendor,
            product_type: given.product_type,
            status: given.status,
            tags: given.tags,
            collections: given.collections_to_join,
            product_options: given.product_options,
            variants: None,
        };
        let shop = shop(ctx);
        let result = {
            let mut data = shop.write();
            plan_set(&mut data, set, None).map(|planned| apply(&mut data, planned))
        };
        payload(shop, result, true)
    }

    /// Updates a product's own fields (not its variants).
    async fn product_update(
        &self,
        ctx: &Context<'_>,
        product: Option<ProductInput>,
        input: Option<ProductInput>,
    ) -> ProductPayload {
        let Some(given) = product.or(input) else {
            return ProductPayload {
                product: None,
                user_errors: vec![UserError::new(
                    &["product"],
                    "Product input is required",
                    "BLANK",
                )],
            };
        };
        let Some(id) = given.id.clone() else {
            return ProductPayload {
                product: None,
                user_errors: vec![UserError::new(
                    &["product", "id"],
                    "Product id is required",
                    "BLANK",
                )],
            };
        };
        let shop = shop(ctx);
        let result = {
            let mut data = shop.write();
            let mut collections = id_of("Product", &id)
                .and_then(|n| data.products.get(&n))
                .map(|p| p.collections.clone())
                .unwrap_or_default();
            for c in given.collections_to_join.iter().flatten() {
                if let Some(n) = id_of("Collection", c).filter(|n| !collections.contains(n)) {
                    collections.push(n);
                }
            }
            for c in given.collections_to_leave.iter().flatten() {
                if let Some(n) = id_of("Collection", c) {
                    collections.retain(|k| *k != n);
                }
            }
            let set = ProductSetInput {
                id: Some(id),
                title: given.title,
                handle: given.handle,
                description_html: given.description_html,
                vendor: given.vendor,
                product_type: given.product_type,
                status: given.status,
                tags: given.tags,
                collections: Some(
                    collections
                        .into_iter()
                        .map(|n| gid("Collection", n))
                        .collect(),
                ),
                product_options: None,
                variants: None,
            };
            plan_set(&mut data, set, None).map(|planned| apply(&mut data, planned))
        };
        payload(shop, result, false)
    }

    /// Deletes a product and its variants.
    async fn product_delete(
        &self,
        ctx: &Context<'_>,
        input: ProductDeleteInput,
    ) -> ProductDeletePayload {
        let shop = shop(ctx);
        let removed = {
            let mut data = shop.write();
            let product = id_of("Product", &input.id).and_then(|n| data.products.remove(&n));
            if let Some(p) = &product {
                for v in &p.variants {
                    data.variants.remove(v);
                    data.levels.remove(v);
                }
            }
            product
        };
        match removed {
            Some(p) => {
                shop.changed(
                    format!("products/{}", p.id),
                    "products/delete",
                    json!({ "id": p.id }),
                );
                ProductDeletePayload {
                    deleted_product_id: Some(gid("Product", p.id)),
                    user_errors: Vec::new(),
                }
            }
            None => ProductDeletePayload {
                deleted_product_id: None,
                user_errors: vec![UserError::new(
                    &["id"],
                    "Product does not exist",
                    "NOT_FOUND",
                )],
            },
        }
    }
}

fn payload(
    shop: &super::Shop,
    result: Result<Product, UserError>,
    created: bool,
) -> ProductPayload {
    match result {
        Ok(product) => {
            announce(shop, &product, created);
            ProductPayload {
                product: Some(ProductNode(product)),
                user_errors: Vec::new(),
            }
        }
        Err(e) => ProductPayload {
            product: None,
            user_errors: vec![e],
        },
    }
}

/// The seed's products, each with its one default variant, in the seed's collections.
pub(super) fn seed(
    data: &mut Data,
    dataset: &Dataset,
    collections: &BTreeMap<u64, u64>,
    now: i64,
) -> BTreeMap<u64, u64> {
    let mut ids = BTreeMap::new();
    for p in &dataset.products {
        let id = data.id();
        let option = default_option(data.id());
        let mut variant = Variant::blank(data.id(), id, now);
        ids.insert(p.id, variant.id);
        variant.sku = p.sku.clone();
        variant.price = p.price;
        variant.options = vec![("Title".into(), "Default Title".into())];
        let product = Product {
            id,
            title: p.name.clone(),
            handle: String::new(),
            description_html: String::new(),
            vendor: String::new(),
            product_type: String::new(),
            status: if p.visible {
                ProductStatus::Active
            } else {
                ProductStatus::Draft
            },
            tags: Vec::new(),
            options: vec![option],
            variants: Vec::new(),
            collections: p
                .categories
                .iter()
                .filter_map(|c| collections.get(c).copied())
                .collect(),
            created_ms: now,
            updated_ms: now,
        };
        apply(
            data,
            Planned {
                product,
                variants: vec![variant],
                removed: Vec::new(),
                created: false,
            },
        );
    }
    ids
}
