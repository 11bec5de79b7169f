//! Mappings a person sets: each value is checked against what the two systems list before it
//! is saved, so a typo never reaches a sync. A value may be given as it is stored or as a
//! person reads it (a store status "Awaiting Shipment" is stored as its id, 9).

use kcf_domain::{ConnectorId, Mapping, MappingKind};

use crate::{Engine, error::EngineError};

/// The longest value a mapping keeps (the systems' own are far shorter).
const MAX_VALUE: usize = 200;

/// What a mapping's values may be, for a screen that lets a person choose them: (value as
/// stored, what a person reads) on each side; an empty side is free text.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MappingChoices {
    /// The ERP's values.
    pub erp: Vec<(String, String)>,
    /// The store's values.
    pub store: Vec<(String, String)>,
}

impl Engine {
    /// The values a mapping kind can take, as the two systems list them (order statuses,
    /// customer classes and groups, payment methods, ship vias, warehouses and locations);
    /// a side that lists none is free text.
    pub async fn mapping_choices(
        &self,
        id: &ConnectorId,
        kind: MappingKind,
    ) -> Result<MappingChoices, EngineError> {
        let conn = self
            .runtime(id)
            .ok_or_else(|| EngineError::UnknownConnector(id.to_string()))?;
        let erp =
            conn.erp.choices(kind).await.map_err(|e| {
                EngineError::External(format!("reading the ERP's list: {}", e.source))
            })?;
        let store = conn.store.choices(kind).await.map_err(|e| {
            EngineError::External(format!("reading the store's list: {}", e.source))
        })?;
        Ok(MappingChoices { erp, store })
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
        for (side, value) in [("ERP", &erp), ("store", &store)] {
            if value.chars().count() > MAX_VALUE {
                return Err(EngineError::Invalid(format!(
                    "the {side} value is longer than {MAX_VALUE} characters"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(EngineError::Invalid(format!(
                    "the {side} value holds a control character"
                )));
            }
        }
        let choices = self
            .mapping_choices(&mapping.connector, mapping.kind)
            .await?;
        let erp = chosen(&choices.erp, &erp).ok_or_else(|| {
            EngineError::Conflict(format!(
                "'{erp}' is not an ERP {}; choose one of: {}",
                mapping.kind,
                listed(&choices.erp)
            ))
        })?;
        let store = chosen(&choices.store, &store).ok_or_else(|| {
            EngineError::Conflict(format!(
                "'{store}' is not one of the store's {} values; choose one of: {}",
                mapping.kind,
                listed(&choices.store)
            ))
        })?;
        let m = Mapping {
            erp_value: erp,
            store_value: store,
            ..mapping
        };
        self.store.put_mapping(&m).await?;
        Ok(m)
    }
}

/// The stored value `given` names (the value itself, or what a person reads, in any case);
/// `given` itself when the list is empty (free text).
fn chosen(list: &[(String, String)], given: &str) -> Option<String> {
    if list.is_empty() {
        return Some(given.to_owned());
    }
    list.iter()
        .find(|(v, name)| v.eq_ignore_ascii_case(given) || name.eq_ignore_ascii_case(given))
        .map(|(v, _)| v.clone())
}

fn listed(list: &[(String, String)]) -> String {
    list.iter()
        .map(|(v, n)| {
            if v == n {
                v.clone()
            } else {
                format!("{n} ({v})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
