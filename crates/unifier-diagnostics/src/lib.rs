//! `unifier-diagnostics`: typed, versioned events for everything unifier does.
//!
//! Every compile, execute, register, write, policy decision and change-feed read leaves
//! an [`Event`]. Each [`EventKind`] has an Arrow schema that carries its
//! `schema_version` ([`EventKind::schema`]); the events of a kind become record batches
//! ([`DiagnosticsRecorder::record_batches`]) that upper layers expose as the SQL tables
//! `diagnostics.<kind>`, plus `diagnostics.events` (common columns of every event) and
//! `diagnostics.recorder` (counters).
//!
//! Sinks: a bounded in-memory buffer (oldest events go first when full, and are
//! counted), an optional JSON-lines directory that persists events across processes and
//! is read back as history, and `tracing` (a span per operation, an event per record).
//!
//! This crate knows nothing of DataFusion or Delta Lake: arrow, serde and tracing only.
//!
//! ```
//! use std::time::Duration;
//! use unifier_diagnostics::{DiagnosticsRecorder, EventKind, RegisterEvent, Status};
//!
//! let recorder = DiagnosticsRecorder::new(1_000);
//! let ctx = recorder.begin("register");
//! ctx.record(
//!     Status::Ok,
//!     Duration::from_micros(120),
//!     "registered `trips`",
//!     RegisterEvent { dataset: "trips".into(), dataset_kind: "parquet".into(), ..Default::default() },
//! );
//! let (schema, batches) = recorder.record_batches(Some(EventKind::Register), 1024)?;
//! assert_eq!(batches[0].num_rows(), 1);
//! assert_eq!(schema.metadata()["schema_version"], "2");
//! # Ok::<(), unifier_diagnostics::Error>(())
//! ```

mod column;
mod error;
mod event;
mod recorder;
mod schema;
mod sink;

pub use error::{Error, Result, error_chain};
pub use event::{
    CdfEvent, ColumnDoc, CompileEvent, ErrorEvent, Event, EventDetail, EventKind, ExecuteEvent,
    PolicyEvent, RegisterEvent, Status, WriteEvent,
};
pub use recorder::{
    DEFAULT_CAPACITY, DiagnosticsContext, DiagnosticsRecorder, RecorderBuilder, RecorderStats,
};
pub use schema::{
    COMMON_COLUMNS, EVENTS_SCHEMA_VERSION, EVENTS_TABLE, RECORDER_SCHEMA_VERSION, RECORDER_TABLE,
    SCHEMA_VERSION_KEY, UTC, all_schemas, events_schema, recorder_schema,
};
pub use sink::Retention;

/// Re-exported so users of this crate alone get the matching Arrow version.
pub use arrow;
