//! Products, templates, collections and stock on Shopify.
//!
//! - A product is written whole with `productSet` (its options and every variant in one
//!   mutation, all or nothing); several products share one request as aliased mutations.
//!   A simple product has Shopify's one "Default Title" variant carrying the SKU; a template
//!   becomes one product whose variants are its matrix items. kcf tags what it creates
//!   `kcf:{ERP key}`, which is how a template product (which has no SKU of its own) is found
//!   again.
//! - Categories are collections (flat: Shopify has no tree); hiding unpublishes one.
//! - Stock is in [`crate::stock`].

use std::collections::BTreeMap;

use kcf_domain::{
    Platform,
    records::{CategoryRecord, ProductRecord, VariantRecord},
};
use kcf_platform::{Outbox, PlatformError, ProductWrite, Result, TemplateWrite};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    WeightUnit,
    client::{Page, ShopifyClient, gid, number_of, quoted},
};

/// Products written per request (aliased `productSet` mutations).
pub const WRITE_BATCH: usize = 10;
/// SKUs looked up per query.
pub(crate) const SKU_BATCH: usize = 50;

/// The tag kcf puts on a product it creates, naming its ERP key.
pub fn key_tag(key: &str) -> String {
    format!("kcf:{key}")
}

pub(crate) fn note(out: &dyn Outbox, key: Option<&str>, target: String, body: &Value) {
    out.sending(key, target, body.clone());
}

const DEFAULT_OPTION: &str = "Title";
const DEFAULT_VALUE: &str = "Default Title";

fn status(visible: bool) -> &'static str {
    if visible { "ACTIVE" } else { "DRAFT" }
}

fn collections(ids: &[String]) -> Vec<String> {
    ids.iter().map(|c| gid("Collection", c)).collect()
}

/// The `ProductSetInput` of a simple product (`whole`: every field; else the switched-off
/// ones are left out, and so left alone). Weights are in `unit`.
pub(crate) fn product_input(
    w: &ProductWrite,
    whole: bool,
    create: bool,
    unit: WeightUnit,
) -> Value {
    let off = |f: &str| !whole && w.fields_off.iter().any(|o| o == f);
    let r: &ProductRecord = &w.record;
    let mut input = json!({});
    if !off("name") {
        input["title"] = json!(r.name);
    }
    if !off("visibility") {
        input["status"] = json!(status(r.visible));
    }
    if !off("categories") {
        input["collections"] = json!(collections(&w.category_ids));
    }
    if create {
        input["tags"] = json!([key_tag(&w.key)]);
    }
    let price = create || !off("price");
    let weight = create || !off("weight");
    if price || weight {
        // The one default variant: the options must be restated to address it.
        input["productOptions"] =
            json!([{ "name": DEFAULT_OPTION, "values": [{ "name": DEFAULT_VALUE }] }]);
        let mut variant = json!({
            "sku": r.sku,
            "optionValues": [{ "optionName": DEFAULT_OPTION, "name": DEFAULT_VALUE }],
        });
        if price {
            variant["price"] = json!(format!("{:.2}", r.price));
            variant["compareAtPrice"] = json!(r.msrp.map(|m| format!("{m:.2}")));
        }
        if weight {
            variant["inventoryItem"] = measured(r.weight, unit);
        }
        input["variants"] = json!([variant]);
    }
    input
}

/// An `InventoryItemInput` carrying a weight.
fn measured(weight: f64, unit: WeightUnit) -> Value {
    json!({ "measurement": { "weight": { "value": weight, "unit": unit.as_str() } } })
}

fn variant_input(v: &VariantRecord, weight: f64, unit: WeightUnit) -> Value {
    let values: Vec<Value> = v
        .options
        .iter()
        .map(|(name, value)| json!({ "optionName": name, "name": value }))
        .collect();
    json!({
        "sku": v.sku,
        "price": format!("{:.2}", v.price),
        "compareAtPrice": v.msrp.map(|m| format!("{m:.2}")),
        "optionValues": values,
        "inventoryItem": measured(weight, unit),
    })
}

