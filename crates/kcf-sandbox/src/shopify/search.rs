//! What every Shopify list shares: global ids (`gid://shopify/Product/1`), the scalars
//! (`Money`, `Decimal`, `DateTime`), the search syntax of the `query` argument
//! (`updated_at:>'2026-01-01T00:00:00Z' AND sku:ABC OR sku:DEF`), and cursor pages.

use async_graphql::{
    ID,
    connection::{Connection, Edge},
};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// `gid://shopify/{kind}/{id}`.
pub(crate) fn gid(kind: &str, id: u64) -> ID {
    ID(format!("gid://shopify/{kind}/{id}"))
}

/// The number in a global id of `kind` (a bare number is accepted too, as Shopify's REST ids).
pub(crate) fn id_of(kind: &str, id: &str) -> Option<u64> {
    let tail = id
        .strip_prefix("gid://shopify/")
        .and_then(|rest| rest.strip_prefix(kind))
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(id);
    let tail = tail.split('?').next().unwrap_or(tail);
    tail.parse().ok()
}

/// An amount of money as Shopify writes it: a decimal string (`"19.99"`); numbers are read
/// too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Money(pub String);
async_graphql::scalar!(Money, "Money", "A monetary value string, e.g. \"19.99\".");

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            Raw::Number(n) => n.to_string(),
        };
        match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(Money(format!("{n:.2}"))),
            _ => Err(serde::de::Error::custom(format!(
                "'{text}' is not a valid amount of money"
            ))),
        }
    }
}

impl Money {
    pub(crate) fn of(n: f64) -> Self {
        Money(format!("{n:.2}"))
    }

    pub(crate) fn value(&self) -> f64 {
        self.0.parse().unwrap_or(0.0)
    }
}

/// A decimal number written as a string (`MoneyV2.amount`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Decimal(pub String);
async_graphql::scalar!(Decimal, "Decimal");

/// An RFC 3986 URL, as a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Url(pub String);
async_graphql::scalar!(Url, "URL");

/// An ISO-8601 time in UTC (`2026-12-01T10:00:00Z`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DateTime(pub String);
async_graphql::scalar!(DateTime, "DateTime");

impl DateTime {
    pub(crate) fn of(ms: i64) -> Self {
        let t = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        DateTime(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    }
}

/// An amount in the shop's currency: `{ shopMoney { amount currencyCode } }`.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
#[graphql(name = "MoneyV2")]
pub(crate) struct MoneyV2 {
    pub amount: Decimal,
    pub currency_code: String,
}

/// `MoneyBag`: the amount in the shop's and the customer's currency (the same here).
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub(crate) struct MoneyBag {
    pub shop_money: MoneyV2,
    pub presentment_money: MoneyV2,
}

impl MoneyBag {
    pub(crate) fn of(amount: f64) -> Self {
        let money = MoneyV2 {
            amount: Decimal(format!("{amount:.2}")),
            currency_code: "USD".into(),
        };
        Self {
            shop_money: money.clone(),
            presentment_money: money,
        }
    }
}

/// One term of a search: `field:value`, `field:>value`, or a bare word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Term {
    pub field: Option<String>,
    pub op: Op,
    pub value: String,
    pub negated: bool,
}

/// How a term compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed `query`: groups joined by `OR`, each a conjunction of terms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Search {
    pub any_of: Vec<Vec<Term>>,
}

impl Search {
    /// Parses Shopify's search syntax. Unknown fields are kept (and match nothing), as
    /// Shopify ignores what it does not index rather than failing the query.
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) else {
            return Self::default();
        };
        let mut any_of = vec![Vec::new()];
        for token in tokens(query) {
            match token.as_str() {
                "OR" => any_of.push(Vec::new()),
                "AND" => {}
                _ => {
                    if let Some(group) = any_of.last_mut() {
                        group.push(term(&token));
                    }
                }
            }
        }
        any_of.retain(|g| !g.is_empty());
        Self { any_of }
    }

    /// Whether a record matches: `value(field)` gives the record's values of a field (none:
    /// the field is unknown for this resource).
    pub(crate) fn matches(&self, value: impl Fn(&str) -> Option<Vec<Field>>) -> bool {
        if self.any_of.is_empty() {
            return true;
        }
        self.any_of.iter().any(|group| {
            group.iter().all(|t| {
                let hit = match &t.field {
                    Some(f) => value(f).is_some_and(|vs| vs.iter().any(|v| v.compare(t))),
                    None => value("default").is_some_and(|vs| vs.iter().any(|v| v.compare(t))),
                };
                hit != t.negated
            })
        })
    }
}

/// A record's value of a searchable field.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    /// Matched case-insensitively; a trailing `*` in the term is a prefix match.
    Text(String),
    Number(i64),
    /// Unix ms; compared with a time written in the term.
    Time(i64),
}

impl Field {
    fn compare(&self, t: &Term) -> bool {
        use std::cmp::Ordering;
        let ordering = match self {
            Field::Text(s) => {
                if t.op == Op::Eq {
                    let (want, got) = (t.value.to_lowercase(), s.to_lowercase());
                    return match want.strip_suffix('*') {
                        Some(prefix) => got.starts_with(prefix),
                        None => got == want,
                    };
                }
                Some(s.as_str().cmp(t.value.as_str()))
            }
            Field::Number(n) => t.value.parse::<i64>().ok().map(|v| n.cmp(&v)),
            Field::Time(ms) => parse_time(&t.value).map(|v| ms.cmp(&v)),
        };
        let Some(o) = ordering else { return false };
        match t.op {
            Op::Eq => o == Ordering::Equal,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
        }
    }
}

