//! `unifier query` and `unifier explain`: SQL through the gate, over the catalog.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use unifier::{Compiled, Error, ExecutionResult, Params, Unifier};

use crate::check::{Format, Outcome, read_sql, render};
use crate::manifest::open_catalog;
use crate::output::{PipeWatch, RowFormat, RowSink, WriteFailed, counted, render_rows};
use crate::{Exit, print_out};

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Output format (csv, json, ndjson and parquet stream rows as they come)
    /// [default: by the --output file's extension, else table].
    #[arg(long, value_enum)]
    format: Option<RowFormat>,
    /// Write the rows to FILE (csv, json, ndjson, parquet or txt, by extension or
    /// --format) instead of stdout; the file appears only once every row is in it.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print at most N rows (reading stops there).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// A named parameter, `$name` in the SQL: `--param city=Lyon --param n=3`
    /// (integers, decimals, true/false, else text).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// The SQL; read from stdin when absent or `-`.
    sql: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Run the statement and show the plan with its metrics.
    #[arg(long)]
    analyze: bool,
    /// The SQL; read from stdin when absent or `-`.
    sql: Option<String>,
}

/// Opens the catalog and compiles `sql`; on denial or SQL error prints why (stderr) and
/// returns the exit code.
pub(crate) async fn open_and_compile(
    catalog: Option<&Path>,
    sql: Option<&str>,
    params: Params,
) -> Result<(Unifier, unifier::CompiledQuery), Exit> {
    let (_, unifier) = open_catalog(catalog).await?;
    let sql = match read_sql(sql) {
        Ok(Ok(sql)) => sql,
        Ok(Err(utf8)) => {
            eprint!(
                "{}",
                render(
                    unifier.policy(),
                    "",
                    &Outcome::Failed(vec![utf8]),
                    Format::Text
                )
            );
            return Err(Exit::SqlError);
        }
        Err(e) => {
            eprintln!("error: cannot read sql from stdin: {e}");
            return Err(Exit::Runtime);
        }
    };
    let compiled = compile_reported(&unifier, &sql, params).await?;
    Ok((unifier, compiled))
}

/// Compiles `sql`; on denial or SQL error prints why (stderr) and returns the exit code.
pub(crate) async fn compile_reported(
    unifier: &Unifier,
    sql: &str,
    params: Params,
) -> Result<unifier::CompiledQuery, Exit> {
    let compiled = unifier.compile(sql, params).await;
    flush(unifier);
    match compiled {
        Ok(Compiled::Allowed(query)) => Ok(*query),
        Ok(Compiled::Denied(denied)) => {
            eprint!(
                "{}",
                render(
                    unifier.policy(),
                    sql,
                    &Outcome::Checked(denied.report),
                    Format::Text
                )
            );
            Err(Exit::Denied)
        }
        Err(Error::Policy(error)) if !error.sql_errors().is_empty() => {
            eprint!(
                "{}",
                render(
                    unifier.policy(),
                    sql,
                    &Outcome::Failed(error.sql_errors().to_vec()),
                    Format::Text
                )
            );
            Err(Exit::SqlError)
        }
        Err(error) => {
            let exit = runtime(&error);
            if let Some(snippet) = plan_error_snippet(&error, sql) {
                eprint!("{snippet}");
            }
            Err(exit)
        }
    }
}

/// DataFusion attaches a span to many planning errors: show that line of the SQL with a
/// caret, as policy errors are shown.
fn plan_error_snippet(error: &Error, sql: &str) -> Option<String> {
    let Error::Plan { source, .. } = error else {
        return None;
    };
    let diagnostic = source.diagnostic()?;
    let span = diagnostic.span?;
    let position = unifier::policy::Position {
        line: span.start.line,
        column: span.start.column,
    };
    if position.line == 0 {
        return None;
    }
    Some(format!(
        "at line {}, column {}: {}\n{}",
        position.line,
        position.column,
        diagnostic.message,
        unifier::policy::caret_snippet(sql, position)
    ))
}

pub(crate) fn usage(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Usage
}

pub(crate) fn runtime(error: &Error) -> Exit {
    eprintln!("error: {}", unifier::error_chain(error));
    Exit::Runtime
}

/// Writes the recorder's buffered lines to disk; a failure is a warning.
pub(crate) fn flush(unifier: &Unifier) {
    if let Err(e) = unifier.recorder().flush() {
        eprintln!("warning: cannot persist diagnostics: {e}");
    }
}

