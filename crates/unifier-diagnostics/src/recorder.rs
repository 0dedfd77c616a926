//! The recorder (shared, thread-safe) and the per-operation context.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow::array::{StringArray, UInt64Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::event::{Event, EventDetail, EventKind, Status};
use crate::schema::{BatchWriter, EVENTS_TABLE, recorder_schema};
use crate::sink::{JsonlSink, Retention, read_history};

/// Default capacity of the in-memory buffer, in events.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Counters of a recorder, also the one row of `diagnostics.recorder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecorderStats {
    /// Capacity of the in-memory buffer.
    pub capacity: u64,
    /// Events in the buffer now (including history).
    pub buffered: u64,
    /// Events recorded by this session.
    pub recorded: u64,
    /// Events pushed out of the full buffer (oldest first).
    pub dropped: u64,
    /// Events of earlier sessions loaded from the JSON-lines directory.
    pub history_loaded: u64,
    /// Lines of the JSON-lines directory that could not be read back.
    pub history_skipped: u64,
    /// Failed writes to the JSON-lines file.
    pub sink_errors: u64,
}

/// Configures a [`DiagnosticsRecorder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RecorderBuilder {
    capacity: usize,
    jsonl_dir: Option<PathBuf>,
    history: bool,
    write: bool,
    retention: Retention,
}

impl Default for RecorderBuilder {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            jsonl_dir: None,
            history: true,
            write: true,
            retention: Retention::default(),
        }
    }
}

impl RecorderBuilder {
    /// Capacity of the in-memory buffer (at least 1); when full the oldest event goes.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Persists every event as JSON lines in `dir` (one file per session).
    pub fn with_jsonl_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.jsonl_dir = Some(dir.into());
        self
    }

    /// Whether to load the events of earlier sessions from the JSON-lines directory
    /// into the buffer (default true).
    pub fn with_history(mut self, history: bool) -> Self {
        self.history = history;
        self
    }

    /// Deletes old session files of the JSON-lines directory when the recorder is built.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Reads the history in `dir` without writing there: no session file is created
    /// and events recorded later stay in memory (a reader of events, not a writer).
    pub fn reading_history_of(mut self, dir: impl Into<PathBuf>) -> Self {
        self.jsonl_dir = Some(dir.into());
        self.history = true;
        self.write = false;
        self
    }

    /// Builds the recorder: applies the retention and creates the directory and this
    /// session's file. History is read when first asked for (a `diagnostics.*` table
    /// scanned, [`DiagnosticsRecorder::events`], [`DiagnosticsRecorder::stats`]), not
    /// here: a session that never looks back never reads it.
    pub fn build(self) -> Result<DiagnosticsRecorder> {
        let session_id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        let buffer = VecDeque::with_capacity(self.capacity.min(1024));
        let mut sink = None;
        if let Some(dir) = &self.jsonl_dir
            && self.write
        {
            crate::sink::apply_retention(dir, self.retention)?;
            sink = Some(Mutex::new(JsonlSink::open(dir, &session_id)?));
        }
        let history_dir = self.jsonl_dir.filter(|_| self.history);
        Ok(DiagnosticsRecorder {
            inner: Arc::new(Inner {
                session_id,
                capacity: self.capacity,
                buffer: Mutex::new(Buffer {
                    events: buffer,
                    next_event: 1,
                    history: if history_dir.is_some() {
                        HistoryState::Pending
                    } else {
                        HistoryState::None
                    },
                }),
                next_operation: AtomicU64::new(1),
                recorded: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                history_dir,
                sink,
                sink_errors: AtomicU64::new(0),
            }),
        })
    }
}

/// Whether the history of earlier sessions is in the buffer yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HistoryState {
    /// No history to read.
    None,
    /// Not read yet.
    Pending,
    /// Read: events kept, lines skipped.
    Loaded { kept: u64, skipped: u64 },
}

#[derive(Debug)]
struct Buffer {
    events: VecDeque<Event>,
    next_event: u64,
    history: HistoryState,
}

#[derive(Debug)]
struct Inner {
    session_id: Arc<str>,
    capacity: usize,
    buffer: Mutex<Buffer>,
    next_operation: AtomicU64,
    recorded: AtomicU64,
    dropped: AtomicU64,
    /// Where earlier sessions' events are read from, when history is on.
    history_dir: Option<PathBuf>,
    sink: Option<Mutex<JsonlSink>>,
    sink_errors: AtomicU64,
}

/// Records typed events: a bounded in-memory buffer, an optional JSON-lines file and
/// `tracing` events. Cheap to clone; every clone shares one buffer.
#[derive(Debug, Clone)]
pub struct DiagnosticsRecorder {
    inner: Arc<Inner>,
}

