//! "Did you mean" suggestions for unknown names (templates, workstations).

/// Up to 5 candidates close to `wanted` (edit distance or substring), best first.
pub fn suggestions<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let w = wanted.to_lowercase();
    let limit = (w.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, String)> = candidates
        .into_iter()
        .filter_map(|c| {
            let lc = c.to_lowercase();
            // Also compare with the candidate's prefixes, so "pyton" finds "python-ml".
            let row = distances_to_prefixes(&w, &lc);
            let full = row.last().copied().unwrap_or(usize::MAX);
            let best_prefix = row.iter().copied().min().unwrap_or(usize::MAX);
            let d = full.min(best_prefix.saturating_add(1));
            let related = w.chars().count() >= 3 && (lc.contains(&w) || w.contains(&lc));
            (d <= limit || related).then(|| (d, c.to_string()))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(5).map(|(_, c)| c).collect()
}

/// Levenshtein distance over characters.
#[cfg(test)]
fn distance(a: &str, b: &str) -> usize {
    distances_to_prefixes(a, b).last().copied().unwrap_or(0)
}

/// Levenshtein distances from `a` to every prefix of `b` (index = prefix length).
fn distances_to_prefixes(a: &str, b: &str) -> Vec<usize> {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            let del = prev[j + 1] + 1;
            let ins = cur[j] + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let names = ["python-ml", "r-research", "amazon-linux-2023"];
        assert_eq!(suggestions("pyhton-ml", names), vec!["python-ml"]);
        assert_eq!(suggestions("python", names), vec!["python-ml"]);
        assert_eq!(suggestions("pyton", names), vec!["python-ml"]);
        assert_eq!(suggestions("amazon", names), vec!["amazon-linux-2023"]);
        assert!(suggestions("zzzzzzzz", names).is_empty());
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