/// The `ProductSetInput` of a template: its options, and a variant per matrix item (each
/// with the template's weight).
pub(crate) fn template_input(w: &TemplateWrite, create: bool, unit: WeightUnit) -> Value {
    let r = &w.record;
    let options: Vec<Value> = r
        .options
        .iter()
        .map(|o| {
            let values: Vec<Value> = o.values.iter().map(|v| json!({ "name": v })).collect();
            json!({ "name": o.name, "values": values })
        })
        .collect();
    // Shopify has no variant that is not for sale: an inactive matrix item is left out.
    let variants: Vec<Value> = r
        .variants
        .iter()
        .filter(|v| v.active)
        .map(|v| variant_input(v, r.product.weight, unit))
        .collect();
    let mut input = json!({
        "title": r.product.name,
        "status": status(r.product.visible),
        "collections": collections(&w.category_ids),
        "productOptions": options,
        "variants": variants,
    });
    if create {
        input["tags"] = json!([key_tag(&w.key)]);
        input["handle"] = json!(template_handle(&w.key, &r.product.name));
    }
    input
}

const PRODUCT_SET: &str =
    "mutation ProductSet($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { id }
    userErrors { field message code }
  }
}";

#[derive(Debug, Deserialize)]
struct SetPayload {
    product: Option<Node>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Node {
    pub id: String,
}

/// The handle kcf gives a template's product when it creates it, from its title and ERP
/// key. Two creators of one template (the template's message and a matrix item's, in two
/// worker processes) name the same handle, and Shopify, whose handles are unique, makes one
/// product: `productSet` by handle updates the product the first one made.
pub fn template_handle(key: &str, title: &str) -> String {
    let slug = |s: &str| {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    let (title, key) = (slug(title), slug(key));
    if title.is_empty() || title == key {
        key
    } else if title.ends_with(&format!("-{key}")) {
        title
    } else {
        format!("{title}-{key}")
    }
}

/// Writes one product (`id`: the existing one; else `handle`: the one with that handle, or a
/// new one with it; else a new one); returns its number.
pub(crate) async fn set_product(
    client: &ShopifyClient,
    id: Option<&str>,
    handle: Option<&str>,
    input: Value,
    what: &str,
) -> Result<String> {
    let identifier = match (id, handle) {
        (Some(id), _) => Some(json!({ "id": gid("Product", id) })),
        (None, Some(h)) => Some(json!({ "handle": h })),
        (None, None) => None,
    };
    let payload: SetPayload = client
        .mutate(
            "productSet",
            PRODUCT_SET,
            json!({ "input": input, "identifier": identifier }),
            "productSet",
            what,
        )
        .await
        .map_err(|e| gone(e, id))?;
    payload.product.map(|p| number_of(&p.id)).ok_or_else(|| {
        PlatformError::record(
            Platform::Shopify,
            format!("{what}: Shopify returned no product"),
        )
    })
}

/// A refusal naming a product that does not exist is NotFound.
fn gone(e: crate::Error, id: Option<&str>) -> PlatformError {
    if id.is_some() && e.has_code("PRODUCT_DOES_NOT_EXIST") {
        return crate::Error::NotFound {
            message: format!("Shopify has no product {}", id.unwrap_or_default()),
        }
        .into();
    }
    e.into()
}

/// Writes several products in one request (aliased mutations); one result each.
pub(crate) async fn set_products(
    client: &ShopifyClient,
    items: &[(String, Value)],
) -> Result<Vec<Result<()>>> {
    let mut params = Vec::new();
    let mut fields = Vec::new();
    let mut variables = serde_json::Map::new();
    for (n, (id, input)) in items.iter().enumerate() {
        params.push(format!(
            "$i{n}: ProductSetInput!, $k{n}: ProductSetIdentifiers"
        ));
        fields.push(format!(
            "p{n}: productSet(input: $i{n}, identifier: $k{n}, synchronous: true) {{ product {{ id }} userErrors {{ field message code }} }}"
        ));
        variables.insert(format!("i{n}"), input.clone());
        variables.insert(format!("k{n}"), json!({ "id": gid("Product", id) }));
    }
    let query = format!(
        "mutation ProductsSet({}) {{ {} }}",
        params.join(", "),
        fields.join(" ")
    );
    let data: Value = client
        .query(
            "productsSet",
            &query,
            Value::Object(variables),
            "writing products",
        )
        .await?;
    Ok(items
        .iter()
        .enumerate()
        .map(|(n, (id, _))| {
            let payload = &data[format!("p{n}")];
            crate::client::refused(payload, &format!("product {id}")).map_err(|e| gone(e, Some(id)))
        })
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantHit {
    sku: Option<String>,
    product: ProductHit,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductHit {
    id: String,
    has_only_default_variant: bool,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantsData {
    product_variants: Page<VariantHit>,
}

const VARIANTS_BY_SKU: &str = "query VariantsBySku($q: String!, $n: Int!) {
  productVariants(first: $n, query: $q) {
    nodes { sku product { id hasOnlyDefaultVariant tags } }
  }
}";

pub(crate) fn sku_query(skus: &[String]) -> String {
    skus.iter()
        .map(|s| format!("sku:{}", quoted(s)))
        .collect::<Vec<_>>()
        .join(" OR ")
}

async fn variants_by_sku(client: &ShopifyClient, skus: &[String]) -> Result<Vec<VariantHit>> {
    let mut hits = Vec::new();
    for (n, chunk) in skus.chunks(SKU_BATCH).enumerate() {
        let look = || {
            client.query(
                "variantsBySku",
                VARIANTS_BY_SKU,
                json!({ "q": sku_query(chunk), "n": chunk.len() * 2 }),
                "looking products up by SKU",
            )
        };
        let data: VariantsData = if n == 0 {
            look().await?
        } else {
            crate::limit::patiently(look).await?
        };
        hits.extend(data.product_variants.nodes);
    }
    Ok(hits)
}

/// The products whose one (default) variant has these SKUs, by upper-cased SKU.
pub(crate) async fn product_ids_by_sku(
    client: &ShopifyClient,
    skus: &[String],
) -> Result<BTreeMap<String, String>> {
    Ok(variants_by_sku(client, skus)
        .await?
        .into_iter()
        .filter(|v| v.product.has_only_default_variant)
        .filter_map(|v| Some((v.sku?.to_uppercase(), number_of(&v.product.id))))
        .collect())
}

#[derive(Debug, Deserialize)]
struct ProductsData {
    products: Page<ProductHit>,
}

/// The product kcf created for ERP key `key` (tagged), or a simple one with this SKU.
pub(crate) async fn product_by_sku(client: &ShopifyClient, key: &str) -> Result<Option<String>> {
    let data: ProductsData = client
        .query(
            "productByKey",
            "query ProductByKey($q: String!) { products(first: 10, query: $q) { nodes { id hasOnlyDefaultVariant tags } } }",
            json!({ "q": format!("tag:{}", quoted(&key_tag(key))) }),
            "looking a product up by its ERP key",
        )
        .await?;
    let tag = key_tag(key);
    if let Some(p) = data.products.nodes.iter().find(|p| p.tags.contains(&tag)) {
        return Ok(Some(number_of(&p.id)));
    }
    Ok(product_ids_by_sku(client, &[key.to_owned()])
        .await?
        .remove(&key.to_uppercase()))
}

/// The product that has a variant (not its only default one) with this SKU.
pub(crate) async fn product_of_variant(
    client: &ShopifyClient,
    sku: &str,
) -> Result<Option<String>> {
    Ok(variants_by_sku(client, &[sku.to_owned()])
        .await?
        .into_iter()
        .find(|v| {
            !v.product.has_only_default_variant
                && v.sku
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(sku))
        })
        .map(|v| number_of(&v.product.id)))
}

/// Hides a product (status ARCHIVED) or deletes it.
pub(crate) async fn retire_product(
    client: &ShopifyClient,
    id: &str,
    delete: bool,
    out: &dyn Outbox,
) -> Result<()> {
    let product = gid("Product", id);
    let missing = || crate::Error::NotFound {
        message: format!("Shopify has no product {id}"),
    };
    if delete {
        note(
            out,
            None,
            format!("Shopify product {id} (delete)"),
            &Value::Null,
        );
        let data: Value = client
            .query(
                "productDelete",
                "mutation ProductDelete($id: ID!) { productDelete(input: { id: $id }) { deletedProductId userErrors { field message code } } }",
                json!({ "id": product }),
                "deleting a product",
            )
            .await?;
        let payload = &data["productDelete"];
        if payload["deletedProductId"].is_null() {
            return Err(missing().into());
        }
        return Ok(());
    }
    let body = json!({ "id": product, "status": "ARCHIVED" });
    note(out, None, format!("Shopify product {id} (hide)"), &body);
    let data: Value = client
        .query(
            "productHide",
            "mutation ProductHide($p: ProductUpdateInput!) { productUpdate(product: $p) { product { id } userErrors { field message code } } }",
            json!({ "p": body }),
            "hiding a product",
        )
        .await?;
    if data["productUpdate"]["product"].is_null() {
        return Err(missing().into());
    }
    Ok(())
}

const COLLECTION_UPDATE: &str = "mutation CollectionUpdate($input: CollectionInput!) {
  collectionUpdate(input: $input) { collection { id } userErrors { field message } }
}";

const ONLINE_STORE: &str = "{ publications(first: 1) { nodes { id } } }";

async fn publish(client: &ShopifyClient, id: &str, on: bool) -> Result<()> {
    let data: Value = client
        .query(
            "publications",
            ONLINE_STORE,
            json!({}),
            "reading sales channels",
        )
        .await?;
    let Some(publication) = data["publications"]["nodes"][0]["id"].as_str() else {
        return Ok(());
    };
    let (name, field) = if on {
        ("publish", "publishablePublish")
    } else {
        ("unpublish", "publishableUnpublish")
    };
    let query = format!(
        "mutation Publish($id: ID!, $input: [PublicationInput!]!) {{ {field}(id: $id, input: $input) {{ userErrors {{ field message }} }} }}"
    );
    let _: Value = client
        .mutate(
            if on { "publish" } else { "unpublish" },
            &query,
            json!({ "id": gid("Collection", id), "input": [{ "publicationId": publication }] }),
            field,
            &format!("the collection ({name})"),
        )
        .await?;
    Ok(())
}

/// Updates collection `id` (and shows it again).
pub(crate) async fn update_category(
    client: &ShopifyClient,
    id: &str,
    record: &CategoryRecord,
    out: &dyn Outbox,
) -> Result<()> {
    let input = json!({ "id": gid("Collection", id), "title": record.name });
    note(
        out,
        None,
        format!("Shopify collection {id} (update)"),
        &input,
    );
    let payload: Value = client
        .mutate(
            "collectionUpdate",
            COLLECTION_UPDATE,
            json!({ "input": input }),
            "collectionUpdate",
            "the collection",
        )
        .await
        .map_err(|e| match e {
            crate::Error::Refused { .. } => crate::Error::NotFound {
                message: format!("Shopify has no collection {id}"),
            },
            other => other,
        })?;
    if payload["collection"].is_null() {
        return Err(crate::Error::NotFound {
            message: format!("Shopify has no collection {id}"),
        }
        .into());
    }
    publish(client, id, true).await
}

/// Hides collection `id` (unpublishes it) or deletes it.
pub(crate) async fn retire_category(
    client: &ShopifyClient,
    id: &str,
    delete: bool,
    out: &dyn Outbox,
) -> Result<()> {
    if !delete {
        note(
            out,
            None,
            format!("Shopify collection {id} (hide)"),
            &Value::Null,
        );
        return publish(client, id, false).await.map_err(|e| {
            if e.kind == kcf_platform::ErrorKind::Invalid {
                crate::Error::NotFound {
                    message: format!("Shopify has no collection {id}"),
                }
                .into()
            } else {
                e
            }
        });
    }
    note(
        out,
        None,
        format!("Shopify collection {id} (delete)"),
        &Value::Null,
    );
    let data: Value = client
        .query(
            "collectionDelete",
            "mutation CollectionDelete($id: ID!) { collectionDelete(input: { id: $id }) { deletedCollectionId userErrors { field message } } }",
            json!({ "id": gid("Collection", id) }),
            "deleting a collection",
        )
        .await?;
    if data["collectionDelete"]["deletedCollectionId"].is_null() {
        return Err(crate::Error::NotFound {
            message: format!("Shopify has no collection {id}"),
        }
        .into());
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct CollectionHit {
    id: String,
    title: String,
}

#[derive(Debug, Deserialize)]
struct CollectionsData {
    collections: Page<CollectionHit>,
}

/// Adopts the collection titled like `record` (updating it), or creates one; returns its
/// number and whether it was adopted. Collections are flat: the parent is not kept.
pub(crate) async fn put_category(
    client: &ShopifyClient,
    record: &CategoryRecord,
    out: &dyn Outbox,
) -> Result<(String, bool)> {
    let found: CollectionsData = client
        .query(
            "collectionByTitle",
            "query CollectionByTitle($q: String!) { collections(first: 10, query: $q) { nodes { id title } } }",
            json!({ "q": format!("title:{}", quoted(&record.name)) }),
            "looking a collection up by title",
        )
        .await?;
    if let Some(c) = found
        .collections
        .nodes
        .iter()
        .find(|c| c.title == record.name)
    {
        let id = number_of(&c.id);
        update_category(client, &id, record, out).await?;
        return Ok((id, true));
    }
    let input = json!({ "title": record.name });
    note(out, None, "Shopify collection (create)".into(), &input);
    let payload: Value = client
        .mutate(
            "collectionCreate",
            "mutation CollectionCreate($input: CollectionInput!) { collectionCreate(input: $input) { collection { id } userErrors { field message } } }",
            json!({ "input": input }),
            "collectionCreate",
            "the collection",
        )
        .await?;
    let id = payload["collection"]["id"]
        .as_str()
        .map(number_of)
        .ok_or_else(|| {
            PlatformError::record(Platform::Shopify, "Shopify returned no collection")
        })?;
    Ok((id, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fields_off: &[&str]) -> ProductWrite {
        ProductWrite {
            key: "KCF-1".into(),
            record: ProductRecord {
                sku: "KCF-1".into(),
                name: "Widget".into(),
                price: 12.5,
                weight: 1.5,
                visible: true,
                status: "Active".into(),
                category_keys: Vec::new(),
                modified_at: None,
                msrp: None,
                template: None,
            },
            category_ids: vec!["7".into()],
            fields_off: fields_off.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn the_weight_goes_on_the_variants_inventory_item_in_the_configured_unit() {
        let input = product_input(&write(&[]), true, true, WeightUnit::Pounds);
        assert_eq!(
            input["variants"][0]["inventoryItem"]["measurement"]["weight"],
            json!({ "value": 1.5, "unit": "POUNDS" })
        );
        assert_eq!(input["variants"][0]["price"], "12.50");
        assert_eq!(input["tags"], json!(["kcf:KCF-1"]));
    }

    #[test]
    fn a_templates_handle_comes_from_its_title_and_key() {
        assert_eq!(template_handle("TEE-A", "Classic Tee"), "classic-tee-tee-a");
        assert_eq!(template_handle("TEE-A", "Tee TEE-A"), "tee-tee-a");
        assert_eq!(template_handle("TEE-A", "TEE-A"), "tee-a");
        assert_eq!(template_handle("TEE-A", "  "), "tee-a");
    }

    #[test]
    fn switched_off_fields_are_left_out_of_an_update() {
        let no_weight = product_input(&write(&["weight"]), false, false, WeightUnit::Kilograms);
        assert!(no_weight["variants"][0]["inventoryItem"].is_null());
        assert_eq!(no_weight["variants"][0]["price"], "12.50");
        let no_price = product_input(&write(&["price"]), false, false, WeightUnit::Kilograms);
        assert!(no_price["variants"][0]["price"].is_null());
        assert_eq!(
            no_price["variants"][0]["inventoryItem"]["measurement"]["weight"]["value"],
            1.5
        );
        let neither = product_input(
            &write(&["price", "weight"]),
            false,
            false,
            WeightUnit::Grams,
        );
        assert!(neither["variants"].is_null());
        // A create is always whole.
        let create = product_input(&write(&["price", "weight"]), false, true, WeightUnit::Grams);
        assert_eq!(
            create["variants"][0]["inventoryItem"]["measurement"]["weight"]["unit"],
            "GRAMS"
        );
    }
}
