//! The `unifier` binary.
//!
//! Exit codes (also in `docs/policy.md`): 0 allowed / ok, 1 runtime error, 2 usage error,
//! 3 denied by the policy, 4 SQL error (parse error or a hard limit).

mod check;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Process exit codes of the `unifier` binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Allowed, or the command succeeded.
    Ok = 0,
    /// Anything else went wrong (I/O, ...).
    Runtime = 1,
    /// The command line (or a file it names) is wrong.
    Usage = 2,
    /// The policy denied the statement; nothing ran.
    Denied = 3,
    /// The SQL could not be checked: parse error, too long, too deep, invalid UTF-8.
    SqlError = 4,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "unifier",
    version,
    about = "One governed entry point in front of DataFusion and Delta Lake"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check SQL against a policy without running it.
    Check(check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            }
            .into();
        }
    };
    let exit = match cli.command {
        Command::Check(args) => check::run(args),
    };
    exit.into()
}