pub(crate) async fn query(catalog: Option<&Path>, args: QueryArgs) -> Exit {
    let params = match parse_params(&args.params) {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let format = match (args.format, &args.output) {
        (Some(format), _) => format,
        (None, Some(path)) => match RowFormat::of_path(path) {
            Some(format) => format,
            None => {
                return usage(&format!(
                    "--output `{}`: cannot tell the format from the extension; use .csv, .json, .ndjson, .parquet or .txt, or --format",
                    path.display()
                ));
            }
        },
        (None, None) => RowFormat::Table,
    };
    if format == RowFormat::Parquet && args.output.is_none() {
        return usage(crate::output::PARQUET_NEEDS_FILE);
    }
    let (unifier, compiled) = match open_and_compile(catalog, args.sql.as_deref(), params).await {
        Ok(pair) => pair,
        Err(exit) => return exit,
    };
    let target = match &args.output {
        Some(path) => Target::File(path.clone()),
        None => Target::Stdout,
    };
    run_compiled(&unifier, &compiled, format, args.limit, &target).await
}

/// Where a query's rows go.
pub(crate) enum Target {
    /// Printed.
    Stdout,
    /// Into a file, which appears only once complete.
    File(PathBuf),
}

/// Executes an allowed statement and prints its rows (or its write summary); records
/// the events.
pub(crate) async fn run_compiled(
    unifier: &Unifier,
    compiled: &unifier::CompiledQuery,
    format: RowFormat,
    limit: Option<usize>,
    target: &Target,
) -> Exit {
    let result = unifier.execute_stream(compiled).await;
    let exit = match result {
        Ok(ExecutionResult::Reader { schema, stream, .. }) => {
            let sql = compiled.canonical_sql();
            stream_rows(sql, schema, stream, format, limit, target).await
        }
        Ok(ExecutionResult::Write { summary, .. }) => {
            print_out(&crate::output::summary_line(&summary), Exit::Ok)
        }
        Ok(ExecutionResult::Table {
            schema, batches, ..
        }) => match render_rows(&schema, &batches, format) {
            Ok(text) => print_out(&text, Exit::Ok),
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Runtime
            }
        },
        Err(error) => runtime(&error),
    };
    flush(unifier);
    exit
}

/// `--param name=value` as named parameters, typed by their text.
fn parse_params(params: &[String]) -> Result<Params, String> {
    use unifier::datafusion::common::ScalarValue;
    if params.is_empty() {
        return Ok(Params::None);
    }
    let mut named = Vec::new();
    for param in params {
        let (name, value) = param
            .split_once('=')
            .ok_or_else(|| format!("--param `{param}`: use NAME=VALUE"))?;
        let name = name.trim().trim_start_matches('$');
        let scalar = if let Ok(i) = value.parse::<i64>() {
            ScalarValue::Int64(Some(i))
        } else if let Ok(f) = value.parse::<f64>() {
            ScalarValue::Float64(Some(f))
        } else if let Ok(b) = value.parse::<bool>() {
            ScalarValue::Boolean(Some(b))
        } else {
            ScalarValue::Utf8(Some(value.to_owned()))
        };
        named.push((name.to_owned(), scalar));
    }
    Ok(Params::Named(named))
}

