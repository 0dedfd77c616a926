//! `unifier write` and `unifier changes`: rows into a Delta dataset of the catalog, and
//! its change feed out (optionally through a cursor that advances once the rows are out).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use clap::Args;
use unifier::datafusion::error::Result as DfResult;
use unifier::datafusion::physical_plan::{RecordBatchStream, SendableRecordBatchStream};
use unifier::io::{CdfCursor, FileFormatKind, ListingSpec};
use unifier::write::{
    CommitOptions, Transaction, WriteMode, WriteRequest, WriteSource, WriteTarget,
};
use unifier::{Error, ExecutionResult, Params, Unifier};

use crate::manifest::open_catalog;
use crate::output::{TextFormat, render_rows, summary_line};
use crate::query::{flush, open_and_compile, runtime, usage};
use crate::{Delivery, Exit, deliver, print_out};

#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// The Delta dataset to write into (declared in the catalog).
    name: String,
    /// append, overwrite, error_if_exists or ignore.
    #[arg(long, default_value = "append")]
    mode: String,
    /// Replace only the rows matching this SQL predicate (overwrite with replace-where).
    #[arg(long, value_name = "PREDICATE", conflicts_with = "mode")]
    replace_where: Option<String>,
    /// Partition columns (for a table the write creates or repartitions).
    #[arg(long, value_delimiter = ',')]
    partition_by: Vec<String>,
    /// The rows: a query, checked by the catalog's policy.
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    sql: Option<String>,
    /// The rows: a file (parquet, csv, json/ndjson, avro, arrow; by extension).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// The writing application, for an idempotent retry: the write commits once per
    /// (`--app-id`, `--app-version`); running it again after it committed writes nothing.
    #[arg(long, value_name = "ID", requires = "app_version")]
    app_id: Option<String>,
    /// The application's version of this write (grows with each new write of the app).
    #[arg(long, value_name = "N", requires = "app_id")]
    app_version: Option<i64>,
}

#[derive(Debug, Args)]
pub(crate) struct ChangesArgs {
    /// The Delta dataset whose change feed to read.
    name: String,
    /// First version (default: the earliest, or after the cursor's position).
    #[arg(long)]
    starting_version: Option<u64>,
    /// Last version (default: the latest).
    #[arg(long)]
    ending_version: Option<u64>,
    /// Read what this consumer has not acknowledged yet; acknowledged once every row is
    /// written out and flushed (a reader that leaves early acknowledges nothing). A new
    /// cursor may start at --starting-version.
    #[arg(long, value_name = "NAME", conflicts_with = "ending_version")]
    cursor: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    format: TextFormat,
}

/// Counts rows as the writer pulls them into a progress bar (rows, rate, elapsed time),
/// drawn on a terminal only.
struct Progress {
    inner: SendableRecordBatchStream,
    bar: indicatif::ProgressBar,
}

impl futures::Stream for Progress {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(batch))) = &polled {
            self.bar.inc(batch.num_rows() as u64);
        }
        polled
    }
}

impl RecordBatchStream for Progress {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

fn format_of(path: &Path) -> Option<FileFormatKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "parquet" => FileFormatKind::Parquet,
        "csv" => FileFormatKind::Csv,
        "json" | "ndjson" | "jsonl" => FileFormatKind::Json,
        "avro" => FileFormatKind::Avro,
        "arrow" | "ipc" | "feather" => FileFormatKind::Arrow,
        _ => return None,
    })
}

/// The source rows as a stream (the query runs through the gate).
async fn source(
    catalog: Option<&Path>,
    args: &WriteArgs,
) -> Result<(Unifier, SendableRecordBatchStream), Exit> {
    if let Some(file) = &args.file {
        let (_, unifier) = open_catalog(catalog).await?;
        let Some(format) = format_of(file) else {
            return Err(usage(&format!(
                "cannot tell the format of `{}` from its extension: use .parquet, .csv, .json, .ndjson, .avro or .arrow",
                file.display()
            )));
        };
        let spec = ListingSpec::new(file.display().to_string(), format);
        // A file's types are inferred, not declared: its columns are cast to the table's.
        let table = unifier.catalog().dataset(&args.name);
        let stream = unifier
            .read_files(spec, table.as_ref().map(|t| t.schema.as_ref()))
            .await
            .map_err(|e| {
                eprintln!("error: {}", crate::chain(&e));
                Exit::Runtime
            })?;
        return Ok((unifier, stream));
    }
    let sql = args.sql.as_deref().unwrap_or_default();
    let (unifier, compiled) = open_and_compile(catalog, Some(sql), Params::None).await?;
    if !compiled.is_query() {
        return Err(usage(
            "--sql must be a query (SELECT ...): its rows are written",
        ));
    }
    match unifier.execute_stream(&compiled).await {
        Ok(ExecutionResult::Reader { stream, .. }) => Ok((unifier, Box::pin(stream))),
        Ok(_) => Err(usage(
            "--sql must be a query (SELECT ...): its rows are written",
        )),
        Err(error) => Err(runtime(&error)),
    }
}

