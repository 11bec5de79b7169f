//! The writes on products an ERP sync uses: `productSet` (the whole product with its options
//! and variants, checked whole before anything changes), `productCreate`, `productUpdate`,
//! `productDelete`; and the seed's products.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use serde_json::json;

use super::{
    Data, UserError,
    measurement::{InventoryItemMeasurementInput, weight_of},
    now_ms,
    product_input::{ProductCreateInput, ProductInput, ProductUpdateInput},
    products::{
        MAX_OPTIONS, MAX_VARIANTS, Product, ProductNode, ProductOption, ProductStatus, handle_for,
        unique_handle,
    },
    search::*,
    shop,
    variants::Variant,
};
use crate::seed::Dataset;

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

/// `InventoryItemInput` (the SKU may be given here, as in recent versions; the weight is
/// only given here).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct InventoryItemInput {
    pub sku: Option<String>,
    pub tracked: Option<bool>,
    pub measurement: Option<InventoryItemMeasurementInput>,
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
    // A product made through `identifier: { handle }` gets that handle.
    let by_handle = identifier.as_ref().and_then(|i| i.handle.clone());
    let handle = input
        .handle
        .or(by_handle.filter(|_| created && target.is_none()));
    if let Some(h) = handle {
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
        if let Some(w) = weight_of(
            v.inventory_item
                .as_ref()
                .and_then(|i| i.measurement.as_ref()),
            &path,
        )? {
            variant.weight = Some(w);
        }
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
        product: Option<ProductCreateInput>,
        input: Option<ProductInput>,
    ) -> ProductPayload {
        let Some(given) = product.map(ProductInput::from).or(input) else {
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
        product: Option<ProductUpdateInput>,
        input: Option<ProductInput>,
    ) -> ProductPayload {
        let Some(given) = product.map(ProductInput::from).or(input) else {
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
    // Handles kept aside: asking `handle_for` would scan every product for each (a seed of
    // 1,000,000 never finished).
    let mut handles: std::collections::HashSet<String> =
        data.products.values().map(|p| p.handle.clone()).collect();
    for p in &dataset.products {
        let handle = unique_handle(&p.name, |h| handles.contains(h));
        handles.insert(handle.clone());
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
            handle,
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
