//! Integration tests of `unifier-diagnostics`: schemas, the recorder, the file sink.

mod error;
mod recorder;
mod schemas;
mod sink;

use std::time::Duration;

use unifier_diagnostics::{DiagnosticsRecorder, ExecuteEvent, Status};

/// This crate's directory as the test runner reports it when the test runs: a test binary
/// can have been built in another clone sharing the target directory (cargo reuses it),
/// and the compile-time path would name that clone.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// Records one `execute` event with `rows` rows through a fresh operation.
fn record_execute(recorder: &DiagnosticsRecorder, rows: u64) -> u64 {
    recorder.begin("execute").record(
        Status::Ok,
        Duration::from_micros(rows),
        format!("{rows} rows"),
        ExecuteEvent {
            plan_hash: "abc".into(),
            inputs: vec!["t".into()],
            rows,
            ..Default::default()
        },
    )
}
