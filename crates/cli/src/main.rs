//! `prism`: the command-line client. Parses, dispatches to a command, prints errors with
//! hints, and exits with the documented code.

mod args;
mod client;
mod commands;
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
    match &cli.command {
        Command::Launch(a) => workstations::launch(cli, a).await,
        Command::List(a) => workstations::list(cli, a).await,
        Command::Stop(a) => workstations::stop(cli, a).await,
        Command::Start(a) => workstations::start(cli, a).await,
        Command::Delete(a) => workstations::delete(cli, a).await,
        Command::Save(a) => save::save(cli, a).await,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
