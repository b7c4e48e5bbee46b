//! Confirmation prompts: asked on a terminal, refused without one unless `--yes`.

use crate::error::{CliError, CliResult};
use std::io::IsTerminal;

/// Asks `question`; `yes` skips it. Without a terminal, refuses and says to pass `--yes`.
pub fn confirm(question: &str, yes: bool) -> CliResult {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::refused(
            format!("{question} — needs confirmation, and there is no terminal to ask on"),
            Some("pass --yes to confirm".to_string()),
        ));
    }
    let ok = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| {
            CliError::refused(
                format!("could not read the answer: {e}"),
                Some("pass --yes".to_string()),
            )
        })?;
    if ok {
        Ok(())
    } else {
        Err(CliError::refused("cancelled; nothing was changed", None))
    }
}
