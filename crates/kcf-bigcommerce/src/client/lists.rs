//! The store's own lists that a merchant's mappings choose from: order statuses, customer
//! groups, payment methods and inventory locations, each as (value kcf stores, what a person
//! reads).

use serde::Deserialize;

use super::{BigCommerceClient, Paged};
use crate::Error;

#[derive(Deserialize)]
struct Named<K> {
    id: K,
    #[serde(default, alias = "label")]
    name: String,
    #[serde(default)]
    custom_label: String,
}

impl<K> Named<K> {
    /// The merchant's own label when there is one, as the control panel shows it.
    fn pair(self) -> (K, String) {
        let name = if self.custom_label.is_empty() {
            self.name
        } else {
            self.custom_label
        };
        (self.id, name)
    }
}

impl BigCommerceClient {
    /// The store's order statuses (`GET /v2/order_statuses`): id and name.
    pub async fn order_statuses(&self) -> Result<Vec<(i64, String)>, Error> {
        let list: Vec<Named<i64>> = self
            .get_v2_list(
                "/v2/order_statuses",
                &[],
                "order statuses",
                "reading the order statuses",
            )
            .await?;
        Ok(list.into_iter().map(Named::pair).collect())
    }

    /// The store's customer groups (`GET /v2/customer_groups`): id and name.
    pub async fn customer_groups(&self) -> Result<Vec<(u64, String)>, Error> {
        let list: Vec<Named<u64>> = self
            .get_v2_list(
                "/v2/customer_groups",
                &[],
                "customer groups",
                "reading the customer groups",
            )
            .await?;
        Ok(list.into_iter().map(Named::pair).collect())
    }

    /// The store's payment methods (`GET /v2/payments/methods`): code and name.
    pub async fn payment_methods(&self) -> Result<Vec<(String, String)>, Error> {
        #[derive(Deserialize)]
        struct Method {
            code: String,
            #[serde(default)]
            name: String,
        }
        let list: Vec<Method> = self
            .get_v2_list(
                "/v2/payments/methods",
                &[],
                "payment methods",
                "reading the payment methods",
            )
            .await?;
        Ok(list.into_iter().map(|m| (m.code, m.name)).collect())
    }

    /// The store's inventory locations (`GET /v3/inventory/locations`): id and label.
    pub async fn locations(&self) -> Result<Vec<(u64, String)>, Error> {
        let page: Paged<Named<u64>> = self
            .get_page(
                "/v3/inventory/locations",
                &[],
                "inventory locations",
                "reading the inventory locations",
            )
            .await?;
        Ok(page.items.into_iter().map(Named::pair).collect())
    }
}
