//! Product variants: `productVariants` (searched by `sku`, `product_id`, `updated_at`),
//! `productVariant`, and `productVariantsBulkCreate` / `Update` / `Delete`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};

use super::{
    Data, UserError,
    inventory::InventoryItemNode,
    measurement::{Weight, weight_of},
    now_ms,
    product_set::{InventoryItemInput, VariantOptionValueInput, announce},
    products::{MAX_VARIANTS, ProductNode},
    search::*,
    shop,
};

/// A variant as the shop keeps it; its inventory item has the same number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Variant {
    pub id: u64,
    pub product_id: u64,
    pub sku: String,
    pub price: f64,
    pub compare_at_price: Option<f64>,
    pub barcode: Option<String>,
    /// (option name, value), in the product's option order.
    pub options: Vec<(String, String)>,
    /// Kept on the inventory item in Shopify's model.
    #[serde(default)]
    pub weight: Option<Weight>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Variant {
    pub(crate) fn blank(id: u64, product_id: u64, now: i64) -> Self {
        Self {
            id,
            product_id,
            sku: String::new(),
            price: 0.0,
            compare_at_price: None,
            barcode: None,
            options: Vec::new(),
            weight: None,
            created_ms: now,
            updated_ms: now,
        }
    }

    pub(crate) fn value_of(&self, option: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(name, _)| name == option)
            .map(|(_, v)| v.as_str())
    }

    fn title(&self) -> String {
        let values: Vec<&str> = self.options.iter().map(|(_, v)| v.as_str()).collect();
        values.join(" / ")
    }
}

/// `ProductVariant`.
#[derive(Debug, Clone)]
pub(crate) struct VariantNode(pub Variant);

/// `SelectedOption`.
#[derive(Debug, Clone, SimpleObject)]
struct SelectedOption {
    name: String,
    value: String,
}

#[Object(name = "ProductVariant")]
impl VariantNode {
    async fn id(&self) -> ID {
        gid("ProductVariant", self.0.id)
    }
    async fn legacy_resource_id(&self) -> String {
        self.0.id.to_string()
    }
    async fn title(&self) -> String {
        self.0.title()
    }
    async fn display_name(&self, ctx: &Context<'_>) -> String {
        let product = shop(ctx)
            .read()
            .products
            .get(&self.0.product_id)
            .map(|p| p.title.clone())
            .unwrap_or_default();
        format!("{product} - {}", self.0.title())
    }
    async fn sku(&self) -> Option<&str> {
        Some(self.0.sku.as_str()).filter(|s| !s.is_empty())
    }
    async fn price(&self) -> Money {
        Money::of(self.0.price)
    }
    async fn compare_at_price(&self) -> Option<Money> {
        self.0.compare_at_price.map(Money::of)
    }
    async fn barcode(&self) -> Option<&str> {
        self.0.barcode.as_deref()
    }
    async fn position(&self, ctx: &Context<'_>) -> i32 {
        shop(ctx)
            .read()
            .products
            .get(&self.0.product_id)
            .and_then(|p| p.variants.iter().position(|v| *v == self.0.id))
            .map_or(1, |n| n as i32 + 1)
    }
    async fn selected_options(&self) -> Vec<SelectedOption> {
        self.0
            .options
            .iter()
            .map(|(name, value)| SelectedOption {
                name: name.clone(),
                value: value.clone(),
            })
            .collect()
    }
    async fn inventory_quantity(&self, ctx: &Context<'_>) -> i64 {
        shop(ctx)
            .read()
            .levels
            .get(&self.0.id)
            .map_or(0, |l| l.values().map(|l| l.available).sum())
    }
    async fn inventory_item(&self) -> InventoryItemNode {
        InventoryItemNode {
            id: self.0.id,
            sku: self.0.sku.clone(),
        }
    }
    async fn product(&self, ctx: &Context<'_>) -> Option<ProductNode> {
        shop(ctx)
            .read()
            .products
            .get(&self.0.product_id)
            .cloned()
            .map(ProductNode)
    }
    async fn created_at(&self) -> DateTime {
        DateTime::of(self.0.created_ms)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime::of(self.0.updated_ms)
    }
}

fn variant_field(v: &Variant, field: &str) -> Option<Vec<Field>> {
    Some(match field {
        "id" => vec![Field::Number(v.id as i64)],
        "sku" | "default" => vec![Field::Text(v.sku.clone())],
        "product_id" => vec![Field::Number(v.product_id as i64)],
        "barcode" => vec![Field::Text(v.barcode.clone().unwrap_or_default())],
        "title" => vec![Field::Text(v.title())],
        "updated_at" => vec![Field::Time(v.updated_ms)],
        "created_at" => vec![Field::Time(v.created_ms)],
        _ => return None,
    })
}

