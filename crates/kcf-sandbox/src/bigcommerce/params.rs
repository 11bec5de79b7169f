//! Query parameters and JSON fields as BigCommerce reads them: `name:in`, `:min`/`:max`,
//! `page`/`limit`, dates in ISO 8601, RFC 2822 or Unix seconds.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::error::{BcError, BcResult};

/// The query string as name → value (the last one wins).
#[derive(Debug, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    /// From axum's list of pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// A raw value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A comma-separated list of integers (`id:in=1,2,3`).
    pub fn ids(&self, name: &str) -> BcResult<Option<Vec<u64>>> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().parse::<u64>().map_err(|_| bad_param(name, v)))
                    .collect()
            })
            .transpose()
    }

    /// A comma-separated list of strings.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name)
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
    }

    /// An integer.
    pub fn int(&self, name: &str) -> BcResult<Option<i64>> {
        self.get(name)
            .map(|v| v.parse::<i64>().map_err(|_| bad_param(name, v)))
            .transpose()
    }

    /// A boolean (`true`/`false`/`1`/`0`).
    pub fn flag(&self, name: &str) -> BcResult<Option<bool>> {
        self.get(name)
            .map(|v| match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(bad_param(name, v)),
            })
            .transpose()
    }

    /// A date-time filter, as Unix milliseconds.
    pub fn time(&self, name: &str) -> BcResult<Option<i64>> {
        self.get(name)
            .map(|v| parse_time(v).ok_or_else(|| bad_param(name, v)))
            .transpose()
    }

    /// `page` (1-based) and `limit` (default 50, at most 250).
    pub fn page(&self) -> BcResult<Page> {
        let page = self.int("page")?.unwrap_or(1);
        let limit = self.int("limit")?.unwrap_or(50);
        if page < 1 {
            return Err(bad_param("page", &page.to_string()));
        }
        if limit < 1 {
            return Err(bad_param("limit", &limit.to_string()));
        }
        Ok(Page {
            page: page as usize,
            limit: limit.min(250) as usize,
        })
    }
}

/// One page of a list.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based page number.
    pub page: usize,
    /// Items per page.
    pub limit: usize,
}

impl Page {
    /// This page of `items`, with v3's `meta.pagination`.
    pub fn slice<T: Clone>(&self, items: &[T], base_path: &str) -> (Vec<T>, Value) {
        let total = items.len();
        let start = (self.page - 1).saturating_mul(self.limit).min(total);
        let end = (start + self.limit).min(total);
        let total_pages = total.div_ceil(self.limit);
        let link = |p: usize| format!("?page={p}&limit={}", self.limit);
        let mut links = serde_json::json!({ "current": link(self.page) });
        if self.page > 1 {
            links["previous"] = Value::String(link(self.page - 1));
        }
        if self.page < total_pages {
            links["next"] = Value::String(link(self.page + 1));
        }
        let _ = base_path;
        let meta = serde_json::json!({
            "pagination": {
                "total": total,
                "count": end - start,
                "per_page": self.limit,
                "current_page": self.page,
                "total_pages": total_pages,
                "links": links,
            }
        });
        (items[start..end].to_vec(), meta)
    }
}

fn bad_param(name: &str, value: &str) -> BcError {
    BcError::new(
        StatusCode::BAD_REQUEST,
        format!("The filter '{name}' has an invalid value '{value}'."),
    )
}

/// Parses ISO 8601 (with offset, or a date alone: the current time of day is added, as
/// BigCommerce does), RFC 2822, or Unix seconds. Returns Unix milliseconds.
pub fn parse_time(v: &str) -> Option<i64> {
    if let Ok(secs) = v.parse::<i64>() {
        return Some(secs.saturating_mul(1000));
    }
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    if v.parse::<jiff::civil::Date>().is_ok() {
        let midnight = format!("{v}T00:00:00Z").parse::<jiff::Timestamp>().ok()?;
        let time_of_day = jiff::Timestamp::now()
            .as_millisecond()
            .rem_euclid(86_400_000);
        return Some(midnight.as_millisecond() + time_of_day);
    }
    jiff::fmt::rfc2822::parse(v)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// v3's timestamp format: `2018-08-15T14:48:46+00:00`.
pub fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

/// v2's timestamp format (RFC 2822): `Tue, 20 Nov 2012 00:00:00 +0000`.
#[allow(
    dead_code,
    reason = "the v2 orders routes, next, format their dates with it"
)]
pub fn rfc2822(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string())
        .unwrap_or_default()
}