/// A time as a search term writes it: RFC 3339, or a date (midnight UTC).
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    format!("{date}T00:00:00Z")
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

fn tokens(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in query.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            (None, c) => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn term(token: &str) -> Term {
    let (negated, token) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => match token.strip_prefix("NOT ") {
            Some(rest) => (true, rest),
            None => (false, token),
        },
    };
    let Some((field, rest)) = token.split_once(':') else {
        return Term {
            field: None,
            op: Op::Eq,
            value: token.to_owned(),
            negated,
        };
    };
    let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else {
        (Op::Eq, rest)
    };
    Term {
        field: Some(field.to_lowercase()),
        op,
        value: value.to_owned(),
        negated,
    }
}

/// The most a page may hold, as in Shopify.
pub(crate) const MAX_PAGE: i32 = 250;

/// Sort keys as a cursor: opaque base64 of the sort values.
fn cursor_of(key: &(i64, u64)) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", key.0, key.1))
}

fn key_of(cursor: &str) -> Option<(i64, u64)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (a, b) = text.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Paging arguments, checked as Shopify checks them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Paging {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub reverse: bool,
}

/// One page of `items` (each with its sort key), sorted by key (`reverse`: descending).
pub(crate) fn page<T: async_graphql::OutputType>(
    mut items: Vec<((i64, u64), T)>,
    paging: &Paging,
) -> async_graphql::Result<Connection<String, T>> {
    let size = match (paging.first, paging.last) {
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => {
            return Err(async_graphql::Error::new(
                "you must provide one of first or last",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(async_graphql::Error::new(
                "providing both first and last is not supported",
            ));
        }
    };
    if !(0..=MAX_PAGE).contains(&size) {
        return Err(async_graphql::Error::new(format!(
            "first and last must be between 0 and {MAX_PAGE}"
        )));
    }
    let reverse = paging.reverse != paging.last.is_some();
    items.sort_by(|a, b| {
        if reverse {
            b.0.cmp(&a.0)
        } else {
            a.0.cmp(&b.0)
        }
    });
    let bound = |c: &Option<String>| -> async_graphql::Result<Option<(i64, u64)>> {
        match c {
            None => Ok(None),
            Some(c) => key_of(c)
                .map(Some)
                .ok_or_else(|| async_graphql::Error::new(format!("Invalid cursor '{c}'"))),
        }
    };
    let (after, before) = if paging.last.is_some() {
        (bound(&paging.before)?, bound(&paging.after)?)
    } else {
        (bound(&paging.after)?, bound(&paging.before)?)
    };
    let past = |k: &(i64, u64), edge: &(i64, u64)| if reverse { k < edge } else { k > edge };
    items.retain(|(k, _)| after.is_none_or(|a| past(k, &a)) && before.is_none_or(|b| past(&b, k)));
    let has_more = items.len() > size as usize;
    items.truncate(size as usize);
    if paging.last.is_some() {
        items.reverse();
    }
    let (has_previous, has_next) = if paging.last.is_some() {
        (has_more, after.is_some())
    } else {
        (after.is_some(), has_more)
    };
    let mut connection = Connection::new(has_previous, has_next);
    connection.edges.extend(
        items
            .into_iter()
            .map(|(key, node)| Edge::new(cursor_of(&key), node)),
    );
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_read_fields_comparisons_quotes_and_or() {
        let s = Search::parse(Some(
            "updated_at:>='2026-01-01T00:00:00Z' AND updated_at:<'2026-02-01' sku:AB* OR email:x@y.z",
        ));
        assert_eq!(s.any_of.len(), 2);
        assert_eq!(s.any_of[0].len(), 3);
        assert_eq!(s.any_of[0][0].op, Op::Ge);
        assert_eq!(s.any_of[0][0].value, "2026-01-01T00:00:00Z");
        let jan = parse_time("2026-01-15T00:00:00Z").unwrap_or(0);
        let record = |sku: &'static str, at: i64| {
            move |f: &str| match f {
                "updated_at" => Some(vec![Field::Time(at)]),
                "sku" => Some(vec![Field::Text(sku.into())]),
                _ => None,
            }
        };
        assert!(s.matches(record("abc", jan)));
        assert!(!s.matches(record("XY", jan)));
        assert!(!s.matches(record("ABC", jan + 40 * 86_400_000)));
        assert!(
            Search::parse(Some("email:x@y.z"))
                .matches(|f| { (f == "email").then(|| vec![Field::Text("X@y.z".into())]) })
        );
        assert!(Search::parse(None).matches(|_| None));
        assert!(!Search::parse(Some("-sku:A")).matches(|_| Some(vec![Field::Text("a".into())])));
    }

    #[test]
    fn global_ids_round_trip() {
        assert_eq!(gid("Product", 7).0, "gid://shopify/Product/7");
        assert_eq!(id_of("Product", "gid://shopify/Product/7"), Some(7));
        assert_eq!(id_of("Product", "7"), Some(7));
        assert_eq!(id_of("Product", "gid://shopify/Order/7"), None);
    }

    #[test]
    fn money_reads_strings_and_numbers() {
        let m: Money = serde_json::from_value(serde_json::json!("19.9")).unwrap_or(Money::of(0.0));
        assert_eq!(m.0, "19.90");
        let n: Money = serde_json::from_value(serde_json::json!(5)).unwrap_or(Money::of(0.0));
        assert_eq!(n.0, "5.00");
        assert!(serde_json::from_value::<Money>(serde_json::json!("abc")).is_err());
    }
}
