//! Text as both backends can keep it. PostgreSQL refuses a NUL character in `text` and `jsonb`
//! (and a B-tree index row over about 2.7 KB), so an outside string holding one would fail its
//! commit on every retry: a notification answered 503 forever, an error that can never be
//! recorded. Every outside text goes through here on its way in: a NUL becomes U+FFFD (the
//! replacement character), and a dedup key that is too long, or held a NUL, becomes the
//! SHA-256 of what was sent, so a resend still collapses onto it.

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The longest dedup key kept as it is (well under PostgreSQL's index row limit).
pub const MAX_DEDUP_KEY: usize = 512;

/// `s` with every NUL replaced.
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// [`clean`] for an optional text.
pub fn clean_opt(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(clean)
}

/// `v` with every NUL in its strings and keys replaced.
pub fn clean_json(v: &Value) -> Cow<'_, Value> {
    fn dirty(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(dirty),
            Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || dirty(v)),
            _ => false,
        }
    }
    fn scrub(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(clean(s).into_owned()),
            Value::Array(a) => Value::Array(a.iter().map(scrub).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (clean(k).into_owned(), scrub(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    if dirty(v) {
        Cow::Owned(scrub(v))
    } else {
        Cow::Borrowed(v)
    }
}

/// A dedup key both backends can index: as sent, or `sha256:<hex>` of it when it is longer
/// than [`MAX_DEDUP_KEY`] bytes or holds a NUL.
pub fn dedup_key(k: &str) -> Cow<'_, str> {
    if k.len() <= MAX_DEDUP_KEY && !k.contains('\0') {
        return Cow::Borrowed(k);
    }
    let digest = Sha256::digest(k.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Cow::Owned(format!("sha256:{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_replaced_everywhere() {
        assert_eq!(clean("a\0b"), "a\u{FFFD}b");
        assert!(matches!(clean("ab"), Cow::Borrowed(_)));
        let v = serde_json::json!({ "k\0": ["x\0", { "y": "z\0" }], "n": 1 });
        let c = clean_json(&v).into_owned();
        assert_eq!(
            c,
            serde_json::json!({ "k\u{FFFD}": ["x\u{FFFD}", { "y": "z\u{FFFD}" }], "n": 1 })
        );
    }

    #[test]
    fn long_or_nul_dedup_keys_become_stable_hashes() {
        assert_eq!(dedup_key("Id:Query:A1"), "Id:Query:A1");
        let long = "x".repeat(3000);
        let once = dedup_key(&long).into_owned();
        assert!(
            once.starts_with("sha256:") && once.len() == 7 + 64,
            "{once}"
        );
        assert_eq!(
            dedup_key(&long),
            once,
            "a resend collapses onto the same key"
        );
        assert_ne!(dedup_key(&"y".repeat(3000)), once);
        assert!(dedup_key("a\0b").starts_with("sha256:"));
    }
}
