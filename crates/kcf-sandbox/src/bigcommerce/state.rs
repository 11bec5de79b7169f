//! The store's records as a state file: what `kcf up` uses to keep the sandbox's data across
//! restarts. Fields the API never shows (modification times in ms, stored addresses) travel
//! beside each record.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Data, categories::Category, customers::Customer, hooks::Hook, orders::Order, products::Product,
};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    products: Vec<(Product, i64)>,
    next_product: u64,
    categories: Vec<(Category, i64)>,
    next_category: u64,
    customers: Vec<(Customer, Vec<Value>, i64, i64)>,
    next_customer: u64,
    orders: Vec<Order>,
    next_order: u64,
    next_shipment: u64,
    hooks: Vec<Hook>,
    next_hook: u64,
    #[serde(default)]
    variants: Vec<super::variants::Variant>,
    #[serde(default)]
    next_variant: u64,
    #[serde(default)]
    options: Vec<super::variants::ProductOption>,
    #[serde(default)]
    next_option: u64,
    #[serde(default)]
    next_option_value: u64,
    #[serde(default)]
    stock: Vec<((u64, u64), i64)>,
}

impl Snapshot {
    pub(crate) fn of(d: &Data) -> Self {
        Self {
            products: d
                .products
                .values()
                .map(|p| (p.clone(), p.modified_ms))
                .collect(),
            next_product: d.next_product,
            categories: d
                .categories
                .values()
                .map(|c| (c.clone(), c.modified_ms))
                .collect(),
            next_category: d.next_category,
            customers: d
                .customers
                .values()
                .map(|c| {
                    (
                        c.clone(),
                        c.stored_addresses.clone(),
                        c.created_ms,
                        c.modified_ms,
                    )
                })
                .collect(),
            next_customer: d.next_customer,
            orders: d.orders.values().cloned().collect(),
            next_order: d.next_order,
            next_shipment: d.next_shipment,
            hooks: d.hooks.values().cloned().collect(),
            next_hook: d.next_hook,
            variants: d.variants.values().cloned().collect(),
            next_variant: d.next_variant,
            options: d.options.values().cloned().collect(),
            next_option: d.next_option,
            next_option_value: d.next_option_value,
            stock: d.stock.iter().map(|(k, v)| (*k, *v)).collect(),
        }
    }

    pub(crate) fn into_data(self) -> Data {
        let mut d = Data {
            next_product: self.next_product,
            next_category: self.next_category,
            next_customer: self.next_customer,
            next_order: self.next_order,
            next_shipment: self.next_shipment,
            next_hook: self.next_hook,
            next_variant: self.next_variant,
            next_option: self.next_option,
            next_option_value: self.next_option_value,
            stock: self.stock.into_iter().collect(),
            ..Data::default()
        };
        for v in self.variants {
            d.variants.insert(v.id, v);
        }
        for o in self.options {
            d.options.insert(o.id(), o);
        }
        for (mut p, modified) in self.products {
            p.modified_ms = modified;
            d.put_product(p);
        }
        for (mut c, modified) in self.categories {
            c.modified_ms = modified;
            d.categories.insert(c.category_id, c);
        }
        for (mut c, addresses, created, modified) in self.customers {
            c.stored_addresses = addresses;
            c.created_ms = created;
            c.modified_ms = modified;
            d.customers.insert(c.id, c);
        }
        for o in self.orders {
            d.orders.insert(o.id, o);
        }
        for h in self.hooks {
            d.hooks.insert(h.id, h);
        }
        d
    }
}
