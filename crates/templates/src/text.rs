//! Making untrusted text (keys, values, parser messages) safe to print in messages.

/// Returns `s` with control and invisible formatting characters (bidi overrides,
/// zero-width characters) escaped as `\u{..}`, so a message cannot drive a terminal
/// or hide text; all other characters are kept as they are.
pub fn printable(s: &str) -> String {
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

/// Whether `c` can drive a terminal, break a line or hide text: a control character (C0,
/// DEL, C1 such as U+009B CSI) or an invisible formatting character (U+061C, zero-width
/// characters and marks U+200B–U+200F, the line/paragraph separators U+2028/U+2029, bidi
/// embeddings and overrides U+202A–U+202E, U+2060–U+2064, bidi isolates U+2066–U+2069,
/// the byte-order mark U+FEFF).
pub fn is_hazardous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
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
