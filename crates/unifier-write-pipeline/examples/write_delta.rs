//! Creates a Delta table with the change feed on, appends through a `WriteRequest`,
//! retries the same idempotent transaction (a no-op), deletes a row, and prints the
//! summaries, the change feed and the `write` events — the write pipeline alone.
//!
//! `cargo run -p unifier-write-pipeline --example write_delta`

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::prelude::{col, lit};
use unifier_diagnostics::DiagnosticsRecorder;
use unifier_io_adapter::{DeltaTableOptions, IoAdapter, RegisterOptions, ScanPolicy};
use unifier_write_pipeline::{
    CommitOptions, Transaction, WritePipeline, WriteRequest, WriteSource, WriteTarget,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("unifier-write-example-{}", std::process::id()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
    ]));
    let io = IoAdapter::with_defaults(ScanPolicy::default(), DiagnosticsRecorder::default())?;
    io.create_delta(
        "visits",
        schema.clone(),
        DeltaTableOptions::new(dir.display().to_string()).with_change_data_feed(),
        RegisterOptions::default(),
    )
    .await?;
    let pipeline = WritePipeline::new(io.clone());
    let state = io.session().state();

    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec!["Lyon", "Oslo", "Lima"])),
        ],
    )?;
    let commit = CommitOptions {
        transaction: Some(Transaction {
            app_id: "example".into(),
            version: 1,
        }),
        ..CommitOptions::default()
    };
    for attempt in ["first", "retry"] {
        let source = MemoryStream::try_new(vec![batch.clone()], schema.clone(), None)?;
        let request = WriteRequest::new(
            WriteTarget::Dataset("visits".into()),
            WriteSource::Stream(Box::pin(source)),
        )
        .with_commit(commit.clone());
        let summary = pipeline.write(&state, request).await?;
        println!(
            "{attempt}: {} rows, version {:?} -> {:?}, {} ({})",
            summary.rows,
            summary.version_before,
            summary.version_after,
            summary.commit.as_str(),
            summary.path_reason
        );
    }
    let deleted = pipeline
        .delete(&state, "visits", Some(col("city").eq(lit("Oslo"))))
        .await?;
    println!(
        "delete: {} rows, version {:?}",
        deleted.rows, deleted.version_after
    );

    for sql in [
        "SELECT _change_type, _commit_version, id, city FROM table_changes('visits', 0) ORDER BY _commit_version, id",
        "SELECT mode, path, rows, version_before, version_after, commit FROM diagnostics.write",
    ] {
        let batches = io.session().sql(sql).await?.collect().await?;
        println!("{}", pretty_format_batches(&batches)?);
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
