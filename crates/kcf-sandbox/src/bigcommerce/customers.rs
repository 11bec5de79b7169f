//! `/v3/customers`: list with filters, create and update in arrays of at most 10, delete.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json,
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Bc, Data,
    error::{BcError, BcResult},
    now_ms,
    params::{Fields, Params, iso, json_body},
};
use crate::seed::SeedCustomer;

/// A customer as BigCommerce returns it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Customer {
    pub(super) id: u64,
    email: String,
    first_name: String,
    last_name: String,
    company: String,
    phone: String,
    notes: String,
    customer_group_id: u64,
    origin_channel_id: u64,
    channel_ids: Vec<u64>,
    date_created: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    addresses: Option<Vec<Value>>,
    #[serde(skip)]
    pub(super) stored_addresses: Vec<Value>,
    #[serde(skip)]
    pub(super) created_ms: i64,
    #[serde(skip)]
    pub(super) modified_ms: i64,
}

impl Customer {
    fn blank(id: u64, now: i64) -> Self {
        Self {
            id,
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            phone: String::new(),
            notes: String::new(),
            customer_group_id: 0,
            origin_channel_id: 1,
            channel_ids: vec![1],
            date_created: iso(now),
            date_modified: iso(now),
            addresses: None,
            stored_addresses: Vec::new(),
            created_ms: now,
            modified_ms: now,
        }
    }

    pub(super) fn seeded(c: &SeedCustomer, now: i64) -> Self {
        let mut customer = Self::blank(c.id, now);
        customer.email = c.email.clone();
        customer.first_name = c.first_name.clone();
        customer.last_name = c.last_name.clone();
        customer.company = c.company.clone();
        customer
    }

    fn apply(&mut self, f: &mut Fields<'_>, item: &Value) {
        if let Some(v) = f.string("email") {
            if v.contains('@') && v.len() <= 255 {
                self.email = v;
            } else {
                f.errors
                    .insert("email".into(), "email must be a valid email address".into());
            }
        }
        for (name, slot) in [
            ("first_name", &mut self.first_name),
            ("last_name", &mut self.last_name),
            ("company", &mut self.company),
            ("phone", &mut self.phone),
            ("notes", &mut self.notes),
        ] {
            if let Some(v) = f.string(name) {
                *slot = v;
            }
        }
        if let Some(v) = f.uint("customer_group_id") {
            self.customer_group_id = v;
        }
        if let Some(addresses) = item.get("addresses") {
            match addresses.as_array() {
                Some(list) => {
                    for (i, a) in list.iter().enumerate() {
                        for required in [
                            "first_name",
                            "last_name",
                            "address1",
                            "city",
                            "country_code",
                        ] {
                            if a.get(required)
                                .and_then(Value::as_str)
                                .is_none_or(str::is_empty)
                            {
                                f.errors.insert(
                                    format!("addresses[{i}].{required}"),
                                    format!("{required} is required"),
                                );
                            }
                        }
                    }
                    self.stored_addresses = list
                        .iter()
                        .enumerate()
                        .map(|(i, a)| {
                            let mut a = a.clone();
                            a["id"] = json!(self.id * 100 + i as u64 + 1);
                            a["customer_id"] = json!(self.id);
                            a
                        })
                        .collect();
                }
                None => {
                    f.errors
                        .insert("addresses".into(), "addresses must be an array".into());
                }
            }
        }
    }
}

fn email_taken(data: &Data, c: &Customer) -> bool {
    data.customers
        .values()
        .any(|o| o.id != c.id && o.email.eq_ignore_ascii_case(&c.email))
}

fn items(body: &Value) -> BcResult<&Vec<Value>> {
    let list = body.as_array().ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body must be an array of customers.",
        )
    })?;
    if list.len() > 10 {
        return Err(BcError::too_many(10));
    }
    Ok(list)
}

