//! Result formats: a table, CSV with a header, a JSON array of row objects, or one JSON
//! object per line.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use clap::ValueEnum;

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
    }
    String::from_utf8(out).map_err(|e| format!("cannot render the result: {e}"))
}
