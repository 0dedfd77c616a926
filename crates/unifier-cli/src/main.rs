//! The `unifier` binary: `check`, `query`, `explain`, `tables`, `diagnostics`, `write`,
//! `changes`.
//!
//! Exit codes (also in `docs/policy.md`): 0 allowed / ok, 1 runtime error, 2 usage error,
//! 3 denied by the policy, 4 SQL error (parse error or a hard limit).

mod check;
mod demo;
mod diagnostics;
mod manifest;
mod output;
mod query;
mod shell;
mod tables;
mod write;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// The catalog manifest (default: ./unifier.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// Log as JSON lines (the level comes from `UNIFIER_LOG`, e.g. `info`).
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build TPC-H data into a directory and show the product working on it, step by step.
    Demo(demo::DemoArgs),
    /// Check SQL against a policy without running it.
    Check(check::CheckArgs),
    /// Run SQL over the catalog, through the policy.
    Query(query::QueryArgs),
    /// Show the plan of SQL with the verdict, sort and pruning decisions.
    Explain(query::ExplainArgs),
    /// List the catalog's datasets and their capabilities.
    Tables(tables::TablesArgs),
    /// An interactive SQL shell over the catalog (a script when stdin is not a terminal).
    Shell(shell::ShellArgs),
    /// Show recorded events, of this and earlier runs.
    Diagnostics(diagnostics::DiagnosticsArgs),
    /// Write rows (a query's or a file's) into a Delta dataset of the catalog.
    Write(write::WriteArgs),
    /// Read a Delta dataset's change feed (optionally through a named cursor).
    Changes(write::ChangesArgs),
}

/// An error and its causes, each once (`a: b: c`).
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    unifier::diagnostics::error_chain(error)
}

/// Writes `text` to stdout. A closed pipe (`| head`) ends the output quietly; any other
/// write error is a runtime error.
pub(crate) fn print_out(text: &str, exit: Exit) -> Exit {
    match deliver(text) {
        Delivery::Failed => Exit::Runtime,
        Delivery::Done | Delivery::ReaderGone => exit,
    }
}

/// Whether text written to stdout reached the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Written and flushed.
    Done,
    /// The reader closed the pipe first (`| head`): not an error, but not all was read.
    ReaderGone,
    /// Writing failed (said on stderr).
    Failed,
}

impl Delivery {
    /// The exit code: a reader that left is no failure of ours.
    pub(crate) fn exit(self) -> Exit {
        match self {
            Delivery::Done | Delivery::ReaderGone => Exit::Ok,
            Delivery::Failed => Exit::Runtime,
        }
    }
}

/// Writes `text` to stdout and flushes it.
pub(crate) fn deliver(text: &str) -> Delivery {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Delivery::Done,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Delivery::ReaderGone,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            Delivery::Failed
        }
    }
}

/// `tracing` to stderr, filtered by `UNIFIER_LOG` (default: off).
fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("UNIFIER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the runtime: {e}");
            Exit::Runtime
        })
}

/// What `unifier --help` says after the commands: the memory every query shares.
fn memory_help() -> String {
    let here = unifier::RuntimeProfile::default()
        .memory_limit()
        .map_or_else(|| "unlimited".to_owned(), |mb| format!("{mb} MiB"));
    format!(
        "Memory: queries share one pool of [runtime] memory_limit_mb MiB; by default 80% of the \
         memory this process may use (the machine's, its cgroup's limit, half of ulimit -v: \
         the smallest), here {here}; 0 is unlimited. Beyond it, sorts, joins and aggregates \
         spill to [runtime] spill_dir (default: the OS temporary directory; the files are \
         removed when done), and what cannot spill fails with \"resources exhausted\"."
    )
}

fn main() -> ExitCode {
    let parsed = Cli::command()
        .after_help(memory_help())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
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
    init_tracing(cli.log_json);
    let catalog = cli.catalog.as_deref();
    let exit = match cli.command {
        Command::Check(args) => check::run(catalog, args),
        Command::Demo(args) => demo::run(args),
        Command::Diagnostics(args) => diagnostics::run(catalog, args),
        command => match runtime() {
            Ok(rt) => rt.block_on(async {
                match command {
                    Command::Query(args) => query::query(catalog, args).await,
                    Command::Explain(args) => query::explain(catalog, args).await,
                    Command::Tables(args) => tables::run(catalog, args).await,
                    Command::Shell(args) => shell::run(catalog, args).await,
                    Command::Write(args) => write::write(catalog, args).await,
                    Command::Changes(args) => write::changes(catalog, args).await,
                    Command::Check(_) | Command::Diagnostics(_) | Command::Demo(_) => {
                        unreachable!("handled above")
                    }
                }
            }),
            Err(exit) => exit,
        },
    };
    exit.into()
}
