//! Making untrusted text (keys, values, parser messages) safe to print in messages.

/// Returns `s` with control and invisible formatting characters (bidi overrides,
/// zero-width characters) escaped as `\u{..}`, so a message cannot drive a terminal
/// or hide text; all other characters are kept as they are.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hazardous(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_hazardous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escapes_only_hazards() {
        assert_eq!(printable("café 'x' \\ ok"), "café 'x' \\ ok");
        assert_eq!(printable("a\u{1b}[31m"), "a\\u{1b}[31m");
        assert_eq!(printable("l\nr\u{202E}"), "l\\u{a}r\\u{202e}");
    }
}
