//! `unifier diagnostics`: the events of this and earlier runs (from the manifest's
//! `[diagnostics]` directory).

use std::path::Path;

use arrow::compute::concat_batches;
use clap::Args;
use unifier::diagnostics::EventKind;

use crate::manifest::Manifest;
use crate::output::{RowFormat, TextFormat, render_rows};
use crate::{Exit, print_out};

#[derive(Debug, Args)]
pub(crate) struct DiagnosticsArgs {
    /// Only events of this kind (policy, compile, execute, register, write, cdf, error),
    /// with the kind's own columns.
    #[arg(long)]
    kind: Option<String>,
    /// The newest N events, oldest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    format: TextFormat,
    /// Every column in the table format (csv and json always carry every column).
    #[arg(long)]
    wide: bool,
}

/// The columns the table format shows by default: when, what, how it went, and the
/// kind's key figures.
fn compact_columns(kind: Option<EventKind>) -> Vec<&'static str> {
    let mut columns = vec!["ts", "kind", "status", "duration_us"];
    columns.extend_from_slice(match kind {
        None => &[][..],
        Some(EventKind::Policy) => &["verdict", "codes"],
        Some(EventKind::Compile) => &["inputs", "plan_us"],
        Some(EventKind::Execute) => &["rows", "files_scanned", "sort_elided"],
        Some(EventKind::Register) => &["dataset", "dataset_kind", "sort_verification"],
        Some(EventKind::Write) => &["table", "mode", "rows", "version_after", "commit"],
        Some(EventKind::Cdf) => &["table", "source", "rows"],
        Some(EventKind::Error) => &["operation", "error_kind"],
    });
    columns.push("message");
    columns
}

/// `batch` with only `columns`, long messages cut to one terminal line.
fn compact(
    batch: &arrow::record_batch::RecordBatch,
    columns: &[&str],
) -> Result<arrow::record_batch::RecordBatch, arrow::error::ArrowError> {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, StringArray};
    let schema = batch.schema();
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for name in columns {
        let Ok(index) = schema.index_of(name) else {
            continue;
        };
        let mut array = batch.column(index).clone();
        if *name == "message"
            && let Some(text) = array.as_any().downcast_ref::<StringArray>()
        {
            let cut: StringArray = text
                .iter()
                .map(|m| {
                    m.map(|m| {
                        let line = m.lines().next().unwrap_or_default();
                        match line.char_indices().nth(80) {
                            Some((at, _)) => format!("{}…", &line[..at]),
                            None => line.to_owned(),
                        }
                    })
                })
                .collect();
            array = Arc::new(cut);
        }
        fields.push(schema.field(index).clone());
        arrays.push(array);
    }
    arrow::record_batch::RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(fields)),
        arrays,
    )
}

pub(crate) fn run(catalog: Option<&Path>, args: DiagnosticsArgs) -> Exit {
    let kind = match args
        .kind
        .as_deref()
        .map(str::parse::<EventKind>)
        .transpose()
    {
        Ok(kind) => kind,
        Err(e) => {
            eprintln!("error: --kind: {e}");
            return Exit::Usage;
        }
    };
    let manifest = match Manifest::locate(catalog) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    // Reading events registers nothing and runs no SQL, so it records nothing either.
    let mut profile = manifest.profile.diagnostics.clone();
    profile.history = true;
    let mut builder =
        unifier::diagnostics::DiagnosticsRecorder::builder().with_capacity(profile.capacity);
    if let Some(dir) = &profile.dir {
        if !dir.exists() {
            eprintln!("no events yet: `{}` does not exist", dir.display());
            return Exit::Ok;
        }
        builder = builder.reading_history_of(dir);
    }
    let recorder = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", crate::chain(&e));
            return Exit::Runtime;
        }
    };
    match render_events(&recorder, kind, args.limit, args.format.into(), args.wide) {
        Ok(text) => print_out(&text, Exit::Ok),
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Runtime
        }
    }
}

/// The newest `limit` events of `recorder` (of `kind`, or all), oldest first, in
/// `format`; the table format shows the compact columns unless `wide`.
pub(crate) fn render_events(
    recorder: &unifier::diagnostics::DiagnosticsRecorder,
    kind: Option<EventKind>,
    limit: usize,
    format: RowFormat,
    wide: bool,
) -> Result<String, String> {
    let (schema, batches) = recorder
        .record_batches(kind, 8192)
        .map_err(|e| crate::chain(&e))?;
    let all = concat_batches(&schema, &batches).map_err(|e| crate::chain(&e))?;
    let skip = all.num_rows().saturating_sub(limit);
    let mut newest = all.slice(skip, all.num_rows() - skip);
    let mut schema = schema;
    if format == RowFormat::Table && !wide {
        newest = compact(&newest, &compact_columns(kind)).map_err(|e| crate::chain(&e))?;
        schema = newest.schema();
    }
    render_rows(&schema, &[newest], format)
}
