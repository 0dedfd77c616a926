//! `unifier shell`: a REPL over the catalog. Every statement goes through the facade as
//! `unifier query` sends it (policy, compile, execute, events); the catalog is opened
//! once for the session.
//!
//! On a terminal: line editing and a history file (rustyline), statements end with `;`
//! and may span lines, Ctrl-C at the prompt clears the statement, Ctrl-C while a
//! statement runs cancels it and stays in the shell, Ctrl-D leaves. With stdin from a
//! file or pipe the same statements and dot commands run as a script, without prompts;
//! the exit code is that of the first statement that failed.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use futures::FutureExt;
use unifier::arrow::datatypes::DataType;
use unifier::io::{DatasetKind, type_to_sql};
use unifier::{Params, Unifier};

use crate::diagnostics::render_events;
use crate::manifest::{Manifest, open_catalog};
use crate::output::{RowFormat, TextFormat};
use crate::query::{Target, compile_reported, run_compiled};
use crate::tables::dataset_line;
use crate::{Exit, print_out};

#[derive(Debug, Args)]
pub(crate) struct ShellArgs {
    /// Output format of query results (`.format` changes it).
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    format: TextFormat,
}

const HELP: &str = "\
Statements end with `;` and may span lines; each goes through the catalog's policy.
  .tables                   the catalog's datasets
  .schema NAME              the columns of a dataset
  .policy                   the policy statements are checked against
  .format table|csv|json|ndjson
                            how results print
  .timer on|off             print each statement's time
  .diagnostics [N]          the newest N events (default 10)
  .read FILE                run the statements in FILE
  .help                     this text
  .quit                     leave (also Ctrl-D)
Ctrl-C cancels a running statement; at the prompt it clears the statement.
";

/// A line of input, or why there is none.
enum Input {
    Line(String),
    /// Ctrl-C at the prompt.
    Interrupted,
    End,
}

/// Where lines come from: the terminal (with editing and history) or a script.
enum Lines {
    Terminal {
        editor: Box<rustyline::DefaultEditor>,
        history: Option<PathBuf>,
    },
    Script(Box<dyn BufRead>),
}

impl Lines {
    fn read(&mut self, prompt: &str) -> Result<Input, String> {
        match self {
            Lines::Terminal { editor, .. } => {
                match tokio::task::block_in_place(|| editor.readline(prompt)) {
                    Ok(line) => Ok(Input::Line(line)),
                    Err(rustyline::error::ReadlineError::Interrupted) => Ok(Input::Interrupted),
                    Err(rustyline::error::ReadlineError::Eof) => Ok(Input::End),
                    Err(e) => Err(format!("cannot read the terminal: {e}")),
                }
            }
            Lines::Script(reader) => {
                let mut line = String::new();
                match tokio::task::block_in_place(|| reader.read_line(&mut line)) {
                    Ok(0) => Ok(Input::End),
                    Ok(_) => Ok(Input::Line(line.trim_end_matches(['\n', '\r']).to_owned())),
                    Err(e) => Err(format!("cannot read stdin: {e}")),
                }
            }
        }
    }

    fn remember(&mut self, entry: &str) {
        if let Lines::Terminal { editor, history } = self {
            let _ = editor.add_history_entry(entry.trim());
            if let Some(path) = history {
                let _ = editor.save_history(path);
            }
        }
    }
}

/// The session: the catalog opened once, and the display settings.
struct Shell {
    unifier: Unifier,
    format: RowFormat,
    timer: bool,
    /// The exit code of the first statement that failed (scripts report it).
    failed: Option<Exit>,
    /// SIGINT, caught from the start: it cancels a statement, never ends the shell.
    interrupts: tokio::signal::unix::Signal,
}

/// Splits `text` into complete statements (each ending with a `;` outside quotes and
/// comments, the `;` dropped) and the incomplete rest.
pub(crate) fn split_statements(text: &str) -> (Vec<String>, String) {
    let mut statements = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        // A doubled quote is an escaped one.
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                let statement = text[start..i].trim();
                if !statement.is_empty() {
                    statements.push(statement.to_owned());
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let rest = text.get(start..).unwrap_or_default();
    (statements, rest.to_owned())
}

/// Whether `text` holds nothing but whitespace and comments.
fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with("--"))
}

