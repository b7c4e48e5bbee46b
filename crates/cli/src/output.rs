//! Printing data as a table, JSON or YAML (data on stdout; progress and errors on stderr).
//!
//! Text from templates, the daemon or EC2 (names, versions, descriptions, tags, messages) may
//! carry terminal escapes or invisible characters. Everything the commands print goes through
//! here and is neutralised: table cells ([`Table::add_row`]), lines of text ([`outln!`],
//! [`errln!`], [`out!`]) and JSON/YAML ([`print`]).

use crate::error::{CliError, CliResult};
use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable table.
    #[default]
    Table,
    /// JSON (stable field names; see the README).
    Json,
    /// YAML.
    Yaml,
}

/// Whether stderr is an interactive terminal and colour/spinners are wanted.
pub fn fancy() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether `c` can drive a terminal, break a line or hide text: the set the template parser
/// refuses (control characters, invisible formatting characters).
pub use prism_templates::is_hazardous;

/// `s` with every character for which `escape` holds written as `\u{..}`.
fn escape_where(s: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` safe to show on a terminal: every control and invisible formatting character
/// ([`is_hazardous`]) is written as `\u{..}` (ESC becomes `\u{1b}`); the rest is kept.
pub fn escape_for_terminal(s: &str) -> String {
    escape_where(s, is_hazardous)
}

/// A table cell: line breaks and tabs become spaces, every other control or invisible
/// formatting character is escaped as by [`escape_for_terminal`].
pub fn cell(s: &str) -> String {
    escape_for_terminal(&s.replace(['\n', '\t'], " "))
}

/// Lines of text for a terminal: like [`escape_for_terminal`], but line breaks and tabs are
/// kept (the text is printed as lines).
pub fn terminal_text(s: &str) -> String {
    escape_where(s, |c| is_hazardous(c) && c != '\n' && c != '\t')
}

/// `println!` for text that may carry values from templates, the daemon or EC2: control and
/// invisible formatting characters are escaped ([`terminal_text`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        println!("{}", $crate::output::terminal_text(&format!($($arg)*)))
    };
}
pub(crate) use outln;

/// `print!` with [`outln!`]'s escaping.
macro_rules! out {
    ($($arg:tt)*) => {
        print!("{}", $crate::output::terminal_text(&format!($($arg)*)))
    };
}
pub(crate) use out;

/// `eprintln!` with [`outln!`]'s escaping.
macro_rules! errln {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::output::terminal_text(&format!($($arg)*)))
    };
}
pub(crate) use errln;

/// JSON text with the hazardous characters serde_json leaves raw (DEL, C1 controls such as
/// U+009B CSI, invisible formatting characters) written as `\uXXXX` escapes, which mean the
/// same to any JSON reader. serde_json already escapes C0 controls inside strings, so a raw
/// line break is layout and is kept.
pub fn json_for_terminal(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_hazardous(c) && c != '\n' {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` as JSON for a terminal (pretty, see [`json_for_terminal`]).
pub fn render_json<T: Serialize>(value: &T) -> CliResult<String> {
    let s =
        serde_json::to_string_pretty(value).map_err(|e| CliError::refused(e.to_string(), None))?;
    Ok(json_for_terminal(&s))
}

/// `value` as YAML for a terminal. serde-saphyr escapes control characters, but leaves
/// invisible formatting characters (bidi overrides, zero-width) raw in plain scalars; when
/// there are any, the document is written as escaped JSON instead, which is valid YAML and
/// reads back to the same value.
pub fn render_yaml<T: Serialize>(value: &T) -> CliResult<String> {
    let s = serde_saphyr::to_string(value).map_err(|e| CliError::refused(e.to_string(), None))?;
    if s.chars().any(|c| is_hazardous(c) && c != '\n' && c != '\t') {
        return Ok(render_json(value)? + "\n");
    }
    Ok(s)
}

/// Prints `value` as JSON or YAML; for tables, calls `table`.
pub fn print<T: Serialize>(format: Format, value: &T, table: impl FnOnce(&T)) -> CliResult {
    match format {
        Format::Json => println!("{}", render_json(value)?),
        Format::Yaml => print!("{}", render_yaml(value)?),
        Format::Table => table(value),
    }
    Ok(())
}

/// `--wide`: tables are printed untruncated, whatever the terminal's width.
static WIDE: AtomicBool = AtomicBool::new(false);

/// Sets `--wide` for every table printed afterwards.
pub fn set_wide(wide: bool) {
    WIDE.store(wide, Ordering::Relaxed);
}

/// Columns kept whole as long as shortening others is enough: identifiers people copy.
const KEEP_WHOLE: &[&str] = &["ID", "NAME", "INSTANCE", "IMAGE", "#"];

/// The width tables must fit: none with `--wide`; else `COLUMNS` when set to a number (so a
/// script or test can fix it), else the terminal's width when stdout is a terminal; none for
/// other output, which keeps its shape for scripts.
pub fn table_width() -> Option<usize> {
    if WIDE.load(Ordering::Relaxed) {
        return None;
    }
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(c);
    }
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
}

