//! `unifier query` and `unifier explain`: SQL through the gate, over the catalog.

use std::fmt::Write as _;
use std::path::Path;

use clap::Args;
use unifier::{Compiled, Error, ExecutionResult, Params, Unifier};

use crate::check::{Format, Outcome, read_sql, render};
use crate::manifest::Manifest;
use crate::output::{RowFormat, RowSink, render_rows};
use crate::{Exit, print_out};

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Output format (csv, json and ndjson stream rows as they come).
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    format: RowFormat,
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
    let manifest = Manifest::locate(catalog).map_err(|e| usage(&e))?;
    let unifier = manifest.open().await.map_err(|e| e.report())?;
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
    let compiled = unifier.compile(&sql, params).await;
    flush(&unifier);
    match compiled {
        Ok(Compiled::Allowed(query)) => Ok((unifier, *query)),
        Ok(Compiled::Denied(denied)) => {
            eprint!(
                "{}",
                render(
                    unifier.policy(),
                    &sql,
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
                    &sql,
                    &Outcome::Failed(error.sql_errors().to_vec()),
                    Format::Text
                )
            );
            Err(Exit::SqlError)
        }
        Err(error) => {
            let exit = runtime(&error);
            if let Some(snippet) = plan_error_snippet(&error, &sql) {
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

fn flush(unifier: &Unifier) {
    if let Err(e) = unifier.recorder().flush() {
        eprintln!("warning: cannot persist diagnostics: {e}");
    }
}

pub(crate) async fn query(catalog: Option<&Path>, args: QueryArgs) -> Exit {
    let params = match parse_params(&args.params) {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let (unifier, compiled) = match open_and_compile(catalog, args.sql.as_deref(), params).await {
        Ok(pair) => pair,
        Err(exit) => return exit,
    };
    let result = unifier.execute_stream(&compiled).await;
    if let Ok(ExecutionResult::Reader { schema, stream, .. }) = result {
        let exit = stream_rows(&unifier, schema, stream, args.format, args.limit).await;
        flush(&unifier);
        return exit;
    }
    flush(&unifier);
    let text = match result {
        Ok(ExecutionResult::Table {
            schema, batches, ..
        }) => match render_rows(&schema, &batches, args.format) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Runtime;
            }
        },
        Ok(ExecutionResult::Write { summary, .. }) => crate::write::summary_line(&summary),
        Ok(ExecutionResult::Reader { .. }) => {
            eprintln!("error: `execute` returned a stream; expected collected rows");
            return Exit::Runtime;
        }
        Err(error) => return runtime(&error),
    };
    print_out(&text, Exit::Ok)
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

/// Prints a query's rows as they come, stopping after `limit`, within the profile's
/// query timeout.
async fn stream_rows(
    unifier: &Unifier,
    schema: arrow::datatypes::SchemaRef,
    mut stream: unifier::RecordedStream,
    format: RowFormat,
    limit: Option<usize>,
) -> Exit {
    use futures::StreamExt;
    let mut sink = RowSink::new(std::io::BufWriter::new(std::io::stdout().lock()), format);
    let mut left = limit.unwrap_or(usize::MAX);
    let copy = async {
        while left > 0 {
            let Some(batch) = stream.next().await else {
                break;
            };
            let batch = batch.map_err(|e| unifier::diagnostics::error_chain(&e))?;
            let take = batch.num_rows().min(left);
            left -= take;
            sink.write(&batch.slice(0, take))?;
        }
        Ok::<_, String>(())
    };
    let copied = match unifier.profile().runtime.query_timeout_ms {
        Some(ms) => tokio::time::timeout(std::time::Duration::from_millis(ms), copy)
            .await
            .unwrap_or_else(|_| Err(format!("query cancelled after the {ms} ms timeout"))),
        None => copy.await,
    };
    if let Err(e) = copied {
        eprintln!("error: {e}");
        return Exit::Runtime;
    }
    match sink.finish(&schema) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Runtime
        }
    }
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
    let classes: Vec<&str> = compiled.classes.iter().map(|c| c.name()).collect();
    let _ = writeln!(
        out,
        "verdict: {} ({})",
        compiled.report.verdict.as_str(),
        classes.join(", ")
    );
    let _ = writeln!(out, "canonical_sql: {}", compiled.canonical_sql);
    let _ = writeln!(out, "plan_hash: {}", compiled.plan_hash);
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
                "  pruning: {} files read, {} files pruned by statistics, {} row groups pruned, {} matched, {} bytes scanned",
                m.files_scanned,
                m.files_pruned,
                m.row_groups_pruned,
                m.row_groups_matched,
                m.bytes_scanned
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
