//! Customers: `customers` (searched by `email`, `updated_at`…), `customer`, and the writes
//! `customerCreate`, `customerUpdate`, `customerSet` (an upsert by id or e-mail) and
//! `customerDelete`. An e-mail address belongs to one customer.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Data, UserError, now_ms, search::*, shop};
use crate::seed::Dataset;

/// A postal address as the shop keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Address {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub province_code: String,
    pub country_code: String,
    pub zip: String,
    pub phone: String,
}

const COUNTRIES: &[(&str, &str)] = &[
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("AU", "Australia"),
];

impl Address {
    pub(crate) fn node(&self) -> MailingAddress {
        let country = COUNTRIES
            .iter()
            .find(|(c, _)| *c == self.country_code)
            .map_or(self.country_code.clone(), |(_, n)| (*n).to_owned());
        MailingAddress {
            id: ID(format!(
                "gid://shopify/MailingAddress/{}?model_name=CustomerAddress",
                self.id
            )),
            first_name: Some(self.first_name.clone()),
            last_name: Some(self.last_name.clone()),
            name: Some(
                format!("{} {}", self.first_name, self.last_name)
                    .trim()
                    .to_owned(),
            ),
            company: Some(self.company.clone()).filter(|c| !c.is_empty()),
            address1: Some(self.address1.clone()),
            address2: Some(self.address2.clone()).filter(|c| !c.is_empty()),
            city: Some(self.city.clone()),
            province_code: Some(self.province_code.clone()),
            province: Some(self.province_code.clone()),
            country_code_v2: Some(self.country_code.clone()),
            country: Some(country),
            zip: Some(self.zip.clone()),
            phone: Some(self.phone.clone()).filter(|c| !c.is_empty()),
        }
    }

    pub(crate) fn from_input(id: u64, a: &MailingAddressInput) -> Self {
        Self {
            id,
            first_name: a.first_name.clone().unwrap_or_default(),
            last_name: a.last_name.clone().unwrap_or_default(),
            company: a.company.clone().unwrap_or_default(),
            address1: a.address1.clone().unwrap_or_default(),
            address2: a.address2.clone().unwrap_or_default(),
            city: a.city.clone().unwrap_or_default(),
            province_code: a.province_code.clone().unwrap_or_default(),
            country_code: a.country_code.clone().unwrap_or_default().to_uppercase(),
            zip: a.zip.clone().unwrap_or_default(),
            phone: a.phone.clone().unwrap_or_default(),
        }
    }

    pub(crate) fn payload(&self) -> Value {
        json!({
            "first_name": self.first_name, "last_name": self.last_name, "company": self.company,
            "address1": self.address1, "address2": self.address2, "city": self.city,
            "province_code": self.province_code, "country_code": self.country_code,
            "zip": self.zip, "phone": self.phone,
        })
    }
}

/// `MailingAddress`.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct MailingAddress {
    id: ID,
    first_name: Option<String>,
    last_name: Option<String>,
    name: Option<String>,
    company: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    province: Option<String>,
    province_code: Option<String>,
    country: Option<String>,
    #[graphql(name = "countryCodeV2")]
    country_code_v2: Option<String>,
    zip: Option<String>,
    phone: Option<String>,
}

/// `MailingAddressInput`.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct MailingAddressInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub country_code: Option<String>,
    pub zip: Option<String>,
    pub phone: Option<String>,
}

/// A customer as the shop keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Customer {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub note: String,
    pub tags: Vec<String>,
    pub tax_exempt: bool,
    pub addresses: Vec<Address>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Customer {
    pub(crate) fn payload(&self) -> Value {
        json!({
            "id": self.id,
            "admin_graphql_api_id": gid("Customer", self.id).0,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "tags": self.tags.join(", "),
            "created_at": DateTime::of(self.created_ms).0,
            "updated_at": DateTime::of(self.updated_ms).0,
            "default_address": self.addresses.first().map(Address::payload),
        })
    }
}

/// `Customer`.
#[derive(Debug, Clone)]
pub(crate) struct CustomerNode(pub Customer);

/// `CustomerEmailAddress`.
#[derive(Debug, Clone, SimpleObject)]
struct EmailAddress {
    email_address: String,
}