pub(super) async fn list(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<Json<Value>> {
    let p = Params::new(pairs);
    let ids = p.ids("id:in")?;
    let emails = p
        .list("email:in")
        .map(|v| v.into_iter().map(|e| e.to_lowercase()).collect::<Vec<_>>());
    let name = p.get("name:like").map(str::to_lowercase);
    let (mod_min, mod_max) = (p.time("date_modified:min")?, p.time("date_modified:max")?);
    let (created_min, created_max) = (p.time("date_created:min")?, p.time("date_created:max")?);
    let with_addresses = p
        .get("include")
        .is_some_and(|i| i.split(',').any(|x| x == "addresses"));
    let page = p.page()?;
    let data = bc.read();
    let mut found: Vec<Customer> = data
        .customers
        .values()
        .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
        .filter(|c| {
            emails
                .as_ref()
                .is_none_or(|es| es.contains(&c.email.to_lowercase()))
        })
        .filter(|c| {
            name.as_ref().is_none_or(|n| {
                format!("{} {}", c.first_name, c.last_name)
                    .to_lowercase()
                    .contains(n)
            })
        })
        .filter(|c| {
            mod_min.is_none_or(|t| c.modified_ms >= t) && mod_max.is_none_or(|t| c.modified_ms <= t)
        })
        .filter(|c| {
            created_min.is_none_or(|t| c.created_ms >= t)
                && created_max.is_none_or(|t| c.created_ms <= t)
        })
        .cloned()
        .collect();
    match p.get("sort") {
        None | Some("id:asc") => {}
        Some("id:desc") => found.reverse(),
        Some("date_modified:asc") => found.sort_by_key(|c| (c.modified_ms, c.id)),
        Some("date_modified:desc") => {
            found.sort_by_key(|c| std::cmp::Reverse((c.modified_ms, c.id)))
        }
        Some("date_created:asc") => found.sort_by_key(|c| (c.created_ms, c.id)),
        Some(other) => {
            return Err(BcError::new(
                StatusCode::BAD_REQUEST,
                format!("The sort '{other}' is not supported."),
            ));
        }
    }
    if with_addresses {
        for c in &mut found {
            c.addresses = Some(c.stored_addresses.clone());
        }
    }
    let (items, meta) = page.slice(&found, "/customers");
    Ok(Json(json!({ "data": items, "meta": meta })))
}

pub(super) async fn create(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let now = now_ms();
    let mut data = bc.write();
    let mut created = Vec::new();
    let mut errors = BTreeMap::new();
    for (i, item) in items(&body)?.iter().enumerate() {
        let mut f = Fields::of(item, "customer")?;
        for required in ["email", "first_name", "last_name"] {
            f.require(required);
        }
        let id = data.next_customer + 1 + created.len() as u64;
        let mut c = Customer::blank(id, now);
        c.apply(&mut f, item);
        let taken = email_taken(&data, &c)
            || created
                .iter()
                .any(|o: &Customer| o.email.eq_ignore_ascii_case(&c.email));
        if taken {
            f.errors.insert(
                "email".into(),
                format!("The email address {} is already in use.", c.email),
            );
        }
        errors.extend(f.errors.into_iter().map(|(k, v)| (format!("{i}.{k}"), v)));
        created.push(c);
    }
    // Customer batches are all-or-nothing: one bad customer fails the request.
    if !errors.is_empty() {
        return Err(BcError::invalid(errors));
    }
    for c in &created {
        data.next_customer = data.next_customer.max(c.id);
        data.customers.insert(c.id, c.clone());
        bc.changed("customer", c.id, "created");
    }
    Ok(Json(json!({ "data": created, "meta": {} })))
}

pub(super) async fn update(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let now = now_ms();
    let mut data = bc.write();
    let mut updated = Vec::new();
    let mut errors = BTreeMap::new();
    for (i, item) in items(&body)?.iter().enumerate() {
        let mut f = Fields::of(item, "customer")?;
        let Some(id) = f.uint("id") else {
            errors.insert(format!("{i}.id"), "id is required".into());
            continue;
        };
        let Some(mut c) = data.customers.get(&id).cloned() else {
            return Err(BcError::not_found("customer"));
        };
        c.apply(&mut f, item);
        if email_taken(&data, &c) {
            f.errors.insert(
                "email".into(),
                format!("The email address {} is already in use.", c.email),
            );
        }
        errors.extend(f.errors.into_iter().map(|(k, v)| (format!("{i}.{k}"), v)));
        c.modified_ms = now;
        c.date_modified = iso(now);
        updated.push(c);
    }
    if !errors.is_empty() {
        return Err(BcError::invalid(errors));
    }
    for c in &updated {
        data.customers.insert(c.id, c.clone());
        bc.changed("customer", c.id, "updated");
    }
    Ok(Json(json!({ "data": updated, "meta": {} })))
}

pub(super) async fn delete_many(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<StatusCode> {
    let ids = Params::new(pairs).ids("id:in")?.ok_or_else(|| {
        BcError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A filter such as id:in is required to delete customers.",
        )
    })?;
    let mut data = bc.write();
    for id in ids {
        if data.customers.remove(&id).is_some() {
            bc.changed("customer", id, "deleted");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
