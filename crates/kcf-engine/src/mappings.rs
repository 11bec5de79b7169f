//! Mappings a person sets: each value is checked against what the systems offer before it is
//! saved, so a typo never reaches a sync. Order statuses are chosen from the store's own list
//! (by name or id; the id is stored) and from the ERP's sales-order statuses.

use kcf_domain::{ConnectorId, Mapping, MappingKind};

use crate::{Engine, error::EngineError};

/// Acumatica's sales-order statuses (SO301000), the ERP side of an order-status mapping.
pub const ERP_ORDER_STATUSES: &[&str] = &[
    "Open",
    "Pending Approval",
    "On Hold",
    "Credit Hold",
    "Pending Processing",
    "Back Order",
    "Shipping",
    "Awaiting Payment",
    "Completed",
    "Invoiced",
    "Cancelled",
    "Expired",
];

/// What a mapping's values may be, for a screen that lets a person choose them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MappingChoices {
    /// ERP values kcf knows (empty: free text).
    pub erp: Vec<String>,
    /// Store values as (value stored, what a person reads); empty: free text.
    pub store: Vec<(String, String)>,
}

impl Engine {
    /// The values a mapping kind can take, as far as the systems can list them (order
    /// statuses today; the other kinds are free text until the emulators and clients list
    /// classes, ship vias, payment methods and warehouses).
    pub async fn mapping_choices(
        &self,
        id: &ConnectorId,
        kind: MappingKind,
    ) -> Result<MappingChoices, EngineError> {
        if kind != MappingKind::OrderStatus {
            return Ok(MappingChoices::default());
        }
        let conn = self
            .runtime(id)
            .ok_or_else(|| EngineError::UnknownConnector(id.to_string()))?;
        let store = conn.store.order_statuses().await.map_err(|e| {
            EngineError::External(format!("reading the store's order statuses: {e}"))
        })?;
        Ok(MappingChoices {
            erp: ERP_ORDER_STATUSES.iter().map(|s| (*s).to_owned()).collect(),
            store: store
                .into_iter()
                .map(|(id, name)| (id.to_string(), name))
                .collect(),
        })
    }

    /// Checks a mapping against what the systems offer, and saves it with the store value as
    /// the store keeps it (an order status named "Awaiting Shipment" is saved as its id, 9).
    pub async fn set_mapping(&self, mapping: Mapping) -> Result<Mapping, EngineError> {
        let erp = mapping.erp_value.trim().to_owned();
        let store = mapping.store_value.trim().to_owned();
        if erp.is_empty() || store.is_empty() {
            return Err(EngineError::Invalid(
                "a mapping needs an ERP value and a store value".into(),
            ));
        }
        let choices = self
            .mapping_choices(&mapping.connector, mapping.kind)
            .await?;
        let erp = if choices.erp.is_empty() {
            erp
        } else {
            choices
                .erp
                .iter()
                .find(|e| e.eq_ignore_ascii_case(&erp))
                .cloned()
                .ok_or_else(|| {
                    EngineError::Invalid(format!(
                        "'{erp}' is not an ERP {}; choose one of: {}",
                        mapping.kind,
                        choices.erp.join(", ")
                    ))
                })?
        };
        let store = if choices.store.is_empty() {
            store
        } else {
            choices
                .store
                .iter()
                .find(|(v, name)| *v == store || name.eq_ignore_ascii_case(&store))
                .map(|(v, _)| v.clone())
                .ok_or_else(|| {
                    EngineError::Invalid(format!(
                        "'{store}' is not one of the store's {}s; choose one of: {}",
                        mapping.kind,
                        choices
                            .store
                            .iter()
                            .map(|(v, n)| format!("{n} ({v})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?
        };
        let m = Mapping {
            erp_value: erp,
            store_value: store,
            ..mapping
        };
        self.store.put_mapping(&m).await?;
        Ok(m)
    }
}
