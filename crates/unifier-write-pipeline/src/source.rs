//! A record-batch stream as a plan source: scanned once, batch by batch, never collected;
//! and a source counted as the writer pulls it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::{SendableRecordBatchStream, execute_stream};
use futures::StreamExt;

/// The stream, handed out to the first scan only.
struct OneShot {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShot").finish_non_exhaustive()
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().unwrap_or_else(|p| p.into_inner()).take();
        match taken {
            Some(stream) => stream,
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(DataFusionError::Execution(
                        "the source stream was already consumed: a stream source is read once"
                            .into(),
                    ))
                }),
            )),
        }
    }
}

/// A plan that scans `stream` once.
pub(crate) fn stream_plan(stream: SendableRecordBatchStream) -> Result<LogicalPlan> {
    let schema = stream.schema();
    let one_shot = Arc::new(OneShot {
        schema: schema.clone(),
        stream: Mutex::new(Some(stream)),
    });
    let table = StreamingTable::try_new(schema, vec![one_shot])?;
    LogicalPlanBuilder::scan("source", provider_as_source(Arc::new(table)), None)?.build()
}

/// `plan` as a one-shot stream that counts the rows the writer pulls: the rows of a
/// write are the source's, whatever files the commit rewrites.
pub(crate) async fn counted(
    state: &SessionState,
    plan: LogicalPlan,
    table: &str,
) -> crate::Result<(LogicalPlan, Arc<AtomicU64>)> {
    let df_err = |source| crate::Error::DataFusion {
        table: table.into(),
        what: "cannot plan the rows to write",
        source: Box::new(source),
    };
    let physical = state.create_physical_plan(&plan).await.map_err(df_err)?;
    let stream = execute_stream(physical, Arc::new(TaskContext::from(state))).map_err(df_err)?;
    let counter = Arc::new(AtomicU64::new(0));
    let seen = counter.clone();
    let schema = stream.schema();
    let counting = stream.map(move |batch| {
        if let Ok(batch) = &batch {
            seen.fetch_add(batch.num_rows() as u64, Ordering::AcqRel);
        }
        batch
    });
    let plan =
        stream_plan(Box::pin(RecordBatchStreamAdapter::new(schema, counting))).map_err(df_err)?;
    Ok((plan, counter))
}
