//! Integration tests of `unifier-io-adapter`: real files in temp dirs, a real session.

mod bad_input;
mod catalog;
mod contract;
mod delta;
mod scan_settings;
mod sort_order;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::displayable;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use unifier_diagnostics::DiagnosticsRecorder;
use unifier_io_adapter::{IoAdapter, ScanPolicy};

/// This crate's directory as the test runner reports it when the test runs: a test binary
/// can have been built in another clone sharing the target directory (cargo reuses it),
/// and the compile-time path would name that clone.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// A fresh adapter over a default session, with two target partitions so plans that
/// merge sorted streams show up.
fn adapter() -> IoAdapter {
    let scan = ScanPolicy {
        target_partitions: 2,
        ..ScanPolicy::default()
    };
    IoAdapter::with_defaults(scan, DiagnosticsRecorder::new(10_000)).unwrap()
}

/// A batch `(id BIGINT, name TEXT)` with `name = "n<id>"`; `None` ids are nulls.
fn batch(ids: &[Option<i64>]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let names: StringArray = ids
        .iter()
        .map(|id| Some(format!("n{}", id.unwrap_or(-1))))
        .collect();
    RecordBatch::try_new(
        schema,
        vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(names)],
    )
    .unwrap()
}

fn some(ids: impl IntoIterator<Item = i64>) -> Vec<Option<i64>> {
    ids.into_iter().map(Some).collect()
}

/// Writes `batch` as parquet with at most `row_group_rows` rows per row group.
fn write_parquet(path: &Path, batch: &RecordBatch, row_group_rows: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// Runs `sql` on the adapter's session and pretty-prints the result.
async fn query(adapter: &IoAdapter, sql: &str) -> String {
    let batches = adapter
        .session()
        .sql(sql)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

/// The physical plan of `sql`, one operator per line.
async fn physical_plan(adapter: &IoAdapter, sql: &str) -> String {
    let plan = adapter
        .session()
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    displayable(plan.as_ref()).indent(false).to_string()
}

fn dir_str(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}
