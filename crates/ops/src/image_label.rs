//! The image label: what a saved template's image tells an account that cannot see its tags.
//!
//! EC2 shows an image's tags only to the account that set them ("Tag your Amazon EC2
//! resources"), so an account an image is shared with sees its **name** and **description**
//! and nothing else of Prism's. Both are therefore a small public, versioned format,
//! documented in `docs/IMAGE_LABELS.md`:
//!
//! - name: `prism-NAME-vN-OPID8` (NAME a template name, which may contain `-`, so the name is
//!   read from the right; OPID8 the first 8 hex digits of the saving operation's id, which
//!   makes the name unique to that operation);
//! - description (format `prism:v1`): `prism:v1 NAME@N[ from ORIG[@OV]][ | DESCRIPTION]`,
//!   at most 255 characters (EC2's limit), the free text cut to fit.
//!
//! Images saved before this format carry `Prism template NAME vN[: DESCRIPTION]` (the
//! "legacy" format); [`decode`] reads both. Add a format under a new marker (`prism:v2`);
//! never change what `prism:v1` means.

use prism_cloud::tags;

/// Marker opening a description in the current format.
pub const MARKER_V1: &str = "prism:v1";
/// Prefix of every Prism image name.
pub const NAME_PREFIX: &str = "prism-";
/// DescribeImages name pattern matching every Prism image name.
pub const NAME_PATTERN: &str = "prism-*";
/// EC2's limit on an image name, in characters (CreateImage `Name`: 3–128).
pub const MAX_IMAGE_NAME: usize = 128;
/// The lineage (` from ORIG@OV`) is written only while the header stays within this many
/// characters, so that a long lineage never crowds out the description.
pub const MAX_HEADER_WITH_LINEAGE: usize = 200;
/// Separator between the header and the free-text description.
const SEPARATOR: &str = " | ";
/// Legacy description prefix.
const LEGACY_PREFIX: &str = "Prism template ";

/// Which description format an image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    /// `prism:v1 NAME@N …`.
    V1,
    /// `Prism template NAME vN[: DESCRIPTION]`, written before `prism:v1`.
    Legacy,
}

/// What an image's name and description say about the saved template it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLabel {
    /// Saved template name (a valid template name).
    pub template: String,
    /// Saved version (1, 2, …).
    pub version: u32,
    /// The template's description as the image carries it (possibly shortened).
    pub description: Option<String>,
    /// The template the saved workstation was launched from.
    pub original_template: Option<String>,
    /// That template's version.
    pub original_version: Option<String>,
    /// The format the description was read from.
    pub format: LabelFormat,
}

/// Why an image's name or description is not a Prism label (such images are not Prism's, or
/// are damaged; discovery skips them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The name is not `prism-NAME-vN-OPID8`.
    #[error("image name {0:?} is not of the form prism-NAME-vN-OPID8")]
    Name(String),
    /// The description is neither `prism:v1 …` nor the legacy format.
    #[error("image description {0:?} is not a Prism label")]
    Description(String),
    /// The description starts with a `prism:` marker this version does not know.
    #[error("image description uses an unknown label format {0:?}")]
    UnknownFormat(String),
    /// Name and description name different template versions.
    #[error("image name says {name} but its description says {description}")]
    Mismatch {
        /// `NAME@N` from the name.
        name: String,
        /// `NAME@N` from the description.
        description: String,
    },
}

/// The image name of version `version` of `template` saved by operation `op_id`:
/// `prism-NAME-vN-OPID8` (at most 127 characters for a valid template name).
pub fn image_name(template: &str, version: u32, op_id: &str) -> String {
    let short: String = op_id.chars().take(8).collect();
    format!("{NAME_PREFIX}{template}-v{version}-{short}")
}