/// Writes a query's rows as they come, stopping after `limit` (the stream itself ends
/// at the profile's query timeout). A file target is written beside its path and
/// renamed once complete.
async fn stream_rows(
    sql: &str,
    schema: arrow::datatypes::SchemaRef,
    mut stream: unifier::RecordedStream,
    format: RowFormat,
    limit: Option<usize>,
    target: &Target,
) -> Exit {
    use futures::StreamExt;
    let reader_gone = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (out, partial): (Box<dyn std::io::Write + Send>, Option<PathBuf>) = match target {
        Target::Stdout => (
            Box::new(std::io::BufWriter::new(PipeWatch::new(
                std::io::stdout(),
                reader_gone.clone(),
            ))),
            None,
        ),
        Target::File(path) => {
            let partial = partial_path(path);
            match std::fs::File::create(&partial) {
                Ok(file) => (Box::new(std::io::BufWriter::new(file)), Some(partial)),
                Err(e) => {
                    eprintln!("error: cannot create `{}`: {e}", partial.display());
                    return Exit::Runtime;
                }
            }
        }
    };
    let mut sink = match RowSink::new(out, format, &schema) {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return Exit::Runtime;
        }
    };
    let mut left = limit.unwrap_or(usize::MAX);
    let mut rows = 0u64;
    // Rows going to a file show their progress on a terminal (stdout's rows are the
    // progress when they go to the terminal).
    let bar = match target {
        Target::File(_) => crate::output::progress_bar("read"),
        Target::Stdout => indicatif::ProgressBar::hidden(),
    };
    let copy = async {
        while left > 0 {
            let Some(batch) = stream.next().await else {
                break;
            };
            let batch = batch.map_err(|e| {
                WriteFailed::other(unifier::error_chain(&Error::from_stream(e, sql)))
            })?;
            let take = batch.num_rows().min(left);
            left -= take;
            rows += take as u64;
            bar.inc(take as u64);
            sink.write(&batch.slice(0, take))?;
        }
        Ok::<_, WriteFailed>(())
    };
    let finished = copy.await.and_then(|()| sink.finish(&schema));
    bar.finish_and_clear();
    match (finished, target, partial) {
        (Ok(()), Target::File(path), Some(partial)) => match std::fs::rename(&partial, path) {
            Ok(()) => {
                eprintln!(
                    "{} written to {}",
                    counted(rows, "row", "rows"),
                    path.display()
                );
                Exit::Ok
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                eprintln!("error: cannot write `{}`: {e}", path.display());
                Exit::Runtime
            }
        },
        (Ok(()), _, _) => Exit::Ok,
        (Err(e), _, partial) => {
            if let Some(partial) = partial {
                let _ = std::fs::remove_file(partial);
            }
            if reader_gone.load(std::sync::atomic::Ordering::Relaxed) {
                // The reader went away (`| head`): nothing more to say.
                return Exit::Ok;
            }
            eprintln!("error: {}", e.message);
            Exit::Runtime
        }
    }
}

/// `path` with a hidden partial name beside it: `dir/.name.partial-<pid>`.
fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

pub(crate) async fn explain(catalog: Option<&Path>, args: ExplainArgs) -> Exit {
    let (unifier, compiled) =
        match open_and_compile(catalog, args.sql.as_deref(), Params::None).await {
            Ok(pair) => pair,
            Err(exit) => return exit,
        };
    let explained = unifier.explain(&compiled, args.analyze).await;
    flush(&unifier);
    let explained = match explained {
        Ok(e) => e,
        Err(error) => return runtime(&error),
    };
    let mut out = String::new();
    let classes: Vec<&str> = compiled.classes().iter().map(|c| c.name()).collect();
    let _ = writeln!(
        out,
        "verdict: {} ({})",
        compiled.report().verdict.as_str(),
        classes.join(", ")
    );
    let _ = writeln!(out, "canonical_sql: {}", compiled.canonical_sql());
    let _ = writeln!(out, "plan_hash: {}", compiled.plan_hash());
    let _ = writeln!(out, "\nlogical plan:\n{}", indent(&explained.logical_plan));
    if let Some(physical) = &explained.physical_plan {
        let _ = writeln!(out, "\nphysical plan:\n{}", indent(physical));
    }
    let _ = writeln!(out, "\ndecisions:");
    for d in &explained.datasets {
        let order = d.sort_order_sql().unwrap_or_else(|| "none".into());
        let _ = writeln!(
            out,
            "  dataset {}: {} {}, sort order {order} ({}), filter pushdown {}",
            d.name,
            d.kind.as_str(),
            d.format.map_or("-", |f| f.as_str()),
            d.sort_verification.state(),
            d.filter_pushdown.as_str()
        );
    }
    if let Some(m) = &explained.metrics {
        let sort = match (explained.sorts, m.sort_elided) {
            (false, _) => "no sort requested".to_owned(),
            (true, true) => "sort elided: a verified ordering serves ORDER BY".to_owned(),
            (true, false) => format!("{} SortExec in the plan", m.sort_execs),
        };
        let _ = writeln!(out, "  sort: {sort}");
        if args.analyze {
            let _ = writeln!(
                out,
                "  pruning: {} read, {} pruned by statistics, {} pruned, {} matched, {} scanned",
                counted(m.files_scanned, "file", "files"),
                counted(m.files_pruned, "file", "files"),
                counted(m.row_groups_pruned, "row group", "row groups"),
                m.row_groups_matched,
                counted(m.bytes_scanned, "byte", "bytes")
            );
        }
    }
    if let Some(rows) = explained.rows {
        let _ = writeln!(out, "  rows: {rows}");
    }
    print_out(&out, Exit::Ok)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