impl Shell {
    /// Runs one statement through the facade; Ctrl-C cancels it.
    async fn statement(&mut self, sql: &str) {
        let started = Instant::now();
        let unifier = &self.unifier;
        let format = self.format;
        let run = async move {
            match compile_reported(unifier, sql, Params::None).await {
                Ok(compiled) => {
                    run_compiled(unifier, &compiled, format, None, &Target::Stdout).await
                }
                Err(exit) => exit,
            }
        };
        // A Ctrl-C from before this statement does not cancel it.
        while self.interrupts.recv().now_or_never().is_some() {}
        let exit = tokio::select! {
            exit = run => exit,
            _ = self.interrupts.recv() => {
                // Dropping the statement's future stops its plan.
                eprintln!("cancelled");
                Exit::Runtime
            }
        };
        if exit != Exit::Ok && self.failed.is_none() {
            self.failed = Some(exit);
        }
        if self.timer {
            eprintln!("time: {:.3} s", started.elapsed().as_secs_f64());
        }
    }

    /// Runs a dot command; returns false for `.quit`.
    async fn dot(&mut self, line: &str) -> bool {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let mut fail = |message: String| {
            eprintln!("error: {message}");
            if self.failed.is_none() {
                self.failed = Some(Exit::Usage);
            }
        };
        match (command, args.as_slice()) {
            (".quit" | ".exit" | ".q", []) => return false,
            (".help", []) => {
                print_out(HELP, Exit::Ok);
            }
            (".tables", []) => {
                let text: String = self
                    .unifier
                    .catalog()
                    .datasets()
                    .iter()
                    .filter(|d| d.kind != DatasetKind::System)
                    .map(dataset_line)
                    .collect();
                print_out(&text, Exit::Ok);
            }
            (".schema", [name]) => match self.unifier.catalog().dataset(name) {
                Some(d) => {
                    let mut text = format!("{} ({})\n", d.name, d.kind.as_str());
                    for field in d.schema.fields() {
                        text.push_str(&format!(
                            "  {} {}{}\n",
                            field.name(),
                            match field.data_type() {
                                DataType::Utf8View | DataType::LargeUtf8 => "string".to_owned(),
                                other => type_to_sql(other),
                            },
                            if field.is_nullable() { "" } else { " not null" }
                        ));
                    }
                    if let Some(order) = d.sort_order_sql() {
                        text.push_str(&format!(
                            "  sorted by {order} ({})\n",
                            d.sort_verification.state()
                        ));
                    }
                    if let Some(error) = &d.error {
                        text.push_str(&format!("  unavailable: {error}\n"));
                    }
                    print_out(&text, Exit::Ok);
                }
                None => fail(format!(
                    "no dataset `{name}` in the catalog; .tables lists them"
                )),
            },
            (".policy", []) => {
                let policy = self.unifier.policy();
                let text = match toml::to_string(policy.profile()) {
                    Ok(toml) => format!(
                        "# preset: {}, fingerprint: {}\n{toml}",
                        preset_name(policy.profile()),
                        policy.fingerprint()
                    ),
                    Err(e) => format!("cannot show the policy: {e}\n"),
                };
                print_out(&text, Exit::Ok);
            }
            (".format", [name]) => match <RowFormat as clap::ValueEnum>::from_str(name, true) {
                Ok(RowFormat::Parquet) => {
                    fail("parquet is binary: use `unifier query --output FILE.parquet`".into())
                }
                Ok(format) => self.format = format,
                Err(_) => fail(format!(
                    "unknown format `{name}`: use table, csv, json or ndjson"
                )),
            },
            (".timer", ["on"]) => self.timer = true,
            (".timer", ["off"]) => self.timer = false,
            (".diagnostics", [] | [_]) => {
                let limit = match args.first().map(|n| n.parse::<usize>()) {
                    None => 10,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => {
                        fail(format!(
                            "`.diagnostics {}`: N is a number of events",
                            args[0]
                        ));
                        return true;
                    }
                };
                match render_events(
                    self.unifier.recorder(),
                    None,
                    limit,
                    RowFormat::Table,
                    false,
                ) {
                    Ok(text) => {
                        print_out(&text, Exit::Ok);
                    }
                    Err(e) => fail(e),
                }
            }
            (".read", [path]) => match std::fs::read_to_string(path) {
                Ok(text) => {
                    let (statements, rest) = split_statements(&text);
                    for sql in statements {
                        self.statement(&sql).await;
                    }
                    if !is_blank(&rest) {
                        self.statement(rest.trim()).await;
                    }
                }
                Err(e) => fail(format!("cannot read `{path}`: {e}")),
            },
            _ => fail(format!(
                "unknown or incomplete command `{}`; .help lists the commands",
                line.trim()
            )),
        }
        true
    }
}

