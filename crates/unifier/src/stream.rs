//! A result stream that records its `execute` event when it ends (or is dropped), and
//! ends with [`Error::Timeout`] when the profile's `query_timeout_ms` passes first.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::{RecordBatchStream, SendableRecordBatchStream};
use futures::{Future, Stream, StreamExt};
use unifier_diagnostics::{DiagnosticsContext, Status};

use crate::audit::{SqlText, record_error};
use crate::error::Error;
use crate::metrics::ScanMetrics;

/// The physical plan type, re-exported for callers that inspect metrics.
pub type PhysicalPlan = Arc<dyn datafusion::physical_plan::ExecutionPlan>;

/// What the stream needs to record its event.
pub(crate) struct Pending {
    pub(crate) diag: DiagnosticsContext,
    pub(crate) started: Instant,
    pub(crate) plan_hash: String,
    pub(crate) inputs: Vec<String>,
    pub(crate) sorts: bool,
    /// The profile's memory limit: an exhausted pool's error then says which setting.
    pub(crate) memory_limit_mb: Option<u64>,
    /// The profile's `query_timeout_ms`, counted from `started`.
    pub(crate) timeout_ms: Option<u64>,
    /// The canonical SQL (named by a timeout).
    pub(crate) sql: String,
    /// The statement's fingerprint (its `error` event's); `None` for a read of files.
    pub(crate) fingerprint: Option<String>,
    /// The statement as events show it (literals redacted); `None` for a read of files.
    pub(crate) text: Option<SqlText>,
}

/// When the stream must have ended.
struct Deadline {
    at: Instant,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timeout_ms: u64,
}

/// Rows of an executing query. The `execute` event (rows, batches, scan metrics) is
/// recorded when the stream is exhausted, fails, or is dropped early (status `error`,
/// "dropped after N rows").
///
/// The profile's `query_timeout_ms` covers the whole read, counted from the start of
/// execution, the reader's pace included: when it passes, the stream yields one error,
/// `DataFusionError::External` holding [`Error::Timeout`] (downcast it, or use
/// [`Error::from_stream`]), records an `error` event of kind `timeout`, and ends.
pub struct RecordedStream {
    inner: SendableRecordBatchStream,
    memory_limit_mb: Option<u64>,
    deadline: Option<Deadline>,
    timed_out: bool,
    physical: PhysicalPlan,
    rows: Arc<AtomicU64>,
    batches: u64,
    pending: Option<Box<Pending>>,
}

impl std::fmt::Debug for RecordedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedStream")
            .field("rows", &self.rows.load(Ordering::Relaxed))
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

impl RecordedStream {
    pub(crate) fn new(
        inner: SendableRecordBatchStream,
        physical: PhysicalPlan,
        pending: Pending,
    ) -> Self {
        let deadline = pending.timeout_ms.map(|ms| {
            let at = pending.started + Duration::from_millis(ms);
            Deadline {
                at,
                sleep: Box::pin(tokio::time::sleep_until(at.into())),
                timeout_ms: ms,
            }
        });
        Self {
            inner,
            memory_limit_mb: pending.memory_limit_mb,
            deadline,
            timed_out: false,
            physical,
            rows: Arc::new(AtomicU64::new(0)),
            batches: 0,
            pending: Some(Box::new(pending)),
        }
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Ends the stream at its deadline: the `execute` event, the `error` event, and the
    /// error to yield.
    fn time_out(&mut self, timeout_ms: u64) -> DataFusionError {
        self.timed_out = true;
        let sql = self
            .pending
            .as_ref()
            .map(|p| p.sql.clone())
            .unwrap_or_default();
        let error = Error::Timeout { timeout_ms, sql };
        let message = crate::error::error_chain(&error);
        if let Some(p) = &self.pending {
            record_error(
                &p.diag,
                "execute",
                &error,
                p.fingerprint.as_ref(),
                p.text.as_ref(),
            );
        }
        let message = match self.pending.as_ref().and_then(|p| p.text.as_ref()) {
            Some(text) => text.redact(&message),
            None => message,
        };
        self.finish(Status::Error, message);
        DataFusionError::External(Box::new(error))
    }

    fn finish(&mut self, status: Status, message: String) {
        let Some(p) = self.pending.take() else { return };
        let m = ScanMetrics::from_plan(self.physical.as_ref(), p.sorts);
        p.diag.record(
            status,
            p.started.elapsed(),
            message,
            m.execute_event(p.plan_hash, p.inputs, self.rows_read(), self.batches),
        );
    }
}

impl Stream for RecordedStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.timed_out {
            return Poll::Ready(None);
        }
        // Checked on every poll (a fast producer never waits) and woken by the timer
        // while the producer is pending (a slow one).
        if let Some(deadline) = &self.deadline
            && Instant::now() >= deadline.at
        {
            let timeout_ms = deadline.timeout_ms;
            return Poll::Ready(Some(Err(self.time_out(timeout_ms))));
        }
        let mut polled = self.inner.poll_next_unpin(cx);
        if polled.is_pending()
            && let Some(deadline) = self.deadline.as_mut()
            && deadline.sleep.as_mut().poll(cx).is_ready()
        {
            let timeout_ms = deadline.timeout_ms;
            return Poll::Ready(Some(Err(self.time_out(timeout_ms))));
        }
        // The pool ran out under the profile's limit: say which setting, as the
        // collecting path does (`Error::ResourcesExhausted`).
        if let (Poll::Ready(Some(Err(error))), Some(limit)) = (&mut polled, self.memory_limit_mb)
            && let DataFusionError::ResourcesExhausted(message) = error.find_root()
        {
            *error = DataFusionError::ResourcesExhausted(format!(
                "{message} (memory_limit_mb = {limit}); raise the limit or make the query smaller"
            ));
        }
        match &polled {
            Poll::Ready(Some(Ok(batch))) => {
                self.rows
                    .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                self.batches += 1;
            }
            Poll::Ready(Some(Err(error))) => {
                let message = error.to_string();
                self.finish(Status::Error, message);
            }
            Poll::Ready(None) => {
                let message = format!("{} rows", self.rows_read());
                self.finish(Status::Ok, message);
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl RecordBatchStream for RecordedStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

impl Drop for RecordedStream {
    fn drop(&mut self) {
        let message = format!("dropped after {} rows", self.rows_read());
        self.finish(Status::Error, message);
    }
}
