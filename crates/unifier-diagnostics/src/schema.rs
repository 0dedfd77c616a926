//! The schema registry: the Arrow schema of every diagnostics table and its version,
//! and the conversion of events into record batches.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::event::{ColumnDoc, Event, EventKind};

/// Version of the `diagnostics.events` table (the common columns alone).
pub const EVENTS_SCHEMA_VERSION: u32 = 1;

/// Name of the table that holds every event with the common columns only.
pub const EVENTS_TABLE: &str = "events";

/// Time zone of the `ts` column: an offset, as DataFusion's `now()` uses, so the column
/// prints and compares without a time-zone database.
pub const UTC: &str = "+00:00";

/// Metadata key under which every diagnostics schema carries its version.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";

/// The columns every event table starts with.
pub const COMMON_COLUMNS: &[ColumnDoc] = &[
    ColumnDoc {
        name: "event_id",
        doc: "Sequence number within the session; `(session_id, event_id)` is unique.",
    },
    ColumnDoc {
        name: "operation_id",
        doc: "The operation (one compile, execute, register, ...) the event belongs to.",
    },
    ColumnDoc {
        name: "session_id",
        doc: "The recorder's session (one per process or `Unifier`), a UUID.",
    },
    ColumnDoc {
        name: "ts",
        doc: "When the event was recorded (UTC, microseconds).",
    },
    ColumnDoc {
        name: "kind",
        doc: "Event kind: the table the event is also in.",
    },
    ColumnDoc {
        name: "status",
        doc: "`ok`, `denied` or `error`.",
    },
    ColumnDoc {
        name: "duration_us",
        doc: "How long the step took, microseconds.",
    },
    ColumnDoc {
        name: "message",
        doc: "Human-readable summary (the error message for errors).",
    },
    ColumnDoc {
        name: "schema_version",
        doc: "Version of the kind's schema the event was written with.",
    },
];

fn common_fields() -> Vec<Field> {
    vec![
        Field::new("event_id", DataType::UInt64, false),
        Field::new("operation_id", DataType::UInt64, false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            false,
        ),
        Field::new("kind", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("duration_us", DataType::UInt64, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("schema_version", DataType::UInt32, false),
    ]
}

fn with_version(fields: Vec<Field>, table: &str, version: u32) -> SchemaRef {
    let metadata = HashMap::from([
        (SCHEMA_VERSION_KEY.to_owned(), version.to_string()),
        ("table".to_owned(), format!("diagnostics.{table}")),
    ]);
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// Schema of `diagnostics.events`: the common columns of every event.
pub fn events_schema() -> SchemaRef {
    with_version(common_fields(), EVENTS_TABLE, EVENTS_SCHEMA_VERSION)
}

impl EventKind {
    /// Schema of `diagnostics.<kind>`: the common columns, then the kind's own.
    pub fn schema(self) -> SchemaRef {
        let mut fields = common_fields();
        fields.extend(self.fields());
        with_version(fields, self.name(), self.schema_version())
    }
}

/// Every diagnostics table: `(name, schema)`, `events` first, then one per kind, then
/// `recorder`.
pub fn all_schemas() -> Vec<(&'static str, SchemaRef)> {
    std::iter::once((EVENTS_TABLE, events_schema()))
        .chain(
            EventKind::ALL
                .iter()
                .map(|kind| (kind.name(), kind.schema())),
        )
        .chain(std::iter::once((RECORDER_TABLE, recorder_schema())))
        .collect()
}

/// Builds record batches of one table from events, `batch_size` rows at a time.
pub(crate) struct BatchWriter {
    kind: Option<EventKind>,
    schema: SchemaRef,
    batch_size: usize,
    rows: usize,
    event_id: UInt64Builder,
    operation_id: UInt64Builder,
    session_id: StringBuilder,
    ts: TimestampMicrosecondBuilder,
    kind_col: StringBuilder,
    status: StringBuilder,
    duration_us: UInt64Builder,
    message: StringBuilder,
    schema_version: UInt32Builder,
    detail: Vec<Box<dyn ArrayBuilder>>,
    done: Vec<RecordBatch>,
}

impl BatchWriter {
    /// A writer for `diagnostics.<kind>`, or `diagnostics.events` when `kind` is `None`.
    pub(crate) fn new(kind: Option<EventKind>, batch_size: usize) -> Self {
        let batch_size = batch_size.max(1);
        let schema = kind.map_or_else(events_schema, EventKind::schema);
        let cap = batch_size;
        Self {
            kind,
            schema,
            batch_size,
            rows: 0,
            event_id: UInt64Builder::with_capacity(cap),
            operation_id: UInt64Builder::with_capacity(cap),
            session_id: StringBuilder::with_capacity(cap, cap * 36),
            ts: TimestampMicrosecondBuilder::with_capacity(cap).with_timezone(UTC),
            kind_col: StringBuilder::with_capacity(cap, cap * 8),
            status: StringBuilder::with_capacity(cap, cap * 2),
            duration_us: UInt64Builder::with_capacity(cap),
            message: StringBuilder::with_capacity(cap, cap * 16),
            schema_version: UInt32Builder::with_capacity(cap),
            detail: kind.map(|k| k.builders(cap)).unwrap_or_default(),
            done: Vec::new(),
        }
    }

    /// Appends `event` when it belongs to this table.
    pub(crate) fn push(&mut self, event: &Event) -> Result<(), ArrowError> {
        if self.kind.is_some_and(|kind| kind != event.kind()) {
            return Ok(());
        }
        self.event_id.append_value(event.event_id);
        self.operation_id.append_value(event.operation_id);
        self.session_id.append_value(&event.session_id);
        self.ts.append_value(event.ts_us);
        self.kind_col.append_value(event.kind().name());
        self.status.append_value(event.status.as_str());
        self.duration_us.append_value(event.duration_us);
        self.message.append_value(&event.message);
        self.schema_version.append_value(event.schema_version);
        if self.kind.is_some() {
            event.detail.append(&mut self.detail);
        }
        self.rows += 1;
        if self.rows == self.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ArrowError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.operation_id.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.kind_col.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.duration_us.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.schema_version.finish()),
        ];
        columns.extend(self.detail.iter_mut().map(|b| b.finish()));
        self.done
            .push(RecordBatch::try_new(self.schema.clone(), columns)?);
        self.rows = 0;
        Ok(())
    }

    /// The batches written so far (the last one possibly shorter).
    pub(crate) fn finish(mut self) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
        self.flush()?;
        Ok((self.schema, self.done))
    }
}

/// Name of the one-row table with the recorder's counters.
pub const RECORDER_TABLE: &str = "recorder";

/// Version of the `diagnostics.recorder` table.
pub const RECORDER_SCHEMA_VERSION: u32 = 1;

/// Schema of `diagnostics.recorder`: the session and the counters of [`crate::RecorderStats`].
pub fn recorder_schema() -> SchemaRef {
    let counter = |name: &str| Field::new(name, DataType::UInt64, false);
    with_version(
        vec![
            Field::new("session_id", DataType::Utf8, false),
            counter("capacity"),
            counter("buffered"),
            counter("recorded"),
            counter("dropped"),
            counter("history_loaded"),
            counter("history_skipped"),
            counter("sink_errors"),
        ],
        RECORDER_TABLE,
        RECORDER_SCHEMA_VERSION,
    )
}