#[derive(Default)]
pub(crate) struct VariantQuery;

#[Object]
impl VariantQuery {
    #[allow(clippy::too_many_arguments)]
    async fn product_variants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        query: Option<String>,
    ) -> async_graphql::Result<Connection<String, VariantNode>> {
        let data = shop(ctx).read();
        let search = Search::parse(query.as_deref());
        let items = data
            .variants
            .values()
            .filter(|v| search.matches(|f| variant_field(v, f)))
            .map(|v| ((v.id as i64, v.id), VariantNode(v.clone())))
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

    async fn product_variant(&self, ctx: &Context<'_>, id: ID) -> Option<VariantNode> {
        let id = id_of("ProductVariant", &id)?;
        shop(ctx).read().variants.get(&id).cloned().map(VariantNode)
    }
}

/// `ProductVariantsBulkInput`.
#[derive(Debug, Clone, InputObject)]
struct ProductVariantsBulkInput {
    id: Option<ID>,
    price: Option<Money>,
    compare_at_price: Option<Money>,
    barcode: Option<String>,
    option_values: Option<Vec<VariantOptionValueInput>>,
    inventory_item: Option<InventoryItemInput>,
}

/// `ProductVariantsBulkCreatePayload` / `UpdatePayload` / `DeletePayload`.
#[derive(SimpleObject)]
struct BulkPayload {
    product: Option<ProductNode>,
    product_variants: Option<Vec<VariantNode>>,
    user_errors: Vec<UserError>,
}

impl BulkPayload {
    fn refused(e: UserError) -> Self {
        Self {
            product: None,
            product_variants: None,
            user_errors: vec![e],
        }
    }
}

/// A variant's values of its product's options, checked.
fn values_of(
    options: &[super::products::ProductOption],
    given: &[VariantOptionValueInput],
    path: &[&str],
) -> Result<Vec<(String, String)>, UserError> {
    options
        .iter()
        .map(|o| {
            let value = given
                .iter()
                .find(|g| {
                    g.option_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&o.name))
                })
                .and_then(|g| g.name.clone())
                .filter(|v| o.values.contains(v))
                .ok_or_else(|| {
                    UserError::new(
                        path,
                        format!(
                            "Variant needs a value of option '{}' that the option has",
                            o.name
                        ),
                        "INVALID_INPUT",
                    )
                })?;
            Ok((o.name.clone(), value))
        })
        .collect()
}

fn fill(v: &mut Variant, input: &ProductVariantsBulkInput, path: &[&str]) -> Result<(), UserError> {
    let measurement = input
        .inventory_item
        .as_ref()
        .and_then(|i| i.measurement.as_ref());
    if let Some(w) = weight_of(measurement, path)? {
        v.weight = Some(w);
    }
    if let Some(p) = &input.price {
        v.price = p.value();
    }
    if let Some(p) = &input.compare_at_price {
        v.compare_at_price = Some(p.value());
    }
    if let Some(b) = &input.barcode {
        v.barcode = Some(b.clone());
    }
    if let Some(sku) = input.inventory_item.as_ref().and_then(|i| i.sku.clone()) {
        v.sku = sku;
    }
    Ok(())
}

fn product_of(data: &Data, id: &ID) -> Result<super::products::Product, UserError> {
    id_of("Product", id)
        .and_then(|n| data.products.get(&n).cloned())
        .ok_or_else(|| {
            UserError::new(
                &["productId"],
                "Product does not exist",
                "PRODUCT_DOES_NOT_EXIST",
            )
        })
}

#[derive(Default)]
pub(crate) struct VariantMutation;

