//! Closed sets of names (entities, statuses, modes…) that travel as text: in URLs, CLI
//! arguments, database columns. One macro gives each the same parse/print behaviour, and an
//! unknown name becomes a typed error that lists the valid ones.

use std::fmt;

/// A name that is not one of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'; valid {} are: {}", plural(kind), valid.join(", "))]
pub struct UnknownName {
    /// What was being parsed ("entity", "status"…).
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// Every accepted spelling.
    pub valid: Vec<&'static str>,
}

/// `entity` → `entities`, `status` → `statuses`, `mode` → `modes`.
fn plural(kind: &str) -> String {
    if let Some(stem) = kind.strip_suffix('y') {
        format!("{stem}ies")
    } else if kind.ends_with('s') || kind.ends_with("sh") || kind.ends_with("ch") {
        format!("{kind}es")
    } else {
        format!("{kind}s")
    }
}

/// Implemented by every closed name set.
pub trait Named: Sized + Copy + 'static {
    /// What the set is called in error messages.
    const KIND: &'static str;
    /// Every member, in display order.
    const ALL: &'static [Self];
    /// The canonical spelling.
    fn as_str(self) -> &'static str;

    /// Parses the canonical spelling, case-insensitively, also accepting `_` for `-`.
    fn parse_name(value: &str) -> Result<Self, UnknownName> {
        let wanted = value.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == wanted)
            .ok_or_else(|| UnknownName {
                kind: Self::KIND,
                value: value.to_owned(),
                valid: Self::ALL.iter().map(|m| m.as_str()).collect(),
            })
    }
}

/// Declares a closed name set with `Display`, `FromStr`, serde and [`Named`].
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $crate::names::Named for $name {
            const KIND: &'static str = $kind;
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl $name {
            /// The canonical spelling.
            pub fn as_str(self) -> &'static str { <Self as $crate::names::Named>::as_str(self) }
            /// Every member, in display order.
            pub fn all() -> &'static [Self] { <Self as $crate::names::Named>::ALL }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as $crate::names::Named>::parse_name(s)
            }
        }

        impl $crate::utoipa::PartialSchema for $name {
            fn schema() -> $crate::utoipa::openapi::RefOr<$crate::utoipa::openapi::schema::Schema> {
                $crate::utoipa::openapi::ObjectBuilder::new()
                    .schema_type($crate::utoipa::openapi::Type::String)
                    .enum_values(Some(Self::all().iter().map(|m| m.as_str())))
                    .into()
            }
        }

        impl $crate::utoipa::ToSchema for $name {}

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

/// Joins names for messages such as "one of: a, b, c".
pub fn list<T: Named>() -> impl fmt::Display {
    T::ALL
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
