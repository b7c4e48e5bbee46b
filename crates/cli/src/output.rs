//! Printing data as a table, JSON or YAML (data on stdout; progress and errors on stderr).

use crate::error::{CliError, CliResult};
use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

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

/// Prints `value` as JSON or YAML; for tables, calls `table`.
pub fn print<T: Serialize>(format: Format, value: &T, table: impl FnOnce(&T)) -> CliResult {
    match format {
        Format::Json => {
            let s = serde_json::to_string_pretty(value)
                .map_err(|e| CliError::refused(e.to_string(), None))?;
            println!("{s}");
        }
        Format::Yaml => {
            let s = serde_saphyr::to_string(value)
                .map_err(|e| CliError::refused(e.to_string(), None))?;
            print!("{s}");
        }
        Format::Table => table(value),
    }
    Ok(())
}

/// A table with the given header, plain (no colour) and sized to the terminal.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_string()));
    t
}

/// `-` for an absent value.
pub fn dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}