/// The `prism:v1` description of `label` (its `format` is ignored), cut to EC2's 255
/// characters; true if the free-text description was shortened or left out to fit.
///
/// The lineage is written only when it is a valid template reference and the header stays
/// within [`MAX_HEADER_WITH_LINEAGE`]; the free text ends in `…` when it was cut.
pub fn encode_description(label: &ImageLabel) -> (String, bool) {
    let mut header = format!("{MARKER_V1} {}@{}", label.template, label.version);
    if let Some(orig) = label.original_template.as_deref() {
        let lineage = match label.original_version.as_deref() {
            Some(v) => format!("{orig}@{v}"),
            None => orig.to_string(),
        };
        // Only what reads back unambiguously: a valid `T` or `T@version` reference.
        if prism_templates::parse_template_ref(&lineage).is_ok()
            && header.chars().count() + 6 + lineage.chars().count() <= MAX_HEADER_WITH_LINEAGE
        {
            header.push_str(" from ");
            header.push_str(&lineage);
        }
    }
    let text = label
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let Some(text) = text else {
        return (header, false);
    };
    let (mut full, cut) = tags::clamp_image_description(&format!("{header}{SEPARATOR}{text}"));
    if cut {
        // Show that it was shortened: the last character kept becomes an ellipsis.
        full.pop();
        full.push('…');
    }
    (full, cut)
}

/// Reads `prism-NAME-vN-OPID8` from the right: the template name and version.
pub fn decode_name(name: &str) -> Result<(String, u32), LabelError> {
    let bad = || LabelError::Name(name.to_string());
    let rest = name.strip_prefix(NAME_PREFIX).ok_or_else(bad)?;
    let (rest, op) = rest.rsplit_once('-').ok_or_else(bad)?;
    if op.len() != 8 || !op.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let (template, v) = rest.rsplit_once("-v").ok_or_else(bad)?;
    let version = parse_version(v).ok_or_else(bad)?;
    prism_templates::validate_template_name(template).map_err(|_| bad())?;
    Ok((template.to_string(), version))
}

/// Reads an image's name and description; both must name the same template version.
pub fn decode(name: &str, description: Option<&str>) -> Result<ImageLabel, LabelError> {
    let (template, version) = decode_name(name)?;
    let description = description.unwrap_or_default();
    let label = if let Some(rest) = description.strip_prefix(MARKER_V1) {
        decode_v1(description, rest)?
    } else if let Some(rest) = description.strip_prefix(LEGACY_PREFIX) {
        decode_legacy(description, rest)?
    } else if let Some(marker) = description
        .strip_prefix("prism:")
        .and_then(|_| description.split_whitespace().next())
    {
        return Err(LabelError::UnknownFormat(marker.to_string()));
    } else {
        return Err(LabelError::Description(description.to_string()));
    };
    if label.template != template || label.version != version {
        return Err(LabelError::Mismatch {
            name: format!("{template}@{version}"),
            description: format!("{}@{}", label.template, label.version),
        });
    }
    Ok(label)
}

/// `rest` follows the `prism:v1` marker of `whole`.
fn decode_v1(whole: &str, rest: &str) -> Result<ImageLabel, LabelError> {
    let bad = || LabelError::Description(whole.to_string());
    // A longer marker (`prism:v10`) is another format.
    if !(rest.is_empty() || rest.starts_with(' ')) {
        let marker = whole.split_whitespace().next().unwrap_or(whole);
        return Err(LabelError::UnknownFormat(marker.to_string()));
    }
    let (header, text) = match rest.split_once(SEPARATOR) {
        Some((h, t)) => (h, Some(t)),
        None => (rest.strip_suffix(" |").unwrap_or(rest), None),
    };
    let mut words = header.split_whitespace();
    let (template, version) = words
        .next()
        .and_then(|w| w.split_once('@'))
        .ok_or_else(bad)?;
    prism_templates::validate_template_name(template).map_err(|_| bad())?;
    let version = parse_version(version).ok_or_else(bad)?;
    let (mut original_template, mut original_version) = (None, None);
    // Fields a later `prism:v1` writer adds after the known ones are ignored.
    while let Some(w) = words.next() {
        if w == "from" {
            let r = words.next().ok_or_else(bad)?;
            let (t, v) = prism_templates::parse_template_ref(r).map_err(|_| bad())?;
            original_template = Some(t);
            original_version = v;
        }
    }
    Ok(ImageLabel {
        template: template.to_string(),
        version,
        description: text.map(str::to_string).filter(|t| !t.is_empty()),
        original_template,
        original_version,
        format: LabelFormat::V1,
    })
}