pub(crate) async fn write(catalog: Option<&Path>, args: WriteArgs) -> Exit {
    let mode = match &args.replace_where {
        Some(predicate) => WriteMode::ReplaceWhere(predicate.clone()),
        None => match args.mode.parse::<WriteMode>() {
            Ok(mode) => mode,
            Err(e) => return usage(&e.to_string()),
        },
    };
    let (unifier, stream) = match source(catalog, &args).await {
        Ok(x) => x,
        Err(exit) => return exit,
    };
    let bar = crate::output::progress_bar("written");
    let progress = Progress {
        inner: stream,
        bar: bar.clone(),
    };
    let request = WriteRequest::new(
        WriteTarget::Dataset(args.name.clone()),
        WriteSource::Stream(Box::pin(progress)),
    )
    .with_mode(mode)
    .with_partition_by(args.partition_by.clone());
    let request = match (&args.app_id, args.app_version) {
        (Some(app_id), Some(version)) => request.with_commit(CommitOptions {
            transaction: Some(Transaction {
                app_id: app_id.clone(),
                version,
            }),
            ..CommitOptions::default()
        }),
        _ => request,
    };
    let result = unifier.write(request).await;
    bar.finish_and_clear();
    flush(&unifier);
    match result {
        Ok(summary) => print_out(&summary_line(&summary), Exit::Ok),
        Err(error) => runtime(&error),
    }
}

pub(crate) async fn changes(catalog: Option<&Path>, args: ChangesArgs) -> Exit {
    let (manifest, unifier) = match open_catalog(catalog).await {
        Ok(opened) => opened,
        Err(exit) => return exit,
    };
    let Some(table) = unifier.catalog().dataset(&args.name) else {
        return usage(&format!(
            "`{}` is not in the catalog; declare it with kind = \"delta\"",
            args.name
        ));
    };
    let Some(info) = table.delta.clone() else {
        return usage(&format!(
            "`{}` is a {} dataset; the change feed needs kind = \"delta\"",
            args.name,
            table.kind.as_str()
        ));
    };
    let cursor = match &args.cursor {
        Some(name) => match CdfCursor::open(manifest.cursor_dir(), name) {
            Ok(c) => Some(c),
            Err(e) => return runtime(&Error::from(e)),
        },
        None => None,
    };
    let range = match &cursor {
        Some(c) => match (c.position(&args.name), args.starting_version) {
            (Err(e), _) => return runtime(&Error::from(e)),
            (Ok(Some(at)), Some(_)) => {
                return usage(&format!(
                    "cursor `{}` already read `{}` up to version {at}: --starting-version only starts a new cursor",
                    c.consumer(),
                    args.name
                ));
            }
            (Ok(None), Some(start)) => (start <= info.version).then_some(unifier::io::CdfRange {
                starting_version: start,
                ending_version: info.version,
            }),
            (Ok(_), None) => match c.pending(&table) {
                Ok(range) => range,
                Err(e) => return runtime(&Error::from(e)),
            },
        },
        None => Some(unifier::io::CdfRange {
            starting_version: args.starting_version.unwrap_or(info.earliest_version),
            ending_version: args.ending_version.unwrap_or(info.version),
        }),
    };
    let Some(range) = range else {
        eprintln!(
            "no new changes of `{}` for cursor `{}` (at version {})",
            args.name,
            args.cursor.as_deref().unwrap_or_default(),
            info.version
        );
        flush(&unifier);
        return Exit::Ok;
    };
    let sql = format!(
        "SELECT * FROM table_changes('{}', {}, {}) ORDER BY _commit_version",
        args.name, range.starting_version, range.ending_version
    );
    let result = unifier.sql(&sql, Params::None).await;
    let (schema, batches) = match result {
        Ok(ExecutionResult::Table {
            schema, batches, ..
        }) => (schema, batches),
        Ok(other) => {
            eprintln!("error: unexpected result {other:?}");
            return Exit::Runtime;
        }
        Err(error) => {
            flush(&unifier);
            return runtime(&error);
        }
    };
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let text = match render_rows(&schema, &batches, args.format.into()) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Runtime;
        }
    };
    let delivered = deliver(&text);
    // Acknowledge only rows written out and flushed to a reader that stayed.
    if let (Delivery::Done, Some(cursor)) = (delivered, &cursor)
        && let Err(e) = cursor.acknowledge(&args.name, range, rows, unifier.recorder())
    {
        flush(&unifier);
        return runtime(&Error::from(e));
    }
    if let (Delivery::ReaderGone, Some(name)) = (delivered, &args.cursor) {
        eprintln!(
            "the reader left before every change was out: cursor `{name}` stays where it was"
        );
    }
    flush(&unifier);
    delivered.exit()
}