#[Object(name = "Customer")]
impl CustomerNode {
    async fn id(&self) -> ID {
        gid("Customer", self.0.id)
    }
    async fn legacy_resource_id(&self) -> String {
        self.0.id.to_string()
    }
    async fn first_name(&self) -> Option<&str> {
        Some(self.0.first_name.as_str()).filter(|s| !s.is_empty())
    }
    async fn last_name(&self) -> Option<&str> {
        Some(self.0.last_name.as_str()).filter(|s| !s.is_empty())
    }
    async fn display_name(&self) -> String {
        let name = format!("{} {}", self.0.first_name, self.0.last_name);
        let name = name.trim();
        if name.is_empty() {
            self.0.email.clone()
        } else {
            name.to_owned()
        }
    }
    async fn email(&self) -> Option<&str> {
        Some(self.0.email.as_str()).filter(|s| !s.is_empty())
    }
    async fn default_email_address(&self) -> Option<EmailAddress> {
        (!self.0.email.is_empty()).then(|| EmailAddress {
            email_address: self.0.email.clone(),
        })
    }
    async fn phone(&self) -> Option<&str> {
        Some(self.0.phone.as_str()).filter(|s| !s.is_empty())
    }
    async fn note(&self) -> Option<&str> {
        Some(self.0.note.as_str()).filter(|s| !s.is_empty())
    }
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    async fn tax_exempt(&self) -> bool {
        self.0.tax_exempt
    }
    async fn state(&self) -> &str {
        "ENABLED"
    }
    async fn created_at(&self) -> DateTime {
        DateTime::of(self.0.created_ms)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime::of(self.0.updated_ms)
    }
    async fn default_address(&self) -> Option<MailingAddress> {
        self.0.addresses.first().map(Address::node)
    }
    async fn addresses(&self, first: Option<i32>) -> Vec<MailingAddress> {
        let n = first.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(0));
        self.0.addresses.iter().take(n).map(Address::node).collect()
    }
    async fn number_of_orders(&self, ctx: &Context<'_>) -> String {
        let data = shop(ctx).read();
        data.orders
            .values()
            .filter(|o| o.customer_id == Some(self.0.id))
            .count()
            .to_string()
    }
}

fn customer_field(c: &Customer, field: &str) -> Option<Vec<Field>> {
    Some(match field {
        "id" => vec![Field::Number(c.id as i64)],
        "email" => vec![Field::Text(c.email.clone())],
        "first_name" => vec![Field::Text(c.first_name.clone())],
        "last_name" => vec![Field::Text(c.last_name.clone())],
        "phone" => vec![Field::Text(c.phone.clone())],
        "tag" => c.tags.iter().map(|t| Field::Text(t.clone())).collect(),
        "updated_at" => vec![Field::Time(c.updated_ms)],
        "created_at" => vec![Field::Time(c.created_ms)],
        "default" => vec![
            Field::Text(c.email.clone()),
            Field::Text(c.first_name.clone()),
            Field::Text(c.last_name.clone()),
        ],
        _ => return None,
    })
}

/// How customer lists sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub(crate) enum CustomerSortKeys {
    Id,
    UpdatedAt,
    CreatedAt,
}

#[derive(Default)]
pub(crate) struct CustomerQuery;

