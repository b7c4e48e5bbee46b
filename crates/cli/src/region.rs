//! The region a command targets: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the
//! profile's `region` in the AWS config file.

use std::path::PathBuf;

/// Resolves the region, or `None` when nothing sets one.
pub fn resolve(flag: Option<&str>, profile: Option<&str>) -> Option<String> {
    if let Some(r) = flag {
        return Some(r.to_string());
    }
    for k in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Ok(v) = std::env::var(k) {
            if !v.is_empty() {
                return Some(v);
            }
        }
    }
    let path = std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".aws").join("config"))
        })?;
    let text = std::fs::read_to_string(path).ok()?;
    from_config(&text, profile.unwrap_or("default"))
}

/// The `region` of `profile` in an AWS config file's text.
pub fn from_config(text: &str, profile: &str) -> Option<String> {
    let want = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    let mut inside = false;
    for line in text.lines() {
        let l = line.trim();
        if let Some(sec) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            inside = sec.trim() == want;
        } else if inside {
            if let Some((k, v)) = l.split_once('=') {
                if k.trim() == "region" {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_profile_region() {
        let t = "[default]\nregion = us-east-1\n[profile lab]\noutput=json\nregion=eu-west-1\n";
        assert_eq!(
            super::from_config(t, "default").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(super::from_config(t, "lab").as_deref(), Some("eu-west-1"));
        assert_eq!(super::from_config(t, "other"), None);
    }
}