/// Display width of `s` on a terminal.
fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` columns, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// Column widths summing to at most `budget` (when possible): the widest columns are shortened
/// first — the ones not in `keep` down to their header's width (at least 6), then down to 6,
/// then those in `keep` down to their header's width, then any column down to 1.
fn fit_widths(natural: &[usize], headers: &[usize], keep: &[bool], budget: usize) -> Vec<usize> {
    let mut w = natural.to_vec();
    let floor = |i: usize| natural[i].min(headers[i].max(6));
    let passes: [&dyn Fn(usize) -> Option<usize>; 4] = [
        &|i| (!keep[i]).then(|| floor(i)),
        &|i| (!keep[i]).then(|| natural[i].min(6)),
        &|i| Some(floor(i)),
        &|i| Some(natural[i].min(1)),
    ];
    for floor_of in passes {
        while w.iter().sum::<usize>() > budget {
            let widest = (0..w.len())
                .filter(|&i| floor_of(i).is_some_and(|f| w[i] > f))
                .max_by_key(|&i| (w[i], i));
            match widest {
                Some(i) => w[i] -= 1,
                None => break,
            }
        }
    }
    w
}

/// A plain table whose cells are escaped for the terminal ([`cell`]): the only way the
/// commands print tables. Printed, it fits [`table_width`] when there is one: cells are cut
/// with `…`, long text first, identifiers ([`KEEP_WHOLE`]) last.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    limits: Vec<(usize, usize)>,
}

impl Table {
    /// Adds a row; every cell goes through [`cell`].
    pub fn add_row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows
            .push(cells.into_iter().map(|c| cell(c.as_ref())).collect());
        self
    }

    /// Cuts column `header`'s cells to `max` columns unless `--wide` (a long free text that
    /// would crowd out the rest even without a terminal).
    pub fn limit(&mut self, header: &str, max: usize) -> &mut Self {
        if let Some(i) = self.header.iter().position(|h| h == header) {
            self.limits.push((i, max));
        }
        self
    }

    /// The table laid out to fit `fit` columns (`None`: no limit).
    pub fn render(&self, fit: Option<usize>) -> String {
        let n = self.header.len();
        let mut rows = self.rows.clone();
        if !WIDE.load(Ordering::Relaxed) {
            for &(i, max) in &self.limits {
                for r in &mut rows {
                    if let Some(c) = r.get_mut(i) {
                        *c = truncate(c, max);
                    }
                }
            }
        }
        let mut header = self.header.clone();
        if let Some(total) = fit {
            let natural: Vec<usize> = (0..n)
                .map(|i| {
                    rows.iter()
                        .filter_map(|r| r.get(i))
                        .chain(std::iter::once(&header[i]))
                        .map(|c| width(c))
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let headers: Vec<usize> = header.iter().map(|h| width(h)).collect();
            let keep: Vec<bool> = header
                .iter()
                .map(|h| KEEP_WHOLE.contains(&h.as_str()))
                .collect();
            // Each cell is padded by one space on either side.
            let widths = fit_widths(&natural, &headers, &keep, total.saturating_sub(2 * n));
            for (i, w) in widths.iter().enumerate() {
                header[i] = truncate(&header[i], *w);
                for r in &mut rows {
                    if let Some(c) = r.get_mut(i) {
                        *c = truncate(c, *w);
                    }
                }
            }
        }
        let mut t = comfy_table::Table::new();
        t.load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        for r in rows {
            t.add_row(r);
        }
        t.to_string()
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(table_width()))
    }
}

/// A table with the given header, plain (no colour); printed, it fits the terminal
/// ([`table_width`]).
pub fn table(header: &[&str]) -> Table {
    Table {
        header: header.iter().map(|h| cell(h)).collect(),
        rows: Vec::new(),
        limits: Vec::new(),
    }
}

/// `-` for an absent value.
pub fn dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Terminal control sequences and hiding characters an attacker might plant.
    const HOSTILE: &[&str] = &[
        "red\u{1b}[31mtext",
        "title\u{1b}]0;owned\u{7}",
        "csi\u{9b}2J",
        "bell\u{7}",
        "over\rwrite",
        "rlo\u{202e}fdp.exe",
        "zero\u{200b}width",
        "nul\0del\u{7f}",
    ];

    fn assert_clean(s: &str, keep: &[char]) {
        assert!(
            !s.chars().any(|c| is_hazardous(c) && !keep.contains(&c)),
            "raw character in {s:?}"
        );
    }

    #[test]
    fn table_cells_are_neutralised() {
        let mut t = table(&["NAME", "VERSION", "DESCRIPTION"]);
        for h in HOSTILE {
            t.add_row(vec![h.to_string(), "1".into(), format!("multi\nline\t{h}")]);
        }
        let shown = t.to_string();
        // The table's own layout is the only line break.
        assert_clean(&shown, &['\n']);
        assert_eq!(shown.lines().count(), HOSTILE.len() + 1, "{shown}");
        for needle in [
            "red\\u{1b}[31mtext",
            "title\\u{1b}]0;owned\\u{7}",
            "csi\\u{9b}2J",
            "over\\u{d}write",
            "rlo\\u{202e}fdp.exe",
            "zero\\u{200b}width",
            "nul\\u{0}del\\u{7f}",
            "multi line ",
        ] {
            assert!(shown.contains(needle), "{needle} in {shown}");
        }
    }

    #[test]
    fn tables_fit_the_width_cutting_long_text_before_identifiers() {
        let mut t = table(&["ID", "KIND", "DESCRIPTION"]);
        t.add_row(["01HZX3K9Q4W7", "save", &"a long description ".repeat(10)]);
        t.add_row(["01HZX3K9Q4W8", "launch", "short"]);
        for w in [40, 60, 80] {
            let shown = t.render(Some(w));
            for line in shown.lines() {
                assert!(width(line) <= w, "{w}: {line:?}");
            }
            assert!(shown.contains("01HZX3K9Q4W7"), "{shown}");
            assert!(shown.contains('…'), "{shown}");
        }
        let whole = t.render(None);
        assert!(whole.contains(&"a long description ".repeat(10).trim_end().to_string()));
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(
            fit_widths(&[10, 40], &[2, 4], &[true, false], 30),
            vec![10, 20]
        );
        assert_eq!(fit_widths(&[10, 4], &[2, 4], &[true, false], 8), vec![4, 4]);
    }

    #[test]
    fn plain_text_keeps_lines_and_tabs_only() {
        for h in HOSTILE {
            let s = terminal_text(&format!("a: {h}\n\tb"));
            assert_clean(&s, &['\n', '\t']);
            assert!(s.ends_with("\n\tb"), "{s:?}");
        }
        assert_eq!(escape_for_terminal("a\nb"), "a\\u{a}b");
        assert_eq!(cell("a\nb\tc\rd"), "a b c\\u{d}d");
    }

    #[test]
    fn json_output_is_escaped_and_reads_back_the_same() {
        let v = serde_json::json!({ "name": HOSTILE, "k\u{9b}\u{202e}": "v" });
        let s = render_json(&v).unwrap();
        assert_clean(&s, &['\n']);
        assert!(
            s.contains("csi\\u009b2J") && s.contains("rlo\\u202efdp"),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn yaml_output_is_escaped_and_reads_back_the_same() {
        // Control characters only: serde-saphyr's own double-quoted escapes.
        let v = serde_json::json!({ "a": "red\u{1b}[31m\u{9b}\u{7f}\r", "b": "x\ny\n" });
        let s = render_yaml(&v).unwrap();
        assert_clean(&s, &['\n']);
        let back: serde_json::Value = serde_saphyr::from_str(&s).unwrap();
        assert_eq!(back, v);
        // Invisible formatting characters: written as escaped JSON, which is YAML too.
        let v = serde_json::json!({ "name": HOSTILE, "k\u{202e}": ["x\u{200b}y", 1, null] });
        let s = render_yaml(&v).unwrap();
        assert_clean(&s, &['\n']);
        let back: serde_json::Value = serde_saphyr::from_str(&s).unwrap();
        assert_eq!(back, v);
        // Ordinary values stay ordinary YAML.
        let s = render_yaml(&serde_json::json!({"name": "café ☕"})).unwrap();
        assert_eq!(s, "name: café ☕\n");
    }
}
