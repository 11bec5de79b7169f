//! Shopify's calculated query cost and its leaky bucket of points.
//!
//! Costs follow Shopify's published rules, computed from the parsed document: a scalar or
//! enum field costs 0, an object 1, a connection 2 plus its page size times the cost of one
//! node (requested), or plus the cost of the nodes it returned (actual); each mutation field
//! costs 10. A query is refused with `THROTTLED` when its requested cost exceeds the points
//! available, and the difference between requested and actual is given back after it runs.

use std::time::Instant;

use async_graphql::Name;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql_value::Value;
use serde::Serialize;
use serde_json::Value as Json;

/// A shop's query-cost budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostLimit {
    /// The bucket's size in points (Standard plan: 1,000; Advanced 2,000; Plus 10,000).
    pub maximum: f64,
    /// Points restored per second (Standard 50, Advanced 100, Plus 500).
    pub restore_rate: f64,
}

impl Default for CostLimit {
    fn default() -> Self {
        Self {
            maximum: 1000.0,
            restore_rate: 50.0,
        }
    }
}

/// `extensions.cost.throttleStatus`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

/// The bucket: points left, refilled continuously.
#[derive(Debug)]
pub(crate) struct Bucket {
    limit: CostLimit,
    available: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(limit: CostLimit) -> Self {
        Self {
            limit,
            available: limit.maximum,
            at: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let gained = now.duration_since(self.at).as_secs_f64() * self.limit.restore_rate;
        self.available = (self.available + gained).min(self.limit.maximum);
        self.at = now;
    }

    /// Takes `cost` points, or says how things stand when there are not enough.
    pub(crate) fn take(&mut self, cost: u64) -> Result<ThrottleStatus, ThrottleStatus> {
        self.refill();
        if cost as f64 > self.available {
            return Err(self.status());
        }
        self.available -= cost as f64;
        Ok(self.status())
    }

    /// Gives back what a query did not use.
    pub(crate) fn refund(&mut self, points: u64) -> ThrottleStatus {
        self.refill();
        self.available = (self.available + points as f64).min(self.limit.maximum);
        self.status()
    }

    pub(crate) fn status(&self) -> ThrottleStatus {
        ThrottleStatus {
            maximum_available: self.limit.maximum,
            currently_available: (self.available * 10.0).floor() / 10.0,
            restore_rate: self.limit.restore_rate,
        }
    }

    pub(crate) fn maximum(&self) -> f64 {
        self.limit.maximum
    }
}

/// The operation a request runs, with its variables: what both costs are computed over.
pub(crate) struct Costed<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Json,
    selection: &'a SelectionSet,
    mutation: bool,
}

impl<'a> Costed<'a> {
    /// The operation `name` (or the only one) of `doc`; `None` when there is no such
    /// operation (the executor then reports the error).
    pub(crate) fn of(
        doc: &'a ExecutableDocument,
        name: Option<&str>,
        variables: &'a Json,
    ) -> Option<Self> {
        let op = match (&doc.operations, name) {
            (DocumentOperations::Single(op), _) => op,
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
            (DocumentOperations::Multiple(_), None) => return None,
        };
        Some(Self {
            doc,
            variables,
            selection: &op.node.selection_set.node,
            mutation: op.node.ty == OperationType::Mutation,
        })
    }

    /// What the query may cost at most.
    pub(crate) fn requested(&self) -> u64 {
        if self.mutation {
            return self.mutations();
        }
        self.requested_set(self.selection)
    }

    /// What it cost, given the `data` it returned.
    pub(crate) fn actual(&self, data: &Json) -> u64 {
        if self.mutation {
            return self.mutations();
        }
        self.actual_set(self.selection, data)
    }

    fn mutations(&self) -> u64 {
        let mut n = 0;
        self.fields(self.selection, &mut |f| {
            if !f.name.node.starts_with("__") {
                n += 10;
            }
        });
        n
    }

