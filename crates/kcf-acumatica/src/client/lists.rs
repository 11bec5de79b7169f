//! The ERP's own lists a merchant's mappings choose from: customer classes (AR201000), ship
//! vias (CS207500), payment methods (CA204000) and warehouses (IN204000), each its entity of
//! the Default endpoint, read with `$select` of the key and the description.

use serde_json::Value;

use super::{AcumaticaClient, Call};
use crate::{Error, wire};

/// A list of values in the ERP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErpList {
    /// `CustomerClass`, key `ClassID`.
    CustomerClasses,
    /// `ShipVia`, key `ShipViaID`.
    ShipVias,
    /// `PaymentMethod`, key `PaymentMethodID`.
    PaymentMethods,
    /// `Warehouse`, key `WarehouseID`.
    Warehouses,
}

impl ErpList {
    fn entity_and_key(self) -> (&'static str, &'static str) {
        match self {
            Self::CustomerClasses => ("CustomerClass", "ClassID"),
            Self::ShipVias => ("ShipVia", "ShipViaID"),
            Self::PaymentMethods => ("PaymentMethod", "PaymentMethodID"),
            Self::Warehouses => ("Warehouse", "WarehouseID"),
        }
    }
}

impl AcumaticaClient {
    /// Every value of `list`: (id, description), in the ERP's order.
    #[tracing::instrument(skip_all, fields(list = ?list), err)]
    pub async fn values(&self, list: ErpList) -> Result<Vec<(String, String)>, Error> {
        let (entity, key) = list.entity_and_key();
        let call = Call::get(self.entity_url(&[entity])?)
            .param("$select", format!("{key},Description"))
            .param("$top", "1000");
        let answer = self.execute(&call).await?.check(entity)?;
        let Value::Array(rows) = answer.json(entity)? else {
            return Err(Error::Decode(format!(
                "a list of {entity} records was expected"
            )));
        };
        Ok(rows
            .iter()
            .map(wire::unwrap)
            .filter_map(|r| {
                let id = r.get(key)?.as_str()?.to_owned();
                let description = r
                    .get("Description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                Some((id, description))
            })
            .collect())
    }
}
