//! Integers in JSON bodies as JSON Schema counts them: `26` and `26.0` are both the integer
//! 26 (serde alone refuses the second), so a body the document allows is one kcf reads.

use serde::{Deserialize, Deserializer, de::Error};

/// A whole number in `T`'s range, written with or without a fraction of zero.
fn whole<T: TryFrom<i64>, E: Error>(n: serde_json::Number) -> Result<T, E> {
    let v = match n.as_i64() {
        Some(v) => Some(v),
        None => n
            .as_f64()
            // Only where a float holds every whole number exactly (±2^53): past that, a number
            // just outside i64 rounds to one inside.
            .filter(|f| f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0)
            .map(|f| f as i64),
    };
    v.and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| E::custom(format!("{n} is not a whole number in range")))
}

/// `Option<T>`.
pub fn option<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(whole)
        .transpose()
}

/// `Vec<i64>`.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    Vec::<serde_json::Number>::deserialize(d)?
        .into_iter()
        .map(whole)
        .collect()
}

/// `Option<Vec<i64>>`.
pub fn option_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    Option::<Vec<serde_json::Number>>::deserialize(d)?
        .map(|l| l.into_iter().map(whole).collect())
        .transpose()
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::list")]
        ids: Vec<i64>,
    }

    #[test]
    fn whole_numbers_are_read_with_or_without_a_zero_fraction() {
        let b: Body = serde_json::from_str(r#"{"ids": [1, -26.0, 9007199254740992.0]}"#).unwrap();
        assert_eq!(b.ids, vec![1, -26, 9_007_199_254_740_992]);
        for bad in [
            r#"{"ids": [1.5]}"#,
            r#"{"ids": [1e30]}"#,
            r#"{"ids": ["1"]}"#,
            r#"{"ids": [-9223372036854775809]}"#,
        ] {
            assert!(serde_json::from_str::<Body>(bad).is_err(), "{bad}");
        }
    }
}