impl Default for DiagnosticsRecorder {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

thread_local! {
    /// The JSON line being made on this thread.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the buffer consistent (every push is one
    // VecDeque operation), so keep recording.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl DiagnosticsRecorder {
    /// An in-memory recorder holding at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self::builder()
            .with_capacity(capacity)
            .build()
            .expect("a recorder without a directory does no IO")
    }

    /// Configures a recorder with sinks.
    pub fn builder() -> RecorderBuilder {
        RecorderBuilder::default()
    }

    /// This recorder's session id (a UUID).
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// The JSON-lines file this session writes, when persistence is on.
    pub fn jsonl_path(&self) -> Option<PathBuf> {
        self.inner
            .sink
            .as_ref()
            .map(|sink| lock(sink).path().to_owned())
    }

    /// Opens the context of one operation (`compile`, `execute`, `register`, ...): a new
    /// operation id and a `tracing` span.
    pub fn begin(&self, operation: &'static str) -> DiagnosticsContext {
        let operation_id = self.inner.next_operation.fetch_add(1, Ordering::Relaxed);
        DiagnosticsContext {
            recorder: self.clone(),
            operation_id,
            started: Instant::now(),
            span: tracing::info_span!("unifier", op = operation, operation_id),
        }
    }

    /// Records one event and returns its id.
    pub fn record(
        &self,
        operation_id: u64,
        status: Status,
        duration: Duration,
        message: impl Into<String>,
        detail: impl Into<EventDetail>,
    ) -> u64 {
        let detail = detail.into();
        let kind = detail.kind();
        let mut event = Event {
            schema_version: kind.schema_version(),
            event_id: 0,
            operation_id,
            session_id: self.inner.session_id.clone(),
            ts_us: now_us(),
            status,
            duration_us: micros(duration),
            message: message.into(),
            detail,
        };
        trace(&event);
        // Under the buffer lock: the id and the push (buffer order is id order). The JSON
        // line is made and written after it is released, so serialisation and file IO
        // never hold up other threads' recording; the file may hold lines slightly out
        // of id order, which history reading sorts.
        let (id, to_write) = {
            let mut buffer = lock(&self.inner.buffer);
            event.event_id = buffer.next_event;
            buffer.next_event += 1;
            let to_write = self.inner.sink.is_some().then(|| event.clone());
            (self.push(&mut buffer, event), to_write)
        };
        if let (Some(sink), Some(event)) = (&self.inner.sink, to_write) {
            // One reused buffer per thread: no allocation per line.
            let written = LINE.with_borrow_mut(|line| {
                line.clear();
                match serde_json::to_writer(&mut *line, &event) {
                    Ok(()) => lock(sink).write_line(line),
                    Err(e) => Err(Error::Io {
                        path: lock(sink).path().to_owned(),
                        source: e.into(),
                    }),
                }
            });
            if let Err(error) = written {
                self.inner.sink_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "diagnostics sink write failed");
            }
        }
        id
    }

    fn push(&self, buffer: &mut Buffer, event: Event) -> u64 {
        let id = event.event_id;
        if buffer.events.len() >= self.inner.capacity {
            buffer.events.pop_front();
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
        buffer.events.push_back(event);
        self.inner.recorded.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// Writes buffered lines of the JSON-lines file to disk.
    pub fn flush(&self) -> Result<()> {
        match &self.inner.sink {
            Some(sink) => lock(sink).flush(),
            None => Ok(()),
        }
    }

    /// The recorder's counters.
    pub fn stats(&self) -> RecorderStats {
        let buffer = self.with_history();
        let (history_loaded, history_skipped) = match buffer.history {
            HistoryState::Loaded { kept, skipped } => (kept, skipped),
            HistoryState::None | HistoryState::Pending => (0, 0),
        };
        RecorderStats {
            capacity: self.inner.capacity as u64,
            buffered: buffer.events.len() as u64,
            recorded: self.inner.recorded.load(Ordering::Relaxed),
            dropped: self.inner.dropped.load(Ordering::Relaxed),
            history_loaded,
            history_skipped,
            sink_errors: self.inner.sink_errors.load(Ordering::Relaxed),
        }
    }

    /// The buffer, with the history of earlier sessions read into it first if it was not
    /// yet: their events go before this session's, the oldest beyond the capacity left
    /// out. A history that cannot be read counts as skipped and is not retried.
    fn with_history(&self) -> MutexGuard<'_, Buffer> {
        let mut buffer = lock(&self.inner.buffer);
        if buffer.history != HistoryState::Pending {
            return buffer;
        }
        let Some(dir) = &self.inner.history_dir else {
            buffer.history = HistoryState::None;
            return buffer;
        };
        let (events, skipped) = match read_history(dir) {
            Ok(history) => (history.events, history.skipped),
            Err(error) => {
                tracing::warn!(%error, "diagnostics history cannot be read");
                (Vec::new(), 1)
            }
        };
        // This session's own file is in the directory too: its events are buffered.
        let earlier: Vec<Event> = events
            .into_iter()
            .filter(|e| e.session_id != self.inner.session_id)
            .collect();
        let room = self.inner.capacity.saturating_sub(buffer.events.len());
        let kept = earlier.len().min(room);
        let mut merged: VecDeque<Event> = earlier.into_iter().rev().take(kept).collect();
        merged.make_contiguous().reverse();
        merged.extend(buffer.events.drain(..));
        buffer.events = merged;
        buffer.history = HistoryState::Loaded {
            kept: kept as u64,
            skipped,
        };
        buffer
    }

    /// A copy of the buffered events (with the history of earlier sessions, when on),
    /// oldest first; only `kind` when given.
    pub fn events(&self, kind: Option<EventKind>) -> Vec<Event> {
        self.with_history()
            .events
            .iter()
            .filter(|e| kind.is_none_or(|k| e.kind() == k))
            .cloned()
            .collect()
    }

    /// The buffered events (with the history of earlier sessions, when on) as the
    /// record batches of `diagnostics.<kind>`, or of
    /// `diagnostics.events` (common columns only) when `kind` is `None`.
    pub fn record_batches(
        &self,
        kind: Option<EventKind>,
        batch_size: usize,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let table = kind.map_or(EVENTS_TABLE, EventKind::name);
        let arrow = |source| Error::Arrow {
            table: table.to_owned(),
            source,
        };
        let mut writer = BatchWriter::new(kind, batch_size);
        {
            let buffer = self.with_history();
            for event in &buffer.events {
                writer.push(event).map_err(arrow)?;
            }
        }
        writer.finish().map_err(arrow)
    }

    /// The one-row batch of `diagnostics.recorder`: session, capacity and counters.
    pub fn stats_batch(&self) -> Result<RecordBatch> {
        let stats = self.stats();
        let column = |v: u64| Arc::new(UInt64Array::from(vec![v])) as _;
        RecordBatch::try_new(
            recorder_schema(),
            vec![
                Arc::new(StringArray::from(vec![self.session_id()])),
                column(stats.capacity),
                column(stats.buffered),
                column(stats.recorded),
                column(stats.dropped),
                column(stats.history_loaded),
                column(stats.history_skipped),
                column(stats.sink_errors),
            ],
        )
        .map_err(|source| Error::Arrow {
            table: "recorder".into(),
            source,
        })
    }
}

