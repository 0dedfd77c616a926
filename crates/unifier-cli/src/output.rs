//! Result formats: a table, CSV with a header, a JSON array of row objects, or one JSON
//! object per line.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use clap::ValueEnum;
use unifier::io::WriteOp;
use unifier::write::{WriteMode, WriteSummary};

/// How `query` and `diagnostics` print rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RowFormat {
    /// An aligned table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON array of row objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A parquet file (with `--output FILE` only).
    Parquet,
}

/// How commands that print rows to stdout only (`changes`, `diagnostics`, `shell`)
/// print them: the text formats of [`RowFormat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TextFormat {
    /// An aligned table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON array of row objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl From<TextFormat> for RowFormat {
    fn from(format: TextFormat) -> Self {
        match format {
            TextFormat::Table => RowFormat::Table,
            TextFormat::Csv => RowFormat::Csv,
            TextFormat::Json => RowFormat::Json,
            TextFormat::Ndjson => RowFormat::Ndjson,
        }
    }
}

impl RowFormat {
    /// The format a file's extension names (`.csv`, `.json`, `.ndjson`/`.jsonl`,
    /// `.parquet`, `.txt` for the table).
    pub(crate) fn of_path(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => RowFormat::Csv,
            "json" => RowFormat::Json,
            "ndjson" | "jsonl" => RowFormat::Ndjson,
            "parquet" => RowFormat::Parquet,
            "txt" => RowFormat::Table,
            _ => return None,
        })
    }
}

/// Why parquet cannot be printed.
pub(crate) const PARQUET_NEEDS_FILE: &str =
    "parquet is binary: write it to a file with --output FILE.parquet";

/// Why rows could not be written out.
#[derive(Debug)]
pub(crate) struct WriteFailed {
    /// What to print.
    pub(crate) message: String,
}

impl WriteFailed {
    /// A failure with this message.
    pub(crate) fn other(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    fn of(error: &dyn std::fmt::Display) -> Self {
        Self::other(format!("cannot write the result: {error}"))
    }
}

/// A writer that notes when its reader went away (a closed pipe, `| head`): the
/// format writers above it (arrow's csv writer among them) keep only the error's text,
/// so the kind is caught here, where the `io::Error` still has it.
pub(crate) struct PipeWatch<W> {
    inner: W,
    gone: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<W: std::io::Write> PipeWatch<W> {
    /// Watches `inner`; `gone` turns true on its first broken-pipe error.
    pub(crate) fn new(inner: W, gone: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self { inner, gone }
    }

    fn note<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.gone.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }
}

impl<W: std::io::Write> std::io::Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf);
        self.note(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.inner.flush();
        self.note(flushed)
    }
}

impl From<arrow::error::ArrowError> for WriteFailed {
    fn from(error: arrow::error::ArrowError) -> Self {
        Self::of(&error)
    }
}

impl From<std::io::Error> for WriteFailed {
    fn from(error: std::io::Error) -> Self {
        Self::of(&error)
    }
}

impl From<parquet::errors::ParquetError> for WriteFailed {
    fn from(error: parquet::errors::ParquetError) -> Self {
        Self::of(&error)
    }
}

/// Renders `batches` (of `schema`) in `format`.
pub(crate) fn render_rows(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: RowFormat,
) -> Result<String, String> {
    let arrow = |e: arrow::error::ArrowError| format!("cannot render the result: {e}");
    let mut out = Vec::new();
    match format {
        RowFormat::Table => {
            let table =
                arrow::util::pretty::pretty_format_batches_with_schema(schema.clone(), batches)
                    .map_err(arrow)?;
            out.extend_from_slice(format!("{table}\n").as_bytes());
        }
        RowFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            if batches.is_empty() {
                writer
                    .write(&RecordBatch::new_empty(schema.clone()))
                    .map_err(arrow)?;
            }
            for batch in batches {
                writer.write(batch).map_err(arrow)?;
            }
        }
        RowFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut out);
            for batch in batches {
                writer.write(batch).map_err(arrow)?;
            }
            writer.finish().map_err(arrow)?;
            if out.is_empty() {
                out.extend_from_slice(b"[]");
            }
            out.push(b'\n');
        }
        RowFormat::Ndjson => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
            for batch in batches {
                writer.write(batch).map_err(arrow)?;
            }
            writer.finish().map_err(arrow)?;
        }
        RowFormat::Parquet => return Err(PARQUET_NEEDS_FILE.to_owned()),
    }
    String::from_utf8(out).map_err(|e| format!("cannot render the result: {e}"))
}

