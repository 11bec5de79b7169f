//! Identifiers checked once, where they enter: after parsing they are known to be usable.

use std::fmt;

/// An identifier that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{value}': {why}")]
pub struct InvalidId {
    /// What was being parsed.
    pub kind: &'static str,
    /// The rejected input (truncated).
    pub value: String,
    /// What is wrong with it.
    pub why: &'static str,
}

fn invalid(kind: &'static str, value: &str, why: &'static str) -> InvalidId {
    InvalidId {
        kind,
        value: value.chars().take(80).collect(),
        why,
    }
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `value`.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let check: fn(&str) -> Result<(), &'static str> = $check;
                check(&value).map_err(|why| invalid($kind, &value, why))?;
                Ok(Self(value))
            }

            /// One checked when it entered, read back from the store: a rule added since
            /// must not make what was accepted unreadable.
            pub fn stored(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::parse(String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// A connector's id: 1–64 of `a-z 0-9 - _`, used in URLs such as `/push/acumatica/{id}`.
    ConnectorId,
    "connector id",
    |s| {
        if s.is_empty() || s.len() > 64 {
            return Err("must be 1 to 64 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') {
            return Err("use only lowercase letters, digits, '-' and '_'");
        }
        Ok(())
    }
);

string_id!(
    /// The key of a record in its source system (an InventoryID, an order number…).
    RecordKey,
    "record key",
    |s| {
        if s.trim().is_empty() {
            return Err("must not be empty");
        }
        if s.len() > 256 {
            return Err("must be at most 256 bytes");
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        // Invisible characters and direction overrides make one key look like another (or
        // like nothing) on every screen that shows it.
        if s.chars().any(is_invisible) {
            return Err("must not contain invisible or text-direction characters");
        }
        if mixes_scripts(s) {
            return Err("must not mix letters of different scripts (look-alike characters)");
        }
        Ok(())
    }
);

/// Whether a key mixes scripts the way a spoofed key does: a Cyrillic 'А' among Latin
/// letters reads as another record's key. Allowed, as UTS #39's "highly restrictive" level
/// allows: one script (digits and punctuation belong to every script), and Latin with Han,
/// Japanese or Korean (`Tシャツ-01`).
fn mixes_scripts(s: &str) -> bool {
    use unicode_script::Script;
    use unicode_security::mixed_script::AugmentedScriptSet;
    let mut all = AugmentedScriptSet::default();
    let mut beside_latin = AugmentedScriptSet::default();
    for c in s.chars() {
        all.intersect_with(AugmentedScriptSet::for_char(c));
        let set = AugmentedScriptSet::for_char(c);
        if !set.base.contains_script(Script::Latin) {
            beside_latin.intersect_with(set);
        }
    }
    let single = !all.is_empty();
    let latin_with_cjk = beside_latin.hanb || beside_latin.jpan || beside_latin.kore;
    !(single || latin_with_cjk)
}

/// Zero-width and bidirectional-formatting characters (Unicode `Cf` ones that change how text
/// reads without showing), and the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// The OpenAPI schema of a string id: a string with the constraints its check enforces that a
/// schema can state.
fn string_schema(
    description: &str,
    pattern: Option<&str>,
    max_length: usize,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .description(Some(description))
        .pattern(pattern)
        .min_length(Some(1))
        .max_length(Some(max_length))
        .into()
}

impl utoipa::PartialSchema for ConnectorId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            "a connector id: 1 to 64 of a-z, 0-9, '-' and '_'",
            Some("^[a-z0-9_-]{1,64}$"),
            64,
        )
    }
}
impl utoipa::ToSchema for ConnectorId {}

impl utoipa::PartialSchema for RecordKey {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            "the key of a record in its source system: at most 256 bytes, no control, invisible or direction characters, one script",
            None,
            256,
        )
    }
}
impl utoipa::ToSchema for RecordKey {}

/// A message's id in the store.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_ids_are_slugs() {
        assert!(ConnectorId::parse("main-store_2").is_ok());
        let e = ConnectorId::parse("Main Store").unwrap_err();
        assert!(e.to_string().contains("lowercase letters"), "{e}");
        assert!(ConnectorId::parse("").is_err());
        assert!(ConnectorId::parse("x".repeat(65)).is_err());
    }

    #[test]
    fn record_keys_reject_empty_and_control() {
        assert!(RecordKey::parse("AACOMPUT01").is_ok());
        assert!(RecordKey::parse("  ").is_err());
        assert!(RecordKey::parse("a\nb").is_err());
        assert!(
            RecordKey::parse("AA\u{202E}10").is_err(),
            "a right-to-left override"
        );
        assert!(
            RecordKey::parse("AA\u{200B}10").is_err(),
            "a zero-width space"
        );
        assert!(
            RecordKey::parse("CAFÉ-Ü1").is_ok(),
            "letters of any script are fine"
        );
        assert!(
            RecordKey::parse("\u{0410}ACOMPUT01").is_err(),
            "a Cyrillic A among Latin letters"
        );
        assert!(
            RecordKey::parse("KCF-\u{03BF}1").is_err(),
            "a Greek omicron among Latin letters"
        );
        assert!(
            RecordKey::parse("ТОВАР-01").is_ok(),
            "one script, not Latin"
        );
        assert!(
            RecordKey::parse("しょうひん商品-1").is_ok(),
            "Japanese mixes its own scripts"
        );
        assert!(
            RecordKey::parse("Tシャツ-01").is_ok(),
            "and Latin with them"
        );
        assert!(RecordKey::parse("ORDER #1001 / B").is_ok());
        assert!(serde_json::from_str::<RecordKey>("\"\"").is_err());
    }
}