#[Object]
impl CustomerQuery {
    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        query: Option<String>,
        sort_key: Option<CustomerSortKeys>,
    ) -> async_graphql::Result<Connection<String, CustomerNode>> {
        let data = shop(ctx).read();
        let search = Search::parse(query.as_deref());
        let items = data
            .customers
            .values()
            .filter(|c| search.matches(|f| customer_field(c, f)))
            .map(|c| {
                let key = match sort_key.unwrap_or(CustomerSortKeys::Id) {
                    CustomerSortKeys::Id => (c.id as i64, c.id),
                    CustomerSortKeys::UpdatedAt => (c.updated_ms, c.id),
                    CustomerSortKeys::CreatedAt => (c.created_ms, c.id),
                };
                (key, CustomerNode(c.clone()))
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

    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Option<CustomerNode> {
        let id = id_of("Customer", &id)?;
        shop(ctx)
            .read()
            .customers
            .get(&id)
            .cloned()
            .map(CustomerNode)
    }
}

/// `CustomerInput` / `CustomerSetInput`.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "CustomerInput")]
pub(crate) struct CustomerInput {
    id: Option<ID>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    note: Option<String>,
    tags: Option<Vec<String>>,
    tax_exempt: Option<bool>,
    addresses: Option<Vec<MailingAddressInput>>,
}

impl CustomerInput {
    /// A new customer's input (the one an order for an unknown e-mail address creates).
    pub(crate) fn new(
        email: &str,
        first_name: Option<String>,
        last_name: Option<String>,
        address: Option<MailingAddressInput>,
    ) -> Self {
        Self {
            id: None,
            email: Some(email.to_owned()),
            first_name,
            last_name,
            phone: None,
            note: None,
            tags: None,
            tax_exempt: None,
            addresses: address.map(|a| vec![a]),
        }
    }
}

/// `CustomerSetIdentifiers`.
#[derive(Debug, Clone, InputObject)]
struct CustomerSetIdentifiers {
    id: Option<ID>,
    email: Option<String>,
}

/// `CustomerCreatePayload` / `CustomerUpdatePayload` / `CustomerSetPayload`.
#[derive(SimpleObject)]
struct CustomerPayload {
    customer: Option<CustomerNode>,
    user_errors: Vec<UserError>,
}

/// `CustomerDeleteInput`.
#[derive(Debug, Clone, InputObject)]
struct CustomerDeleteInput {
    id: ID,
}

/// `CustomerDeletePayload`.
#[derive(SimpleObject)]
struct CustomerDeletePayload {
    deleted_customer_id: Option<ID>,
    user_errors: Vec<UserError>,
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Writes `input` over `existing` (or a new customer), checked whole first.
pub(crate) fn write(
    data: &mut Data,
    existing: Option<Customer>,
    input: CustomerInput,
) -> Result<(Customer, bool), UserError> {
    let now = now_ms();
    let created = existing.is_none();
    let mut c = existing.unwrap_or(Customer {
        id: 0,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        phone: String::new(),
        note: String::new(),
        tags: Vec::new(),
        tax_exempt: false,
        addresses: Vec::new(),
        created_ms: now,
        updated_ms: now,
    });
    if let Some(e) = input.email {
        let e = e.trim().to_owned();
        if !e.is_empty() && !valid_email(&e) {
            return Err(UserError::new(&["email"], "Email is invalid", "INVALID"));
        }
        let taken = data
            .customers
            .values()
            .any(|o| o.id != c.id && !e.is_empty() && o.email.eq_ignore_ascii_case(&e));
        if taken {
            return Err(UserError::new(
                &["email"],
                "Email has already been taken",
                "TAKEN",
            ));
        }
        c.email = e;
    }
    if let Some(v) = input.first_name {
        c.first_name = v;
    }
    if let Some(v) = input.last_name {
        c.last_name = v;
    }
    if let Some(v) = input.phone {
        c.phone = v;
    }
    if let Some(v) = input.note {
        c.note = v;
    }
    if let Some(v) = input.tags {
        c.tags = v;
    }
    if let Some(v) = input.tax_exempt {
        c.tax_exempt = v;
    }
    if c.email.is_empty() && c.phone.is_empty() && c.first_name.is_empty() && c.last_name.is_empty()
    {
        return Err(UserError::new(
            &[],
            "Customer must have a name, phone number or email address",
            "BLANK",
        ));
    }
    if created {
        c.id = data.id();
    }
    if let Some(addresses) = input.addresses {
        c.addresses = addresses
            .iter()
            .map(|a| Address::from_input(data.id(), a))
            .collect();
    }
    c.updated_ms = now;
    data.customers.insert(c.id, c.clone());
    Ok((c, created))
}

fn answer(shop: &super::Shop, result: Result<(Customer, bool), UserError>) -> CustomerPayload {
    match result {
        Ok((c, created)) => {
            let topic = if created {
                "customers/create"
            } else {
                "customers/update"
            };
            shop.changed(format!("customers/{}", c.id), topic, c.payload());
            CustomerPayload {
                customer: Some(CustomerNode(c)),
                user_errors: Vec::new(),
            }
        }
        Err(e) => CustomerPayload {
            customer: None,
            user_errors: vec![e],
        },
    }
}

#[derive(Default)]
pub(crate) struct CustomerMutation;

#[Object]
impl CustomerMutation {
    async fn customer_create(&self, ctx: &Context<'_>, input: CustomerInput) -> CustomerPayload {
        let shop = shop(ctx);
        let result = write(&mut shop.write(), None, input);
        answer(shop, result)
    }

    async fn customer_update(&self, ctx: &Context<'_>, input: CustomerInput) -> CustomerPayload {
        let shop = shop(ctx);
        let result = {
            let mut data = shop.write();
            let found = input
                .id
                .as_ref()
                .and_then(|id| id_of("Customer", id))
                .and_then(|id| data.customers.get(&id).cloned());
            match found {
                Some(c) => write(&mut data, Some(c), input),
                None => Err(UserError::new(
                    &["id"],
                    "Customer does not exist",
                    "NOT_FOUND",
                )),
            }
        };
        answer(shop, result)
    }

    /// Creates or updates the customer with this id or e-mail address.
    async fn customer_set(
        &self,
        ctx: &Context<'_>,
        identifier: Option<CustomerSetIdentifiers>,
        input: CustomerInput,
    ) -> CustomerPayload {
        let shop = shop(ctx);
        let result = {
            let mut data = shop.write();
            let by_id = identifier.as_ref().and_then(|i| i.id.clone());
            let by_email = identifier.as_ref().and_then(|i| i.email.clone());
            let found = match (by_id, by_email) {
                (Some(id), _) => {
                    match id_of("Customer", &id).and_then(|n| data.customers.get(&n)) {
                        Some(c) => Ok(Some(c.clone())),
                        None => Err(UserError::new(
                            &["identifier", "id"],
                            "Customer does not exist",
                            "NOT_FOUND",
                        )),
                    }
                }
                (None, Some(email)) => Ok(data
                    .customers
                    .values()
                    .find(|c| c.email.eq_ignore_ascii_case(&email))
                    .cloned()),
                (None, None) => Ok(None),
            };
            found.and_then(|found| write(&mut data, found, input))
        };
        answer(shop, result)
    }

    async fn customer_delete(
        &self,
        ctx: &Context<'_>,
        input: CustomerDeleteInput,
    ) -> CustomerDeletePayload {
        let shop = shop(ctx);
        let removed =
            id_of("Customer", &input.id).and_then(|id| shop.write().customers.remove(&id));
        match removed {
            Some(c) => {
                shop.changed(
                    format!("customers/{}", c.id),
                    "customers/delete",
                    json!({ "id": c.id }),
                );
                CustomerDeletePayload {
                    deleted_customer_id: Some(gid("Customer", c.id)),
                    user_errors: Vec::new(),
                }
            }
            None => CustomerDeletePayload {
                deleted_customer_id: None,
                user_errors: vec![UserError::new(
                    &["id"],
                    "Customer does not exist",
                    "NOT_FOUND",
                )],
            },
        }
    }
}

/// The seed's customers; returns seed id → customer id.
pub(super) fn seed(data: &mut Data, dataset: &Dataset, now: i64) -> BTreeMap<u64, u64> {
    let mut ids = BTreeMap::new();
    for c in &dataset.customers {
        let id = data.id();
        let address = Address {
            id: data.id(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            company: c.company.clone(),
            address1: "1 Sample Street".into(),
            address2: String::new(),
            city: "Austin".into(),
            province_code: "TX".into(),
            country_code: "US".into(),
            zip: "78701".into(),
            phone: String::new(),
        };
        data.customers.insert(
            id,
            Customer {
                id,
                first_name: c.first_name.clone(),
                last_name: c.last_name.clone(),
                email: c.email.clone(),
                phone: String::new(),
                note: String::new(),
                tags: Vec::new(),
                tax_exempt: false,
                addresses: vec![address],
                created_ms: now - 7 * 86_400_000,
                updated_ms: now - 7 * 86_400_000,
            },
        );
        ids.insert(c.id, id);
    }
    ids
}
