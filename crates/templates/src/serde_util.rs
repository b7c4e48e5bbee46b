//! Lenient serde helpers for template fields: `null` collections and numeric versions.

use serde::{Deserialize, Deserializer};

/// Deserializes `null` (e.g. `services:` with no value) as the type's default.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes a version given as a string or a number (`1`, `1.0`, `"1.0.0"`).
///
/// The value is requested as a string so that YAML `1.0` keeps its text (`"1.0"`,
/// not `"1"`); numbers delivered by non-YAML formats are converted to text.
pub(crate) fn version_string<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_option(OptVersionVisitor)
}

struct OptVersionVisitor;

impl<'de> serde::de::Visitor<'de> for OptVersionVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a version string or number")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_string(VersionVisitor).map(Some)
    }
}

struct VersionVisitor;

impl serde::de::Visitor<'_> for VersionVisitor {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a version string or number")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
        if v.is_finite() {
            Ok(format!("{v:?}"))
        } else {
            Err(E::custom("a version must be a finite number or a string"))
        }
    }
}
