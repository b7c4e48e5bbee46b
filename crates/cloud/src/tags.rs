//! The `prism:*` tag schema, the one place its keys are spelled.
//!
//! Instances, images, snapshots and regional copies carry these tags; a saved template *is*
//! its images and their tags, so these keys are a public, versioned format (documented in the
//! README). Add keys; never rename one.

/// Marks a resource as managed by Prism (value `true`).
pub const MANAGED: &str = "prism:managed";
/// Schema version of the tags on this resource (value [`SCHEMA_VERSION`]).
pub const SCHEMA: &str = "prism:schema";
/// Current schema version.
pub const SCHEMA_VERSION: &str = "1";
/// The operation that created the resource (used to find it again after a crash).
pub const OPERATION: &str = "prism:operation";

/// Instance: the workstation's name.
pub const NAME: &str = "prism:name";
/// Instance: the template it was launched from.
pub const TEMPLATE: &str = "prism:template";
/// Instance: the template version it was launched from.
pub const TEMPLATE_VERSION: &str = "prism:template-version";
/// Instance, image: the project it belongs to.
pub const PROJECT: &str = "prism:project";
/// Instance: the launch size (`M`, `GPU-L`, …).
pub const SIZE: &str = "prism:size";
/// Instance, image, snapshot: runs (or holds) an image with the NVIDIA driver and CUDA, so
/// `GPU-*` sizes may launch what is saved from it (value `true`).
pub const GPU_READY: &str = "prism:gpu-ready";
/// Volume kept by `prism restore` (the replaced root): the workstation it was the root of.
pub const REPLACED_ROOT_OF: &str = "prism:replaced-root-of";
/// Volume kept by `prism restore`: when it was replaced (RFC 3339).
pub const REPLACED_AT: &str = "prism:replaced-at";
/// Volume kept by `prism restore`: the template version the workstation ran from before.
pub const REPLACED_VERSION: &str = "prism:replaced-version";
/// Volume kept by `prism restore`: the version restored in its place.
pub const RESTORED_TO: &str = "prism:restored-to";

/// Image, snapshot: the saved template's name.
pub const SAVED_TEMPLATE: &str = "prism:saved-template";
/// Image, snapshot: the saved template's version (1, 2, …).
pub const SAVED_VERSION: &str = "prism:saved-version";
/// Image, snapshot: the workstation it was saved from.
pub const SAVED_FROM: &str = "prism:saved-from";
/// Image, snapshot: the instance id it was saved from.
pub const SAVED_FROM_INSTANCE: &str = "prism:saved-from-instance";
/// Image, snapshot: the template the saved workstation was launched from.
pub const ORIGINAL_TEMPLATE: &str = "prism:original-template";
/// Image, snapshot: that template's version.
pub const ORIGINAL_TEMPLATE_VERSION: &str = "prism:original-template-version";
/// Image, snapshot: ARN of whoever saved it.
pub const SAVED_BY: &str = "prism:saved-by";
/// Image, snapshot: RFC 3339 time of the save.
pub const SAVED_AT: &str = "prism:saved-at";
/// Image, snapshot: the template description.
pub const DESCRIPTION: &str = "prism:description";
/// Image: the region of the original image (on copies).
pub const SOURCE_REGION: &str = "prism:source-region";
/// Image: the original image id (on copies).
pub const SOURCE_IMAGE: &str = "prism:source-image";
/// Image: the capture mode (`stop`, `reboot`, `live`).
pub const CAPTURE_MODE: &str = "prism:capture-mode";

/// Image: from when the version is deprecated (RFC 3339, UTC), set by `template deprecate`.
pub const DEPRECATED: &str = "prism:deprecated";
/// Image: the version that replaces a deprecated one (`T@M`).
pub const REPLACEMENT: &str = "prism:replacement";

/// EC2's own limit on a tag value's length.
pub const MAX_TAG_VALUE: usize = 256;

/// EC2 refuses an image description over 255 characters (CreateImage/CopyImage/RegisterImage
/// `Description`: "Constraints: Up to 255 characters", EC2 API Reference) with
/// `InvalidParameterValue` — after a save has stopped the workstation if nothing checks first.
pub const MAX_IMAGE_DESCRIPTION: usize = 255;

/// Cuts an image description to [`MAX_IMAGE_DESCRIPTION`] characters; true if it was cut.
pub fn clamp_image_description(d: &str) -> (String, bool) {
    match d.char_indices().nth(MAX_IMAGE_DESCRIPTION) {
        Some((end, _)) => (d[..end].to_string(), true),
        None => (d.to_string(), false),
    }
}

/// Cuts a value to EC2's tag value limit on a character boundary.
pub fn clamp_value(v: &str) -> String {
    if v.len() <= MAX_TAG_VALUE {
        return v.to_string();
    }
    let mut end = MAX_TAG_VALUE;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end].to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_descriptions_fit_ec2s_limit_in_characters() {
        let (d, cut) = super::clamp_image_description(&"é".repeat(300));
        assert!(cut);
        assert_eq!(d.chars().count(), super::MAX_IMAGE_DESCRIPTION);
        let (d, cut) = super::clamp_image_description(&"x".repeat(255));
        assert!(!cut);
        assert_eq!(d.len(), 255);
    }

    #[test]
    fn clamp_respects_char_boundaries() {
        let long = "é".repeat(200);
        let c = super::clamp_value(&long);
        assert!(c.len() <= 256);
        assert!(long.starts_with(&c));
    }
}
