//! The registry of operation kinds: which saga runs (or resumes) an operation of each kind.
//! Every kind ever persisted must stay here, or its journaled operations cannot resume.

use crate::saga::Saga;
use crate::{
    copy, deprecate, launch, lifecycle, protect, restore, save, share, template_delete,
    template_restore,
};

/// The saga for an operation kind.
pub fn saga_for(kind: &str) -> Option<Saga> {
    Some(match kind {
        launch::KIND => launch::saga(),
        save::KIND => save::saga(),
        copy::KIND => copy::saga(),
        share::KIND_SHARE => share::saga(false),
        share::KIND_UNSHARE => share::saga(true),
        template_delete::KIND => template_delete::saga(),
        template_restore::KIND => template_restore::saga(),
        deprecate::KIND_DEPRECATE => deprecate::saga(false),
        deprecate::KIND_UNDEPRECATE => deprecate::saga(true),
        protect::KIND_PROTECT => protect::saga(false),
        protect::KIND_UNPROTECT => protect::saga(true),
        lifecycle::KIND_STOP => lifecycle::saga(lifecycle::Action::Stop),
        lifecycle::KIND_START => lifecycle::saga(lifecycle::Action::Start),
        lifecycle::KIND_DELETE => lifecycle::saga(lifecycle::Action::Delete),
        restore::KIND => restore::saga(),
        _ => return None,
    })
}

/// Every registered kind (for the generic tests and the docs).
pub const KINDS: &[&str] = &[
    launch::KIND,
    save::KIND,
    copy::KIND,
    share::KIND_SHARE,
    share::KIND_UNSHARE,
    template_delete::KIND,
    template_restore::KIND,
    deprecate::KIND_DEPRECATE,
    deprecate::KIND_UNDEPRECATE,
    protect::KIND_PROTECT,
    protect::KIND_UNPROTECT,
    lifecycle::KIND_STOP,
    lifecycle::KIND_START,
    lifecycle::KIND_DELETE,
    restore::KIND,
];

/// The module-level declarations of kind `kind`: (acting steps, recording steps).
fn declared(kind: &str) -> Option<Declared> {
    Some(match kind {
        launch::KIND => (launch::ACTING_STEPS, launch::RECORDING_STEPS),
        save::KIND => (save::ACTING_STEPS, save::RECORDING_STEPS),
        copy::KIND => (copy::ACTING_STEPS, copy::RECORDING_STEPS),
        share::KIND_SHARE | share::KIND_UNSHARE => (share::ACTING_STEPS, share::RECORDING_STEPS),
        template_delete::KIND => (
            template_delete::ACTING_STEPS,
            template_delete::RECORDING_STEPS,
        ),
        template_restore::KIND => (
            template_restore::ACTING_STEPS,
            template_restore::RECORDING_STEPS,
        ),
        deprecate::KIND_DEPRECATE | deprecate::KIND_UNDEPRECATE => {
            (deprecate::ACTING_STEPS, deprecate::RECORDING_STEPS)
        }
        protect::KIND_PROTECT | protect::KIND_UNPROTECT => {
            (protect::ACTING_STEPS, protect::RECORDING_STEPS)
        }
        lifecycle::KIND_STOP | lifecycle::KIND_START | lifecycle::KIND_DELETE => {
            (lifecycle::ACTING_STEPS, lifecycle::RECORDING_STEPS)
        }
        restore::KIND => (restore::ACTING_STEPS, restore::RECORDING_STEPS),
        _ => return None,
    })
}

/// The steps of `kind`'s saga, in order, that make a mutating AWS call and mark it with
/// `cx.acted()`: each has a `kind:step:acted` crash point (declared next to each step table;
/// `tests::acting_and_recording_steps_match_the_code` checks the declarations).
pub fn acting_steps(kind: &str) -> Vec<&'static str> {
    in_saga_order(kind, |d| d.0)
}

/// The labelled crash points `(step, label)` of `kind`, in saga order: `kind:step:acted:label`,
/// marked by `cx.acted_at("label")` (declared in each module's `ACTED_AT`).
pub fn acted_points(kind: &str) -> Vec<(&'static str, &'static str)> {
    let (Some(saga), Some(points)) = (saga_for(kind), declared_points(kind)) else {
        return vec![];
    };
    saga.steps
        .iter()
        .flat_map(|s| {
            points
                .iter()
                .filter(move |(st, _)| *st == s.name())
                .copied()
        })
        .collect()
}