#[Object]
impl VariantMutation {
    /// Adds variants to a product, all or none.
    async fn product_variants_bulk_create(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        variants: Vec<ProductVariantsBulkInput>,
    ) -> BulkPayload {
        let shop = shop(ctx);
        let result = (|| {
            let mut data = shop.write();
            let mut product = product_of(&data, &product_id)?;
            let default_only = product.options.len() == 1 && product.options[0].name == "Title";
            if product.variants.len() + variants.len() > MAX_VARIANTS {
                return Err(UserError::new(
                    &["variants"],
                    format!("Can only specify a maximum of {MAX_VARIANTS} variants"),
                    "VARIANTS_OVER_LIMIT",
                ));
            }
            let mut taken: Vec<Vec<(String, String)>> = product
                .variants
                .iter()
                .filter_map(|v| data.variants.get(v).map(|v| v.options.clone()))
                .collect();
            let now = now_ms();
            let mut made = Vec::new();
            for (n, input) in variants.iter().enumerate() {
                let n = n.to_string();
                let values = values_of(
                    &product.options,
                    input.option_values.as_deref().unwrap_or_default(),
                    &["variants", &n, "optionValues"],
                )?;
                if taken.contains(&values) && !default_only {
                    return Err(UserError::new(
                        &["variants", &n],
                        "The variant already exists.",
                        "VARIANT_ALREADY_EXISTS",
                    ));
                }
                taken.push(values.clone());
                let mut v = Variant::blank(0, product.id, now);
                v.options = values;
                fill(&mut v, input, &["variants", &n])?;
                made.push(v);
            }
            if default_only {
                for v in std::mem::take(&mut product.variants) {
                    data.variants.remove(&v);
                    data.levels.remove(&v);
                }
            }
            let locations: Vec<u64> = data.locations.keys().copied().collect();
            for v in &mut made {
                v.id = data.id();
                product.variants.push(v.id);
                let levels = data.levels.entry(v.id).or_default();
                for l in &locations {
                    levels.entry(*l).or_default();
                }
                data.variants.insert(v.id, v.clone());
            }
            product.updated_ms = now;
            data.products.insert(product.id, product.clone());
            Ok((product, made))
        })();
        match result {
            Ok((product, made)) => {
                announce(shop, &product, false);
                BulkPayload {
                    product: Some(ProductNode(product)),
                    product_variants: Some(made.into_iter().map(VariantNode).collect()),
                    user_errors: Vec::new(),
                }
            }
            Err(e) => BulkPayload::refused(e),
        }
    }

    /// Updates variants of a product, all or none.
    async fn product_variants_bulk_update(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        variants: Vec<ProductVariantsBulkInput>,
    ) -> BulkPayload {
        let shop = shop(ctx);
        let result = (|| {
            let mut data = shop.write();
            let mut product = product_of(&data, &product_id)?;
            let now = now_ms();
            let mut changed = Vec::new();
            for (n, input) in variants.iter().enumerate() {
                let n = n.to_string();
                let id = input
                    .id
                    .as_ref()
                    .and_then(|id| id_of("ProductVariant", id))
                    .filter(|id| product.variants.contains(id))
                    .ok_or_else(|| {
                        UserError::new(
                            &["variants", &n, "id"],
                            "Product variant does not exist",
                            "PRODUCT_VARIANT_DOES_NOT_EXIST",
                        )
                    })?;
                let mut v = data.variants.get(&id).cloned().ok_or_else(|| {
                    UserError::new(
                        &["variants", &n, "id"],
                        "Product variant does not exist",
                        "PRODUCT_VARIANT_DOES_NOT_EXIST",
                    )
                })?;
                if let Some(values) = &input.option_values {
                    v.options =
                        values_of(&product.options, values, &["variants", &n, "optionValues"])?;
                }
                fill(&mut v, input, &["variants", &n])?;
                v.updated_ms = now;
                changed.push(v);
            }
            for v in &changed {
                data.variants.insert(v.id, v.clone());
            }
            product.updated_ms = now;
            data.products.insert(product.id, product.clone());
            Ok((product, changed))
        })();
        match result {
            Ok((product, changed)) => {
                announce(shop, &product, false);
                BulkPayload {
                    product: Some(ProductNode(product)),
                    product_variants: Some(changed.into_iter().map(VariantNode).collect()),
                    user_errors: Vec::new(),
                }
            }
            Err(e) => BulkPayload::refused(e),
        }
    }

    /// Deletes variants of a product (never its last one).
    async fn product_variants_bulk_delete(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        variants_ids: Vec<ID>,
    ) -> BulkPayload {
        let shop = shop(ctx);
        let result = (|| {
            let mut data = shop.write();
            let mut product = product_of(&data, &product_id)?;
            let ids: Vec<u64> = variants_ids
                .iter()
                .map(|id| {
                    id_of("ProductVariant", id)
                        .filter(|n| product.variants.contains(n))
                        .ok_or_else(|| {
                            UserError::new(
                                &["variantsIds"],
                                format!("Variant {} does not exist", id.0),
                                "AT_LEAST_ONE_VARIANT_DOES_NOT_BELONG_TO_THE_PRODUCT",
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
            if ids.len() >= product.variants.len() {
                return Err(UserError::new(
                    &["variantsIds"],
                    "A product must have at least one variant",
                    "CANNOT_DELETE_LAST_VARIANT",
                ));
            }
            product.variants.retain(|v| !ids.contains(v));
            for id in &ids {
                data.variants.remove(id);
                data.levels.remove(id);
            }
            product.updated_ms = now_ms();
            data.products.insert(product.id, product.clone());
            Ok(product)
        })();
        match result {
            Ok(product) => {
                announce(shop, &product, false);
                BulkPayload {
                    product: Some(ProductNode(product)),
                    product_variants: None,
                    user_errors: Vec::new(),
                }
            }
            Err(e) => BulkPayload::refused(e),
        }
    }
}