/// The preset a profile is, or `custom`.
fn preset_name(profile: &unifier::policy::PolicyProfile) -> &'static str {
    unifier::policy::Preset::ALL
        .into_iter()
        .find(|p| p.profile() == *profile)
        .map_or("custom", |p| p.name())
}

/// Where the terminal's history is kept: next to the manifest, else in the home folder.
fn history_path(manifest: &Manifest) -> Option<PathBuf> {
    match manifest.dir() {
        Some(dir) => Some(dir.join(".unifier/shell_history")),
        None => std::env::var_os("HOME").map(|home| Path::new(&home).join(".unifier_history")),
    }
}

pub(crate) async fn run(catalog: Option<&Path>, args: ShellArgs) -> Exit {
    let (manifest, unifier) = match open_catalog(catalog).await {
        Ok(opened) => opened,
        Err(exit) => return exit,
    };
    let interactive = std::io::stdin().is_terminal();
    let mut lines = if interactive {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(editor) => editor,
            Err(e) => {
                eprintln!("error: cannot open the terminal: {e}");
                return Exit::Runtime;
            }
        };
        let history = history_path(&manifest);
        if let Some(path) = &history {
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = editor.load_history(path);
        }
        eprintln!(
            "unifier shell over {} ({} datasets, policy {}); .help for commands",
            manifest.shown(),
            unifier
                .catalog()
                .datasets()
                .iter()
                .filter(|d| d.kind != DatasetKind::System)
                .count(),
            preset_name(unifier.policy().profile())
        );
        Lines::Terminal {
            editor: Box::new(editor),
            history,
        }
    } else {
        Lines::Script(Box::new(std::io::BufReader::new(std::io::stdin())))
    };
    let interrupts = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    {
        Ok(signal) => signal,
        Err(e) => {
            eprintln!("error: cannot catch Ctrl-C: {e}");
            return Exit::Runtime;
        }
    };
    let mut shell = Shell {
        unifier,
        interrupts,
        format: args.format.into(),
        timer: false,
        failed: None,
    };
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "unifier> "
        } else {
            "     ..> "
        };
        let line = match lines.read(prompt) {
            Ok(Input::Line(line)) => line,
            Ok(Input::Interrupted) => {
                buffer.clear();
                continue;
            }
            Ok(Input::End) => break,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Runtime;
            }
        };
        if buffer.trim().is_empty() && line.trim_start().starts_with('.') {
            lines.remember(&line);
            if !shell.dot(line.trim()).await {
                break;
            }
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        let (statements, rest) = split_statements(&buffer);
        if !statements.is_empty() {
            lines.remember(&buffer[..buffer.len() - rest.len()]);
        }
        buffer = if is_blank(&rest) { String::new() } else { rest };
        for sql in statements {
            shell.statement(&sql).await;
        }
    }
    // A script's last statement may lack its `;`.
    if !is_blank(&buffer) {
        shell.statement(buffer.trim()).await;
    }
    if interactive {
        Exit::Ok
    } else {
        shell.failed.unwrap_or(Exit::Ok)
    }
}
