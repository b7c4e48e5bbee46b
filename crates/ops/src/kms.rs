//! `--kms-key REGION=KEY`: checking the keys a copy is encrypted with, before anything
//! changes.

use crate::error::OpsError;
use std::collections::BTreeMap;

/// Whether `key` has the shape of a KMS key reference EC2's CopyImage accepts as `KmsKeyId`:
/// a key id (UUID or multi-Region `mrk-…`), an alias (`alias/NAME`), or the ARN of a key or
/// alias (CopyImage, "KmsKeyId").
pub fn looks_like_key(key: &str) -> bool {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 256
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
    };
    let uuid = |k: &str| {
        k.len() == 36
            && k.chars().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    let mrk = |k: &str| {
        k.strip_prefix("mrk-")
            .is_some_and(|h| h.len() == 32 && h.chars().all(|c| c.is_ascii_hexdigit()))
    };
    if let Some(alias) = key.strip_prefix("alias/") {
        return name_ok(alias) && !alias.starts_with("aws/");
    }
    if let Some(rest) = key.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return parts.len() == 5
            && parts[0].starts_with("aws")
            && parts[1] == "kms"
            && !parts[2].is_empty()
            && parts[3].len() == 12
            && parts[3].chars().all(|c| c.is_ascii_digit())
            && match parts[4].split_once('/') {
                Some(("key", id)) => uuid(id) || mrk(id),
                Some(("alias", n)) => name_ok(n) && !n.starts_with("aws/"),
                _ => false,
            };
    }
    uuid(key) || mrk(key)
}

/// Checks `keys` (region → key) against the regions copies go to: each region must be one of
/// `regions`, each key must look like a KMS key, and the AWS-managed `alias/aws/ebs` is
/// refused (it is what EC2 uses without a key, and other accounts cannot use it).
pub fn check_keys(keys: &BTreeMap<String, String>, regions: &[String]) -> Result<(), OpsError> {
    for (region, key) in keys {
        if !regions.iter().any(|r| r == region) {
            return Err(OpsError::invalid(
                format!("--kms-key names region '{region}', which is not a region this copies to"),
                Some(format!(
                    "give a key for a copy region only ({})",
                    if regions.is_empty() {
                        "this copies to no region".to_string()
                    } else {
                        regions.join(", ")
                    }
                )),
            ));
        }
        if !looks_like_key(key) {
            return Err(OpsError::invalid(
                format!("--kms-key {region}={key}: '{key}' is not a customer-managed KMS key"),
                Some(
                    "give a key id, alias/NAME or the key's ARN \
                     (arn:aws:kms:REGION:ACCOUNT:key/ID), e.g. from: aws kms list-aliases"
                        .to_string(),
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shapes() {
        for ok in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "alias/lab-key",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:111122223333:alias/lab-key",
        ] {
            assert!(looks_like_key(ok), "{ok}");
        }
        for bad in [
            "",
            "alias/aws/ebs",
            "arn:aws:kms:us-east-1:111122223333:alias/aws/ebs",
            "arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "key",
            "1234abcd",
            "alias/",
            "arn:aws:s3:::bucket",
            "alias/a b",
        ] {
            assert!(!looks_like_key(bad), "{bad}");
        }
    }

    #[test]
    fn keys_must_name_copy_regions() {
        let regions = vec!["us-west-2".to_string()];
        let keys = BTreeMap::from([("eu-west-1".to_string(), "alias/k".to_string())]);
        let e = check_keys(&keys, &regions).unwrap_err().to_string();
        assert!(e.contains("eu-west-1"), "{e}");
        let keys = BTreeMap::from([("us-west-2".to_string(), "alias/k".to_string())]);
        assert!(check_keys(&keys, &regions).is_ok());
    }
}
