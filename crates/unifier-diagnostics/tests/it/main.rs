//! Integration tests of `unifier-diagnostics`: schemas, the recorder, the file sink.

mod recorder;
mod schemas;
mod sink;

use std::time::Duration;

use unifier_diagnostics::{DiagnosticsRecorder, ExecuteEvent, Status};

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
