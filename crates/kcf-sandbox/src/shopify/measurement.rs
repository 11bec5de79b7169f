//! A variant's weight, which Shopify keeps on its inventory item:
//! `inventoryItem { measurement { weight { value unit } } }`, written through
//! `InventoryItemInput.measurement` in `productSet` and the variant bulk mutations.

use async_graphql::{Enum, InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use super::UserError;

/// `WeightUnit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
pub(crate) enum WeightUnit {
    Grams,
    Kilograms,
    Ounces,
    Pounds,
}

/// `Weight`.
#[derive(Debug, Clone, Copy, PartialEq, SimpleObject, Serialize, Deserialize)]
pub(crate) struct Weight {
    pub value: f64,
    pub unit: WeightUnit,
}

/// `WeightInput`.
#[derive(Debug, Clone, Copy, InputObject)]
pub(crate) struct WeightInput {
    pub value: f64,
    pub unit: WeightUnit,
}

/// `InventoryItemMeasurementInput`.
#[derive(Debug, Clone, Copy, InputObject)]
pub(crate) struct InventoryItemMeasurementInput {
    pub weight: Option<WeightInput>,
}

/// `InventoryItemMeasurement`.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct InventoryItemMeasurement {
    pub id: async_graphql::ID,
    pub weight: Option<Weight>,
}

/// The weight a measurement input sets, checked as Shopify checks it (a number, not below 0);
/// `None` when it sets none.
pub(crate) fn weight_of(
    input: Option<&InventoryItemMeasurementInput>,
    path: &[&str],
) -> Result<Option<Weight>, UserError> {
    let Some(w) = input.and_then(|m| m.weight) else {
        return Ok(None);
    };
    if !w.value.is_finite() || w.value < 0.0 {
        let mut at = path.to_vec();
        at.extend(["inventoryItem", "measurement", "weight", "value"]);
        return Err(UserError::new(
            &at,
            "Weight must be greater than or equal to 0",
            "INVALID_INPUT",
        ));
    }
    Ok(Some(Weight {
        value: w.value,
        unit: w.unit,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(value: f64) -> InventoryItemMeasurementInput {
        InventoryItemMeasurementInput {
            weight: Some(WeightInput {
                value,
                unit: WeightUnit::Kilograms,
            }),
        }
    }

    #[test]
    fn a_weight_is_a_number_not_below_zero() {
        assert_eq!(weight_of(None, &["variants"]).ok(), Some(None));
        let ok = weight_of(Some(&input(1.5)), &["variants"]).ok().flatten();
        assert_eq!(
            ok.map(|w| (w.value, w.unit)),
            Some((1.5, WeightUnit::Kilograms))
        );
        for bad in [-0.1, f64::NAN, f64::INFINITY] {
            let e = weight_of(Some(&input(bad)), &["variants", "0"]);
            assert!(e.is_err(), "{bad} accepted");
        }
    }
}