fn trace(event: &Event) {
    let kind = event.kind().name();
    let (op, status, duration_us, message) = (
        event.operation_id,
        event.status.as_str(),
        event.duration_us,
        event.message.as_str(),
    );
    match event.status {
        Status::Ok => tracing::info!(
            target: "unifier::diagnostics",
            kind, operation_id = op, status, duration_us, message
        ),
        Status::Denied => tracing::warn!(
            target: "unifier::diagnostics",
            kind, operation_id = op, status, duration_us, message
        ),
        Status::Error => tracing::error!(
            target: "unifier::diagnostics",
            kind, operation_id = op, status, duration_us, message
        ),
    }
}

/// The context of one operation: its id, its start time and its `tracing` span. Events
/// recorded through it carry its operation id; dropping it flushes the file sink.
#[derive(Debug)]
pub struct DiagnosticsContext {
    recorder: DiagnosticsRecorder,
    operation_id: u64,
    started: Instant,
    span: tracing::Span,
}

impl DiagnosticsContext {
    /// The operation id shared by this operation's events.
    pub fn operation_id(&self) -> u64 {
        self.operation_id
    }

    /// The recorder this context records into.
    pub fn recorder(&self) -> &DiagnosticsRecorder {
        &self.recorder
    }

    /// The operation's `tracing` span; instrument async work with it.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Time since the operation began.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records an event of this operation with an explicit duration.
    pub fn record(
        &self,
        status: Status,
        duration: Duration,
        message: impl Into<String>,
        detail: impl Into<EventDetail>,
    ) -> u64 {
        let _entered = self.span.enter();
        self.recorder
            .record(self.operation_id, status, duration, message, detail)
    }
}

impl Drop for DiagnosticsContext {
    fn drop(&mut self) {
        if let Err(error) = self.recorder.flush() {
            self.recorder
                .inner
                .sink_errors
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%error, "diagnostics sink flush failed");
        }
    }
}