/// `rest` follows `Prism template ` in `whole`: `NAME vN[: DESCRIPTION]`.
fn decode_legacy(whole: &str, rest: &str) -> Result<ImageLabel, LabelError> {
    let bad = || LabelError::Description(whole.to_string());
    let (template, rest) = rest.split_once(" v").ok_or_else(bad)?;
    let (version, text) = match rest.split_once(": ") {
        Some((v, t)) => (v, Some(t)),
        None => (rest, None),
    };
    prism_templates::validate_template_name(template).map_err(|_| bad())?;
    let version = parse_version(version).ok_or_else(bad)?;
    Ok(ImageLabel {
        template: template.to_string(),
        version,
        description: text.map(str::to_string).filter(|t| !t.is_empty()),
        original_template: None,
        original_version: None,
        format: LabelFormat::Legacy,
    })
}

/// A saved version as written: a positive decimal without leading zeros.
fn parse_version(v: &str) -> Option<u32> {
    if v.is_empty() || v.starts_with('0') || !v.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    v.parse().ok().filter(|n: &u32| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: &str = "0a1b2c3d-0000-4000-8000-000000000000";

    fn label(template: &str, version: u32, description: Option<&str>) -> ImageLabel {
        ImageLabel {
            template: template.into(),
            version,
            description: description.map(String::from),
            original_template: Some("python-ml".into()),
            original_version: Some("2".into()),
            format: LabelFormat::V1,
        }
    }

    fn round_trip(l: &ImageLabel) -> ImageLabel {
        let name = image_name(&l.template, l.version, OP);
        let (d, _) = encode_description(l);
        assert!(d.chars().count() <= tags::MAX_IMAGE_DESCRIPTION, "{d}");
        assert!(name.chars().count() <= MAX_IMAGE_NAME, "{name}");
        decode(&name, Some(&d)).unwrap_or_else(|e| panic!("{name} / {d}: {e}"))
    }

    #[test]
    fn a_name_with_dashes_and_its_description_round_trip() {
        let l = label("my-team-v2-env", 12, Some("GPU box - with | pipes"));
        let name = image_name(&l.template, l.version, OP);
        assert_eq!(name, "prism-my-team-v2-env-v12-0a1b2c3d");
        let (d, cut) = encode_description(&l);
        assert!(!cut);
        assert_eq!(
            d,
            "prism:v1 my-team-v2-env@12 from python-ml@2 | GPU box - with | pipes"
        );
        assert_eq!(round_trip(&l), l);
    }

    #[test]
    fn no_description_and_no_lineage_round_trip() {
        let l = ImageLabel {
            original_template: None,
            original_version: None,
            ..label("abc", 1, None)
        };
        assert_eq!(encode_description(&l).0, "prism:v1 abc@1");
        assert_eq!(round_trip(&l), l);
        let l = ImageLabel {
            original_version: None,
            ..label("abc", 1, Some("x"))
        };
        assert_eq!(
            encode_description(&l).0,
            "prism:v1 abc@1 from python-ml | x"
        );
        assert_eq!(round_trip(&l), l);
    }

    #[test]
    fn a_long_description_is_clamped_to_ec2s_limit_and_marked() {
        let l = label("my-env", 3, Some(&"d".repeat(1000)));
        let (d, cut) = encode_description(&l);
        assert!(cut);
        assert_eq!(d.chars().count(), tags::MAX_IMAGE_DESCRIPTION);
        assert!(d.ends_with("dd…"), "{d}");
        let back = round_trip(&l);
        assert_eq!(back.template, "my-env");
        assert_eq!(back.version, 3);
        assert_eq!(back.original_template.as_deref(), Some("python-ml"));
        let text = back.description.unwrap();
        assert!(text.starts_with("ddd") && text.ends_with('…'), "{text}");
    }

    #[test]
    fn a_unicode_description_is_cut_on_characters_and_round_trips() {
        let l = label("résumé-free", 1, Some("Données météo 🌦"));
        // Not a valid template name: the name check refuses it, never panics.
        assert!(decode(&image_name(&l.template, 1, OP), Some("prism:v1 x@1")).is_err());
        let l = label("meteo", 1, Some("Données météo 🌦 ünïcödé"));
        assert_eq!(round_trip(&l), l);
        let l = label("meteo", 1, Some(&"é🌦".repeat(300)));
        let (d, cut) = encode_description(&l);
        assert!(cut);
        assert_eq!(d.chars().count(), tags::MAX_IMAGE_DESCRIPTION);
        assert!(round_trip(&l).description.unwrap().ends_with('…'));
    }

    #[test]
    fn the_longest_names_keep_the_header_and_drop_the_lineage_first() {
        let long = format!("a{}", "b".repeat(99));
        let l = ImageLabel {
            original_template: Some(long.clone()),
            original_version: Some("9".repeat(64)),
            ..label(&long, u32::MAX, Some(&"x".repeat(300)))
        };
        let (d, cut) = encode_description(&l);
        assert!(cut);
        assert!(
            d.starts_with(&format!("prism:v1 {long}@{} | xx", u32::MAX)),
            "{d}"
        );
        let back = round_trip(&l);
        assert_eq!(back.original_template, None);
        assert_eq!(back.version, u32::MAX);
    }

    #[test]
    fn old_descriptions_still_decode() {
        let name = "prism-my-env-v3-deadbeef";
        let l = decode(name, Some("Prism template my-env v3: GPU box: CUDA 12")).unwrap();
        assert_eq!(l.format, LabelFormat::Legacy);
        assert_eq!((l.template.as_str(), l.version), ("my-env", 3));
        assert_eq!(l.description.as_deref(), Some("GPU box: CUDA 12"));
        // Copies made before prism:v1 carried no description text.
        let l = decode(name, Some("Prism template my-env v3")).unwrap();
        assert_eq!(l.description, None);
    }

    #[test]
    fn what_is_not_a_label_is_refused_without_panicking() {
        let ok = "prism-my-env-v3-deadbeef";
        for (name, d) in [
            ("prism-my-env-v3-deadbeef", None),
            ("prism-my-env-v3-deadbeef", Some("")),
            ("prism-my-env-v3-deadbeef", Some("Ubuntu 22.04")),
            ("prism-my-env-v3-deadbeef", Some("prism:v1")),
            ("prism-my-env-v3-deadbeef", Some("prism:v1 my-env@")),
            ("prism-my-env-v3-deadbeef", Some("prism:v1 my-env@03")),
            ("prism-my-env-v3-deadbeef", Some("prism:v1 my-env@3 from")),
            (
                "prism-my-env-v3-deadbeef",
                Some("prism:v1 my-env@3 from a b"),
            ),
            ("prism-my-env-v3-deadbeef", Some("prism:v1 ../x@3")),
            ("prism-my-env-v3-deadbeef", Some("Prism template my-env")),
            ("prism-my-env-v3-deadbeef", Some("Prism template my-env v")),
            ("prism-my-env-v3-deadbeef", Some("prism:v1 other@3")),
            ("prism-my-env-v3-deadbeef", Some("prism:v1 my-env@4")),
            ("prism-my-env-v3-deadbeef", Some("prism:v10 my-env@3")),
            ("prism-my-env-v3-deadbeef", Some("prism:v2 my-env@3")),
            ("prism-my-env-v3", Some("prism:v1 my-env@3")),
            ("prism-my-env-v0-deadbeef", Some("prism:v1 my-env@0")),
            ("prism-my-env-3-deadbeef", Some("prism:v1 my-env@3")),
            ("prism-my-env-v3-deadbeeg", Some("prism:v1 my-env@3")),
            ("prism--v3-deadbeef", Some("prism:v1 @3")),
            ("ubuntu-my-env-v3-deadbeef", Some("prism:v1 my-env@3")),
            ("prism-é-v3-deadbeef", Some("prism:v1 é@3")),
            (
                "prism-my-env-v99999999999-deadbeef",
                Some("prism:v1 my-env@99999999999"),
            ),
            ("", Some("")),
            ("-", Some("prism:")),
        ] {
            assert!(decode(name, d).is_err(), "{name} / {d:?}");
        }
        assert!(decode(ok, Some("prism:v1 my-env@3")).is_ok());
        assert!(matches!(
            decode(ok, Some("prism:v2 my-env@3")),
            Err(LabelError::UnknownFormat(m)) if m == "prism:v2"
        ));
        assert!(matches!(
            decode(ok, Some("prism:v1 my-env@4")),
            Err(LabelError::Mismatch { .. })
        ));
    }

    #[test]
    fn unknown_trailing_fields_of_a_later_v1_writer_are_ignored() {
        let l = decode(
            "prism-my-env-v3-deadbeef",
            Some("prism:v1 my-env@3 from python-ml@2 arch=x86_64 | text"),
        )
        .unwrap();
        assert_eq!(l.original_version.as_deref(), Some("2"));
        assert_eq!(l.description.as_deref(), Some("text"));
    }
}