/// The module-level `ACTED_AT` of kind `kind`.
fn declared_points(kind: &str) -> Option<&'static [(&'static str, &'static str)]> {
    Some(match kind {
        launch::KIND => launch::ACTED_AT,
        save::KIND => save::ACTED_AT,
        copy::KIND => copy::ACTED_AT,
        share::KIND_SHARE | share::KIND_UNSHARE => share::ACTED_AT,
        template_delete::KIND => template_delete::ACTED_AT,
        template_restore::KIND => template_restore::ACTED_AT,
        deprecate::KIND_DEPRECATE | deprecate::KIND_UNDEPRECATE => deprecate::ACTED_AT,
        protect::KIND_PROTECT | protect::KIND_UNPROTECT => protect::ACTED_AT,
        lifecycle::KIND_STOP | lifecycle::KIND_START | lifecycle::KIND_DELETE => {
            lifecycle::ACTED_AT
        }
        restore::KIND => restore::ACTED_AT,
        _ => return None,
    })
}

/// The steps of `kind`'s saga, in order, that journal sub-records (`cx.record`): each has a
/// `kind:step:record` crash point.
pub fn recording_steps(kind: &str) -> Vec<&'static str> {
    in_saga_order(kind, |d| d.1)
}

type Declared = (&'static [&'static str], &'static [&'static str]);

