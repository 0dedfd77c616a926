//! Records a few events, persists them as JSON lines and prints `diagnostics.events`.
//!
//! `cargo run -p unifier-diagnostics --example record_events`

use std::time::Duration;

use arrow::util::pretty::pretty_format_batches;
use unifier_diagnostics::{
    DiagnosticsRecorder, EventKind, ExecuteEvent, PolicyEvent, RegisterEvent, Status,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("unifier-diagnostics-example");
    let recorder = DiagnosticsRecorder::builder()
        .with_jsonl_dir(&dir)
        .with_history(false)
        .build()?;

    recorder.begin("register").record(
        Status::Ok,
        Duration::from_micros(850),
        "registered `trips`",
        RegisterEvent {
            dataset: "trips".into(),
            dataset_kind: "listing".into(),
            format: Some("parquet".into()),
            ..Default::default()
        },
    );
    let query = recorder.begin("query");
    query.record(
        Status::Ok,
        Duration::from_micros(40),
        "allow",
        PolicyEvent {
            verdict: "allow".into(),
            classes: vec!["query".into()],
            statements: 1,
            ..Default::default()
        },
    );
    query.record(
        Status::Ok,
        Duration::from_millis(12),
        "42 rows",
        ExecuteEvent {
            rows: 42,
            batches: 1,
            inputs: vec!["trips".into()],
            ..Default::default()
        },
    );
    drop(query);

    let (_, batches) = recorder.record_batches(None, 1024)?;
    println!("{}", pretty_format_batches(&batches)?);
    let (schema, _) = recorder.record_batches(Some(EventKind::Execute), 1024)?;
    println!(
        "diagnostics.execute has {} columns (v{})",
        schema.fields().len(),
        EventKind::Execute.schema_version()
    );
    println!(
        "events persisted to {}",
        recorder.jsonl_path().unwrap_or_default().display()
    );
    Ok(())
}
