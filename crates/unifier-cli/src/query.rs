//! `unifier query` and `unifier explain`: SQL through the gate, over the catalog.

use std::fmt::Write as _;
use std::path::Path;

use clap::Args;
use unifier::{Compiled, Error, ExecutionResult, Params, Unifier};

use crate::check::{Format, Outcome, read_sql, render};
use crate::manifest::Manifest;
use crate::output::{RowFormat, render_rows};
use crate::{Exit, print_out};

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    format: RowFormat,
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
    let compiled = unifier.compile(&sql, Params::None).await;
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
        Err(error) => Err(runtime(&error)),
    }
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
    let (unifier, compiled) = match open_and_compile(catalog, args.sql.as_deref()).await {
        Ok(pair) => pair,
        Err(exit) => return exit,
    };
    let result = unifier.execute(&compiled).await;
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
        Ok(ExecutionResult::Write { summary, .. }) => crate::write::write_summary_text(&summary),
        Ok(ExecutionResult::Reader { .. }) => {
            eprintln!("error: `execute` returned a stream; expected collected rows");
            return Exit::Runtime;
        }
        Err(error) => return runtime(&error),
    };
    print_out(&text, Exit::Ok)
}

pub(crate) async fn explain(catalog: Option<&Path>, args: ExplainArgs) -> Exit {
    let (unifier, compiled) = match open_and_compile(catalog, args.sql.as_deref()).await {
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
