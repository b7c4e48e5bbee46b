//! `prism`: the command-line client. Parses, dispatches to a command, prints errors with
//! hints, and exits with the documented code.

mod args;
mod caller;
mod client;
mod commands;
mod config;
mod error;
mod follow;
mod output;
mod prompt;
mod region;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use error::CliResult;
use std::process::ExitCode;

async fn run(cli: &Cli) -> CliResult {
    use commands::*;
    if !matches!(cli.command, Command::Completions { .. } | Command::Man) {
        config::init()?;
    }
    match &cli.command {
        Command::Launch(a) => workstations::launch(cli, a).await,
        Command::List(a) => workstations::list(cli, a).await,
        Command::Stop(a) => workstations::stop(cli, a).await,
        Command::Start(a) => workstations::start(cli, a).await,
        Command::Delete(a) => workstations::delete(cli, a).await,
        Command::Connect(a) => connect::connect(cli, a).await,
        Command::SshConfig(a) => connect::ssh_config(cli, a).await,
        Command::Config(c) => connect::config(cli, c),
        Command::Save(a) => save::save(cli, a).await,
        Command::Restore(a) => restore::restore(cli, a).await,
        Command::Templates(a) => templates::list(cli, a).await,
        Command::Template(c) => templates::template(cli, c).await,
        Command::Project(c) => projects::project(cli, c).await,
        Command::Operations(a) => operations::list(cli, a).await,
        Command::Operation(c) => operations::operation(cli, c).await,
        Command::Daemon(c) => daemon::daemon(cli, c).await,
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "prism", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| error::CliError::refused(e.to_string(), None)),
    }
}

/// Lets a closed pipe end the process quietly, as Unix tools do (`prism operations | head -1`):
/// Rust ignores SIGPIPE, so a write to a closed stdout fails and `println!` panics. Sockets are
/// unaffected (the standard library sends with `MSG_NOSIGNAL`), and prismd, a separate Rust
/// program, ignores SIGPIPE again at its own start.
fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    let cli = Cli::parse();
    output::set_wide(cli.wide);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(error::code::DAEMON);
        }
    };
    match rt.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // A deliberate Ctrl-C: the operation goes on; not an error.
        Err(e @ error::CliError::Detached(_)) => {
            eprintln!("{}", output::terminal_text(&e.to_string()));
            if let Some(h) = e.hint() {
                eprintln!("hint: {}", output::terminal_text(&h.to_string()));
            }
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            // Errors quote names and AWS messages: escaped like every other line printed.
            eprintln!("error: {}", output::terminal_text(&e.to_string()));
            if let Some(h) = e.hint() {
                eprintln!("hint: {}", output::terminal_text(&h.to_string()));
            }
            ExitCode::from(e.exit_code())
        }
    }
}