/// Writes rows batch by batch as they arrive (csv, json, ndjson), so a large result
/// prints with bounded memory; the table format needs every row first and collects.
pub(crate) enum RowSink<W: std::io::Write + Send> {
    /// CSV with a header (written once, even for no rows).
    Csv(Box<arrow::csv::Writer<W>>, bool),
    /// A JSON array of row objects.
    Json(arrow::json::ArrayWriter<W>, bool),
    /// One JSON object per line.
    Ndjson(arrow::json::LineDelimitedWriter<W>),
    /// Collected, then rendered as an aligned table.
    Table(W, Vec<RecordBatch>),
    /// A parquet file, row group by row group.
    Parquet(Box<parquet::arrow::ArrowWriter<W>>),
}

impl<W: std::io::Write + Send> RowSink<W> {
    /// A sink writing `format` to `out`; `schema` is the rows'.
    pub(crate) fn new(out: W, format: RowFormat, schema: &SchemaRef) -> Result<Self, WriteFailed> {
        Ok(match format {
            RowFormat::Parquet => RowSink::Parquet(Box::new(parquet::arrow::ArrowWriter::try_new(
                out,
                schema.clone(),
                None,
            )?)),
            RowFormat::Csv => RowSink::Csv(
                Box::new(
                    arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .build(out),
                ),
                false,
            ),
            RowFormat::Json => RowSink::Json(arrow::json::ArrayWriter::new(out), false),
            RowFormat::Ndjson => RowSink::Ndjson(arrow::json::LineDelimitedWriter::new(out)),
            RowFormat::Table => RowSink::Table(out, Vec::new()),
        })
    }

    /// Writes (or keeps) one batch.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), WriteFailed> {
        match self {
            RowSink::Csv(w, any) => {
                *any = true;
                w.write(batch)?;
            }
            RowSink::Json(w, any) => {
                *any |= batch.num_rows() > 0;
                w.write(batch)?;
            }
            RowSink::Ndjson(w) => w.write(batch)?,
            RowSink::Table(_, batches) => batches.push(batch.clone()),
            RowSink::Parquet(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Ends the output (`schema` for the header of an empty csv or table).
    pub(crate) fn finish(self, schema: &SchemaRef) -> Result<(), WriteFailed> {
        match self {
            RowSink::Csv(mut w, any) => {
                if !any {
                    w.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                w.into_inner().flush()?;
            }
            RowSink::Json(mut w, any) => {
                w.finish()?;
                let mut out = w.into_inner();
                if !any {
                    out.write_all(b"[]")?;
                }
                out.write_all(b"\n")?;
                out.flush()?;
            }
            RowSink::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            RowSink::Table(mut out, batches) => {
                let text =
                    render_rows(schema, &batches, RowFormat::Table).map_err(WriteFailed::other)?;
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
            RowSink::Parquet(w) => w.into_inner()?.flush()?,
        }
        Ok(())
    }
}

/// One line saying what a write did: rows, versions, path and why, files and bytes.
pub(crate) fn summary_line(s: &WriteSummary) -> String {
    let versions = match (s.version_before, s.version_after) {
        (before, Some(after)) => format!(
            "version {} -> {after}",
            before.map_or_else(|| "none".to_owned(), |v| v.to_string())
        ),
        (_, None) => "nothing committed".to_owned(),
    };
    let action = match (&s.mode, s.op) {
        (Some(WriteMode::ReplaceWhere(_)), _) => "replaced in".to_owned(),
        (Some(mode @ (WriteMode::ErrorIfExists | WriteMode::Ignore)), _) => {
            format!("written ({}) to", mode.as_str())
        }
        (_, WriteOp::Append) => "appended to".to_owned(),
        (_, WriteOp::Overwrite) => "written over".to_owned(),
        (_, WriteOp::Delete) => "deleted from".to_owned(),
        (_, WriteOp::Update) => "updated in".to_owned(),
        (_, WriteOp::Merge) => "merged into".to_owned(),
    };
    format!(
        "{} {action} `{}`: {versions} ({} path: {}; {} added, {} removed, {})\n",
        counted(s.rows, "row", "rows"),
        s.table,
        s.path.as_str(),
        s.path_reason,
        counted(s.files_added, "file", "files"),
        s.files_removed,
        counted(s.bytes_added, "byte", "bytes")
    )
}

/// `n` and the noun for it: `1 row`, `2 rows` (`plural` is the noun for any other count).
pub(crate) fn counted(n: u64, one: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { plural })
}

/// A bar counting rows `verb` (`written`), with their rate and the elapsed time, drawn
/// on stderr when it is a terminal and nowhere otherwise (piped, redirected, in tests).
pub(crate) fn progress_bar(verb: &str) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {{human_pos}} rows {verb}  {{rate}}  {{elapsed}}"
    )) {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(
                    out,
                    "{} rows/s",
                    indicatif::HumanCount(state.per_sec() as u64)
                );
            },
        ));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
