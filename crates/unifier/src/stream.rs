//! A result stream that records its `execute` event when it ends (or is dropped).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::{RecordBatchStream, SendableRecordBatchStream};
use futures::{Stream, StreamExt};
use unifier_diagnostics::{DiagnosticsContext, Status};

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
}

/// Rows of an executing query. The `execute` event (rows, batches, scan metrics) is
/// recorded when the stream is exhausted, fails, or is dropped early (status `error`,
/// "dropped after N rows"). No timeout applies: the reader sets the pace.
pub struct RecordedStream {
    inner: SendableRecordBatchStream,
    memory_limit_mb: Option<u64>,
    physical: PhysicalPlan,
    rows: Arc<AtomicU64>,
    batches: u64,
    pending: Option<Pending>,
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
        Self {
            inner,
            memory_limit_mb: pending.memory_limit_mb,
            physical,
            rows: Arc::new(AtomicU64::new(0)),
            batches: 0,
            pending: Some(pending),
        }
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
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
        let mut polled = self.inner.poll_next_unpin(cx);
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