/// Reads typed fields out of a JSON object, collecting a message per bad field.
#[derive(Debug)]
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    /// Field → what is wrong with it.
    pub errors: BTreeMap<String, String>,
}

impl<'a> Fields<'a> {
    /// Reads from `value`, which must be an object.
    pub fn of(value: &'a Value, what: &str) -> BcResult<Self> {
        value
            .as_object()
            .map(|obj| Self {
                obj,
                errors: BTreeMap::new(),
            })
            .ok_or_else(|| {
                BcError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("The {what} must be a JSON object."),
                )
            })
    }

    /// Whether the field is present (even as null).
    pub fn has(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    /// Notes a missing required field.
    pub fn require(&mut self, name: &str) {
        if !self.has(name) {
            self.errors
                .insert(name.into(), format!("{name} is a required field"));
        }
    }

    /// A string field.
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.obj.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            _ => {
                self.errors
                    .insert(name.into(), format!("{name} must be a string"));
                None
            }
        }
    }

    /// A number field (integers and decimal strings are accepted).
    pub fn number(&mut self, name: &str) -> Option<f64> {
        match self.obj.get(name)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.parse::<f64>().is_ok() => s.parse().ok(),
            Value::Null => None,
            _ => {
                self.errors
                    .insert(name.into(), format!("{name} must be a number"));
                None
            }
        }
    }

    /// A non-negative integer field.
    pub fn uint(&mut self, name: &str) -> Option<u64> {
        match self.obj.get(name)? {
            Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
            Value::Null => None,
            _ => {
                self.errors.insert(
                    name.into(),
                    format!("{name} must be a non-negative integer"),
                );
                None
            }
        }
    }

    /// An integer field.
    pub fn int(&mut self, name: &str) -> Option<i64> {
        match self.obj.get(name)? {
            Value::Number(n) if n.as_i64().is_some() => n.as_i64(),
            Value::Null => None,
            _ => {
                self.errors
                    .insert(name.into(), format!("{name} must be an integer"));
                None
            }
        }
    }

    /// A boolean field.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.obj.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::Null => None,
            _ => {
                self.errors
                    .insert(name.into(), format!("{name} must be a boolean"));
                None
            }
        }
    }

    /// A list of non-negative integers.
    pub fn ids(&mut self, name: &str) -> Option<Vec<u64>> {
        match self.obj.get(name)? {
            Value::Array(items) => {
                let ids: Option<Vec<u64>> = items.iter().map(Value::as_u64).collect();
                if ids.is_none() {
                    self.errors
                        .insert(name.into(), format!("{name} must be an array of integers"));
                }
                ids
            }
            Value::Null => None,
            _ => {
                self.errors
                    .insert(name.into(), format!("{name} must be an array of integers"));
                None
            }
        }
    }

    /// A string that must be one of `allowed`.
    pub fn one_of(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        let v = self.string(name)?;
        if allowed.contains(&v.as_str()) {
            Some(v)
        } else {
            self.errors.insert(
                name.into(),
                format!("{name} must be one of: {}", allowed.join(", ")),
            );
            None
        }
    }

    /// Fails with 422 when any field was bad.
    pub fn finish(self) -> BcResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(BcError::invalid(self.errors))
        }
    }
}

/// Parses a request body as JSON, with BigCommerce-style errors.
pub fn json_body(body: &[u8]) -> BcResult<Value> {
    serde_json::from_slice(body).map_err(|e| BcError::bad_json(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_documented_form() {
        assert_eq!(
            parse_time("2024-01-02T03:04:05+00:00"),
            Some(1_704_164_645_000)
        );
        assert_eq!(
            parse_time("2024-01-02T05:04:05+02:00"),
            Some(1_704_164_645_000)
        );
        assert_eq!(parse_time("1704164645"), Some(1_704_164_645_000));
        assert_eq!(
            parse_time("Tue, 02 Jan 2024 03:04:05 +0000"),
            Some(1_704_164_645_000)
        );
        assert!(parse_time("2024-01-02").is_some());
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(iso(1_704_164_645_000), "2024-01-02T03:04:05+00:00");
        assert_eq!(
            rfc2822(1_704_164_645_000),
            "Tue, 02 Jan 2024 03:04:05 +0000"
        );
    }
}
