//! Customers on Shopify. Shopify has no customer groups: the customer class travels as a tag
//! `class:{value}` (the way Acumatica's own connector keeps such things), and the other tags a
//! merchant set are kept.

use kcf_domain::{Platform, records::CustomerRecord};
use kcf_platform::{Outbox, PlatformError, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    catalog::note,
    client::{Page, ShopifyClient, gid, number_of, quoted},
};

const CLASS_TAG: &str = "class:";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Customer {
    id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    updated_at: Option<String>,
    default_address: Option<Address>,
}

#[derive(Debug, Clone, Deserialize)]
struct Address {
    company: Option<String>,
}

const FIELDS: &str = "id email firstName lastName phone tags updatedAt defaultAddress { company }";

fn record(c: Customer) -> CustomerRecord {
    CustomerRecord {
        key: number_of(&c.id),
        email: c.email.unwrap_or_default(),
        first_name: c.first_name.unwrap_or_default(),
        last_name: c.last_name.unwrap_or_default(),
        company: c
            .default_address
            .and_then(|a| a.company)
            .unwrap_or_default(),
        phone: c.phone.unwrap_or_default(),
        class: c
            .tags
            .iter()
            .find_map(|t| t.strip_prefix(CLASS_TAG).map(str::to_owned)),
        modified_at: c
            .updated_at
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| kcf_domain::Timestamp(t.as_millisecond())),
    }
}

/// A customer.
pub(crate) async fn customer(client: &ShopifyClient, id: &str) -> Result<Option<CustomerRecord>> {
    let data: Value = client
        .query(
            "customer",
            &format!("query Customer($id: ID!) {{ customer(id: $id) {{ {FIELDS} }} }}"),
            json!({ "id": gid("Customer", id) }),
            "reading a customer",
        )
        .await?;
    if data["customer"].is_null() {
        return Ok(None);
    }
    let c: Customer = serde_json::from_value(data["customer"].clone())
        .map_err(|e| PlatformError::new(Platform::Shopify, kcf_platform::ErrorKind::Invalid, e))?;
    Ok(Some(record(c)))
}

#[derive(Debug, Deserialize)]
struct CustomersData {
    customers: Page<Customer>,
}

/// The id of the customer with this e-mail address.
pub(crate) async fn customer_by_email(
    client: &ShopifyClient,
    email: &str,
) -> Result<Option<String>> {
    let data: CustomersData = client
        .query(
            "customerByEmail",
            &format!("query CustomerByEmail($q: String!) {{ customers(first: 5, query: $q) {{ nodes {{ {FIELDS} }} }} }}"),
            json!({ "q": format!("email:{}", quoted(email)) }),
            "looking a customer up by e-mail",
        )
        .await?;
    Ok(data
        .customers
        .nodes
        .into_iter()
        .find(|c| {
            c.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .map(|c| number_of(&c.id)))
}

fn input(r: &CustomerRecord, tags: Option<Vec<String>>) -> Value {
    let mut input = json!({
        "email": r.email,
        "firstName": r.first_name,
        "lastName": r.last_name,
    });
    if !r.phone.trim().is_empty() {
        input["phone"] = json!(r.phone);
    }
    if let Some(tags) = tags {
        input["tags"] = json!(tags);
    }
    input
}

/// The tags with the class tag set to `class` (the others kept).
fn tags_with_class(existing: &[String], class: Option<&str>) -> Vec<String> {
    let mut tags: Vec<String> = existing
        .iter()
        .filter(|t| !t.starts_with(CLASS_TAG))
        .cloned()
        .collect();
    if let Some(c) = class.filter(|c| !c.trim().is_empty()) {
        tags.push(format!("{CLASS_TAG}{c}"));
    }
    tags
}

const WRITE: &str = "customer { id } userErrors { field message code }";

/// Updates customer `id`.
pub(crate) async fn update_customer(
    client: &ShopifyClient,
    id: &str,
    r: &CustomerRecord,
    out: &dyn Outbox,
) -> Result<()> {
    let data: Value = client
        .query(
            "customerTags",
            "query CustomerTags($id: ID!) { customer(id: $id) { tags } }",
            json!({ "id": gid("Customer", id) }),
            "reading a customer's tags",
        )
        .await?;
    if data["customer"].is_null() {
        return Err(crate::Error::NotFound {
            message: format!("Shopify has no customer {id}"),
        }
        .into());
    }
    let existing: Vec<String> =
        serde_json::from_value(data["customer"]["tags"].clone()).unwrap_or_default();
    let mut body = input(r, Some(tags_with_class(&existing, r.class.as_deref())));
    body["id"] = json!(gid("Customer", id));
    note(out, None, format!("Shopify customer {id} (update)"), &body);
    let _: Value = client
        .mutate(
            "customerUpdate",
            &format!("mutation CustomerUpdate($input: CustomerInput!) {{ customerUpdate(input: $input) {{ {WRITE} }} }}"),
            json!({ "input": body }),
            "customerUpdate",
            "the customer",
        )
        .await
        .map_err(conflict)?;
    Ok(())
}

/// Creates a customer; returns its number.
pub(crate) async fn create_customer(
    client: &ShopifyClient,
    r: &CustomerRecord,
    out: &dyn Outbox,
) -> Result<String> {
    let body = input(r, Some(tags_with_class(&[], r.class.as_deref())));
    note(out, None, "Shopify customer (create)".into(), &body);
    let payload: Value = client
        .mutate(
            "customerCreate",
            &format!("mutation CustomerCreate($input: CustomerInput!) {{ customerCreate(input: $input) {{ {WRITE} }} }}"),
            json!({ "input": body }),
            "customerCreate",
            "the customer",
        )
        .await
        .map_err(conflict)?;
    payload["customer"]["id"]
        .as_str()
        .map(number_of)
        .ok_or_else(|| PlatformError::record(Platform::Shopify, "Shopify returned no customer"))
}

/// An e-mail address that is taken is a conflict (the engine then binds to its owner).
fn conflict(e: crate::Error) -> PlatformError {
    if e.has_code("TAKEN") {
        PlatformError::new(Platform::Shopify, kcf_platform::ErrorKind::Conflict, e)
    } else {
        e.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_is_one_tag_among_the_merchants() {
        let tags = tags_with_class(&["vip".into(), "class:RETAIL".into()], Some("WHOLESALE"));
        assert_eq!(tags, ["vip", "class:WHOLESALE"]);
        assert_eq!(
            tags_with_class(&["class:A".into()], None),
            Vec::<String>::new()
        );
    }
}
