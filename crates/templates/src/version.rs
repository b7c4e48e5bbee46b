//! Ordering of template versions and choice of the next version number.

use std::cmp::Ordering;

/// Total order on optional versions: no version first; then a natural order in which
/// digit runs compare numerically (`1.9 < 1.10`, `2 < 10`) and other text compares as
/// strings, digits before letters; exact text breaks remaining ties.
pub fn compare_versions(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => compare_tokens(a, b).then_with(|| a.cmp(b)),
    }
}

/// The version after all `existing` ones: one more than the largest leading integer
/// (`["1", "2"] → "3"`, `["1.0.0"] → "2"`, none → `"1"`).
pub fn next_version<'a>(existing: impl IntoIterator<Item = &'a str>) -> String {
    let max = existing
        .into_iter()
        .filter_map(|v| {
            let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .max();
    match max {
        Some(n) => n.saturating_add(1).to_string(),
        None => "1".to_string(),
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Token<'a> {
    /// Digit run, leading zeros stripped: compared by length then text (= numerically).
    Num(usize, &'a str),
    Text(&'a str),
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(first) = rest.chars().next() {
        let is_digit = first.is_ascii_digit();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() != is_digit)
            .map_or(rest.len(), |(i, _)| i);
        let (tok, tail) = rest.split_at(end);
        if is_digit {
            let trimmed = tok.trim_start_matches('0');
            out.push(Token::Num(trimmed.len(), trimmed));
        } else {
            out.push(Token::Text(tok));
        }
        rest = tail;
    }
    out
}

fn compare_tokens(a: &str, b: &str) -> Ordering {
    tokens(a).cmp(&tokens(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering() {
        let mut v = vec!["10", "2", "1.10", "1.9", "1", "1.0.0", "abc", "1a", "9"];
        v.sort_by(|a, b| compare_versions(Some(a), Some(b)));
        assert_eq!(
            v,
            vec!["1", "1.0.0", "1.9", "1.10", "1a", "2", "9", "10", "abc"]
        );
        assert_eq!(compare_versions(None, Some("1")), Ordering::Less);
        assert_eq!(compare_versions(Some("01"), Some("1")), Ordering::Less);
        assert_eq!(compare_versions(Some("2.0"), Some("2.0")), Ordering::Equal);
    }

    #[test]
    fn next() {
        assert_eq!(next_version([]), "1");
        assert_eq!(next_version(["1", "2"]), "3");
        assert_eq!(next_version(["1.0.0"]), "2");
        assert_eq!(next_version(["x"]), "1");
    }
}