    fn fields(
        &self,
        set: &SelectionSet,
        each: &mut dyn FnMut(&async_graphql::parser::types::Field),
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => each(&f.node),
                Selection::InlineFragment(i) => self.fields(&i.node.selection_set.node, each),
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.doc.fragments.get(&s.node.fragment_name.node) {
                        self.fields(&frag.node.selection_set.node, each);
                    }
                }
            }
        }
    }

    fn page_size(&self, field: &async_graphql::parser::types::Field) -> Option<u64> {
        ["first", "last"].iter().find_map(|arg| {
            let value = &field.get_argument(arg)?.node;
            let n = match value {
                Value::Variable(name) => self.variables.get(name.as_str())?.as_u64(),
                Value::Number(n) => n.as_u64(),
                _ => None,
            };
            Some(n.unwrap_or(0))
        })
    }

    fn requested_set(&self, set: &SelectionSet) -> u64 {
        let mut total = 0;
        self.fields(set, &mut |f| {
            let name = f.name.node.as_str();
            let sub = &f.selection_set.node;
            if sub.items.is_empty() || name == "pageInfo" || name.starts_with("__") {
                return;
            }
            total += match self.page_size(f) {
                Some(n) => 2 + n * self.requested_set(sub),
                None if name == "edges" => self.requested_set(sub),
                None => 1 + self.requested_set(sub),
            };
        });
        total
    }

    fn actual_set(&self, set: &SelectionSet, data: &Json) -> u64 {
        let mut total = 0;
        self.fields(set, &mut |f| {
            let name = f.name.node.as_str();
            let sub = &f.selection_set.node;
            if sub.items.is_empty() || name == "pageInfo" || name.starts_with("__") {
                return;
            }
            let key: &Name = f.alias.as_ref().map_or(&f.name.node, |a| &a.node);
            let value = data.get(key.as_str()).unwrap_or(&Json::Null);
            let own = if self.page_size(f).is_some() {
                2
            } else if name == "edges" {
                0
            } else {
                1
            };
            total += match value {
                Json::Null => 0,
                Json::Array(items) => items
                    .iter()
                    .map(|item| own + self.actual_set(sub, item))
                    .sum(),
                other => own + self.actual_set(sub, other),
            };
        });
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn costs(query: &str, variables: Json, data: Json) -> (u64, u64) {
        let doc = async_graphql::parser::parse_query(query).expect("query parses");
        let c = Costed::of(&doc, None, &variables).expect("one operation");
        (c.requested(), c.actual(&data))
    }

    #[test]
    fn connections_cost_two_plus_their_nodes() {
        let q = "query($n: Int) { products(first: $n) { nodes { id title } pageInfo { hasNextPage } } }";
        let data =
            json!({ "products": { "nodes": [{ "id": "1" }, { "id": "2" }], "pageInfo": {} } });
        assert_eq!(costs(q, json!({ "n": 10 }), data), (12, 4));
    }

    #[test]
    fn nested_connections_multiply_and_fragments_count() {
        let q = "{ products(first: 10) { edges { cursor node { ...P } } } }
                 fragment P on Product { id variants(first: 5) { nodes { sku } } }";
        let (requested, _) = costs(q, json!({}), json!({}));
        // 2 + 10 × (node 1 + variants (2 + 5 × 1))
        assert_eq!(requested, 2 + 10 * (1 + 2 + 5));
    }

    #[test]
    fn mutations_cost_ten_each() {
        let q = "mutation { a: productSet(input: {}) { product { id } } b: productDelete(input: {}) { deletedProductId } }";
        assert_eq!(costs(q, json!({}), json!({})), (20, 20));
    }

    #[test]
    fn the_bucket_refuses_what_it_does_not_hold_and_refills() {
        let mut b = Bucket::new(CostLimit {
            maximum: 100.0,
            restore_rate: 0.0,
        });
        assert!(b.take(60).is_ok());
        let refused = b.take(60).expect_err("only 40 left");
        assert_eq!(refused.currently_available, 40.0);
        assert_eq!(b.refund(30).currently_available, 70.0);
        assert!(b.take(70).is_ok());
    }
}