fn in_saga_order(kind: &str, pick: fn(Declared) -> &'static [&'static str]) -> Vec<&'static str> {
    let (Some(saga), Some(d)) = (saga_for(kind), declared(kind)) else {
        return vec![];
    };
    let listed = pick(d);
    saga.steps
        .iter()
        .map(|s| s.name())
        .filter(|n| listed.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn every_kind_has_its_saga_with_unique_step_names() {
        for kind in KINDS {
            let saga = saga_for(kind).unwrap_or_else(|| panic!("no saga for {kind}"));
            assert_eq!(saga.kind, *kind);
            let names: BTreeSet<&str> = saga.steps.iter().map(|s| s.name()).collect();
            assert_eq!(
                names.len(),
                saga.steps.len(),
                "duplicate step names in {kind}"
            );
        }
        assert!(saga_for("no-such.v1").is_none());
    }

    #[test]
    fn every_kind_declares_its_acting_and_recording_steps_among_its_own() {
        for kind in KINDS {
            let (acting, recording) = declared(kind)
                .unwrap_or_else(|| panic!("{kind}: add its declarations to `declared`"));
            for name in acting.iter().chain(recording) {
                assert!(
                    KINDS
                        .iter()
                        .any(|k| declared(k) == Some((acting, recording))
                            && saga_for(k)
                                .is_some_and(|s| s.steps.iter().any(|s| s.name() == *name))),
                    "{kind}: declared step {name} is no step of its module's sagas"
                );
            }
        }
        assert_eq!(acting_steps(save::KIND)[0], "stop_instance");
        assert_eq!(acting_steps(share::KIND_UNSHARE), vec!["unshare"]);
        assert!(acting_steps("no-such.v1").is_empty());
    }

    /// The file of each kind's step table (relative to `src/`). A new kind must be added here.
    fn table_file(kind: &str) -> &'static str {
        match kind {
            launch::KIND => "launch.rs",
            save::KIND => "save/mod.rs",
            copy::KIND => "copy.rs",
            share::KIND_SHARE | share::KIND_UNSHARE => "share.rs",
            template_delete::KIND => "template_delete.rs",
            template_restore::KIND => "template_restore.rs",
            deprecate::KIND_DEPRECATE | deprecate::KIND_UNDEPRECATE => "deprecate.rs",
            protect::KIND_PROTECT | protect::KIND_UNPROTECT => "protect.rs",
            lifecycle::KIND_STOP | lifecycle::KIND_START | lifecycle::KIND_DELETE => "lifecycle.rs",
            restore::KIND => "restore.rs",
            other => panic!("{other}: name the file of its step table in `table_file`"),
        }
    }

    /// Every `.rs` file under this crate's `src/`, by path relative to it, with comments and
    /// the contents of string and char literals blanked (same length, so offsets agree).
    fn sources() -> BTreeMap<String, (String, String)> {
        fn walk(
            dir: &std::path::Path,
            root: &std::path::Path,
            out: &mut BTreeMap<String, (String, String)>,
        ) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    let rel = p
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.insert(rel, (blank(&text), text));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = BTreeMap::new();
        walk(&root, &root, &mut out);
        out
    }

    /// `text` with comments and literal contents replaced by spaces (byte for byte).
    fn blank(text: &str) -> String {
        let b = text.as_bytes();
        let mut o = b.to_vec();
        let mut i = 0;
        let fill = |o: &mut Vec<u8>, from: usize, to: usize| {
            for c in o.iter_mut().take(to.min(b.len())).skip(from) {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
        };
        while i < b.len() {
            if b[i..].starts_with(b"//") {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p);
                fill(&mut o, i, end);
                i = end;
            } else if b[i..].starts_with(b"/*") {
                let end = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                fill(&mut o, i, end);
                i = end;
            } else if b[i] == b'r'
                && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#"))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = text[start..].find(&close).map_or(b.len(), |p| start + p);
                fill(&mut o, start, end);
                i = end + close.len();
            } else if b[i] == b'"' {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                fill(&mut o, i + 1, j);
                i = j + 1;
            } else if b[i] == b'\''
                && (b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\'))
            {
                let end = if b[i + 1] == b'\\' {
                    // An escape: the closing quote comes after `\x` at the earliest.
                    b[i + 3..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map_or(b.len(), |p| i + 3 + p)
                } else {
                    i + 2
                };
                fill(&mut o, i + 1, end);
                i = end + 1;
            } else {
                i += 1;
            }
        }
        String::from_utf8(o).unwrap_or_default()
    }

    fn is_ident(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_'
    }

    /// The span of the `open`..`close` group whose opener is the first `open` at or after
    /// `from`, unless `stop` comes first.
    fn group(s: &str, from: usize, open: u8, close: u8, stop: u8) -> Option<(usize, usize)> {
        let b = s.as_bytes();
        let start = from + b[from..].iter().position(|&c| c == open || c == stop)?;
        if b[start] != open {
            return None;
        }
        let mut depth = 0;
        for (k, &c) in b.iter().enumerate().skip(start) {
            if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    return Some((start, k + 1));
                }
            }
        }
        None
    }

    /// Whether `body` (whitespace squeezed) calls the free function `name`.
    fn calls(body: &str, name: &str) -> bool {
        let pat = format!("{name}(");
        body.match_indices(&pat).any(|(at, _)| {
            at == 0 || {
                let c = body.as_bytes()[at - 1];
                !is_ident(c) && c != b'.'
            }
        })
    }

    /// The words that mark a crash point in a body: `cx.acted()`, `cx.record(` and
    /// `cx.acted_at(`.
    const MARKS: [&str; 3] = ["cx.acted()", "cx.record(", "cx.acted_at("];

    /// Which steps of each kind reach `cx.acted()` / `cx.record(` in their run or undo,
    /// directly or through free functions of this crate, read from the source.
    #[test]
    fn acting_and_recording_steps_match_the_code() {
        let src = sources();
        // Whitespace runs become one space, and none is left around a `.` (`cx\n.record(`).
        let squeeze = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace(" .", ".")
                .replace(". ", ".")
        };
        // Free functions (not trait methods) by name: their bodies, whitespace removed.
        let mut fns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // `impl TypedStep for T` blocks: (file, T) → body.
        let mut impls: Vec<(String, String, String)> = vec![];
        for (file, (bl, _)) in &src {
            let b = bl.as_bytes();
            for (at, _) in bl.match_indices("fn ") {
                if at > 0 && is_ident(b[at - 1]) {
                    continue;
                }
                let name: String = bl[at + 3..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.is_empty() || ["run", "undo"].contains(&name.as_str()) {
                    continue;
                }
                if let Some((o, c)) = group(bl, at, b'{', b'}', b';') {
                    fns.entry(name).or_default().push(squeeze(&bl[o..c]));
                }
            }
            for (at, m) in bl.match_indices("TypedStep for ") {
                let ty: String = bl[at + m.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some((o, c)) = group(bl, at, b'{', b'}', b';') {
                    impls.push((file.clone(), ty, squeeze(&bl[o..c])));
                }
            }
        }
        // Functions that reach each mark, to a fixed point.
        let reach = |mark: &str| -> BTreeSet<String> {
            let mut set: BTreeSet<String> = fns
                .iter()
                .filter(|(_, bodies)| bodies.iter().any(|b| b.contains(mark)))
                .map(|(n, _)| n.clone())
                .collect();
            loop {
                let more: Vec<String> = fns
                    .iter()
                    .filter(|(n, bodies)| {
                        !set.contains(*n) && bodies.iter().any(|b| set.iter().any(|g| calls(b, g)))
                    })
                    .map(|(n, _)| n.clone())
                    .collect();
                if more.is_empty() {
                    return set;
                }
                set.extend(more);
            }
        };
        let reaching: Vec<BTreeSet<String>> = MARKS.iter().map(|m| reach(m)).collect();
        let body_marks = |body: &str, k: usize| {
            body.contains(MARKS[k]) || reaching[k].iter().any(|g| calls(body, g))
        };
        for kind in KINDS {
            let file = table_file(kind);
            let (bl, text) = &src[file];
            // The module's files: a `mod.rs` table's steps live in its directory.
            let family = |f: &str| match file.strip_suffix("mod.rs") {
                Some(dir) => f.starts_with(dir),
                None => f == file,
            };
            // Rows `step("name", "label", Type...)` of the table: name → type.
            let mut rows: BTreeMap<String, String> = BTreeMap::new();
            for (at, _) in bl.match_indices("step(") {
                if at > 0 && (is_ident(bl.as_bytes()[at - 1]) || bl.as_bytes()[at - 1] == b'.') {
                    continue;
                }
                let Some((o, c)) = group(bl, at, b'(', b')', b';') else {
                    continue;
                };
                let mut args = vec![];
                let (mut depth, mut last) = (0i32, o + 1);
                for (k, ch) in bl.as_bytes().iter().enumerate().take(c - 1).skip(o + 1) {
                    match ch {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth -= 1,
                        b',' if depth == 0 => {
                            args.push((last, k));
                            last = k + 1;
                        }
                        _ => {}
                    }
                }
                args.push((last, c - 1));
                if args.len() < 3 {
                    continue;
                }
                let name = text[args[0].0..args[0].1].trim();
                let Some(name) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) else {
                    continue;
                };
                let ty: String = bl[args[2].0..args[2].1]
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                rows.insert(name.to_string(), ty);
            }
            let saga = saga_for(kind).unwrap();
            let mut labelled: Vec<&'static str> =
                acted_points(kind).into_iter().map(|(s, _)| s).collect();
            labelled.dedup();
            for (k, (what, declared)) in [
                ("acting", acting_steps(kind)),
                ("recording", recording_steps(kind)),
                ("labelled-acting (ACTED_AT)", labelled),
            ]
            .into_iter()
            .enumerate()
            {
                let found: Vec<&'static str> = saga
                    .steps
                    .iter()
                    .map(|s| s.name())
                    .filter(|n| {
                        let ty = rows.get(*n).unwrap_or_else(|| {
                            panic!("{kind}: no row step(\"{n}\", ..) in src/{file}")
                        });
                        let bodies: Vec<&String> = impls
                            .iter()
                            .filter(|(f, t, _)| family(f) && t == ty)
                            .map(|(_, _, b)| b)
                            .collect();
                        assert!(
                            !bodies.is_empty(),
                            "{kind}: no `impl TypedStep for {ty}` beside src/{file}"
                        );
                        bodies.iter().any(|b| body_marks(b, k))
                    })
                    .collect();
                assert_eq!(
                    found, declared,
                    "{kind}: the {what} steps in the code (left) differ from those declared next to its step table in src/{file} (right)"
                );
            }
        }
    }

    /// Every `cx.acted_at("LABEL")` in the code is declared in some `ACTED_AT`, and every
    /// declared label is used; `acted_points` keeps saga order.
    #[test]
    fn labelled_acted_points_match_the_code() {
        let mut used: BTreeSet<String> = BTreeSet::new();
        for (_, (bl, text)) in sources() {
            for (at, m) in bl.match_indices("acted_at(") {
                if at > 0 && bl.as_bytes()[at - 1] != b'.' {
                    continue;
                }
                let rest = &text[at + m.len()..];
                if let Some(label) = rest
                    .strip_prefix('"')
                    .and_then(|r| r.split_once('"'))
                    .map(|(l, _)| l)
                {
                    used.insert(label.to_string());
                }
            }
        }
        let declared: BTreeSet<String> = KINDS
            .iter()
            .flat_map(|k| acted_points(k))
            .map(|(_, l)| l.to_string())
            .collect();
        assert_eq!(used, declared, "labels used (left) and declared (right)");
        assert_eq!(
            acted_points(save::KIND),
            vec![
                ("wait_snapshots", "tag"),
                ("tag_image", "tag"),
                ("copy_regions", "tag")
            ]
        );
    }
}
