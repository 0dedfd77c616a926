//! `INSERT INTO` / `INSERT OVERWRITE` planned by DataFusion: through the provider's
//! insert when the table has nothing it would skip, else deltalake's streaming write.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::collect;
use deltalake::protocol::SaveMode;
use unifier_io_adapter::WriteOp;

use crate::commit::{Attempt, Outcome};
use crate::error::{Error, Result};
use crate::path::{PathChoice, insert_path};
use crate::pipeline::WritePipeline;
use crate::source::counted;
use crate::summary::{WritePath, WriteSummary};
use crate::target::{Target, delta_state};
use crate::violation::{classify, name_violation};

impl WritePipeline {
    /// The path a plain `INSERT INTO` / `INSERT OVERWRITE` of `table` takes: the
    /// provider's insert when the table has nothing the provider's sink would skip
    /// (check constraints, NOT NULL columns), otherwise deltalake's streaming write,
    /// which checks them.
    pub fn choose_insert_path(&self, table: &str) -> Result<PathChoice> {
        Ok(insert_path(&self.target(table)?))
    }

    /// Runs an `INSERT` planned by DataFusion through the path
    /// [`choose_insert_path`](Self::choose_insert_path) picks. `plan` is the whole `Dml`
    /// plan (run as is on the insert path); `input` is its source (streamed by the
    /// write operation on the streaming path).
    pub async fn insert(
        &self,
        state: &SessionState,
        table: &str,
        plan: &LogicalPlan,
        input: LogicalPlan,
        overwrite: bool,
    ) -> Result<WriteSummary> {
        let started = Instant::now();
        let op = if overwrite {
            WriteOp::Overwrite
        } else {
            WriteOp::Append
        };
        let target = self
            .target(table)
            .map_err(|e| self.refused(table, op, None, started, e))?;
        let choice = insert_path(&target);
        let path = choice.path;
        let attempt = Attempt::new(target, op, choice, started);
        let outcome = match path {
            WritePath::Insert => provider_insert(state, &attempt.target, plan).await,
            _ => {
                let save_mode = if overwrite {
                    SaveMode::Overwrite
                } else {
                    SaveMode::Append
                };
                streaming_insert(state, &attempt.target, plan, input, save_mode).await
            }
        };
        self.finish(attempt, outcome).await
    }
}

/// The `Dml` plan run as DataFusion planned it: the provider's insert.
async fn provider_insert(state: &SessionState, target: &Target, plan: &LogicalPlan) -> Outcome {
    let before = target.version();
    let run = async {
        let physical = state.create_physical_plan(plan).await?;
        collect(physical, Arc::new(TaskContext::from(state))).await
    };
    match run.await {
        Ok(batches) => {
            let rows = inserted_rows(&batches);
            let latest = target.latest_version().await;
            Ok((latest.filter(|v| Some(*v) != before), rows))
        }
        Err(source) => Err(Error::DataFusion {
            table: target.name.clone(),
            what: "the insert failed; nothing was committed",
            source: Box::new(source),
        }),
    }
}

/// The insert's source streamed into deltalake's write, which checks the table's rules.
async fn streaming_insert(
    state: &SessionState,
    target: &Target,
    plan: &LogicalPlan,
    input: LogicalPlan,
    save_mode: SaveMode,
) -> Outcome {
    let before = target.version();
    let (input, counter) = counted(state, input, &target.name).await?;
    let written = target
        .table
        .clone()
        .write(vec![])
        .with_input_plan(input)
        .with_session_state(delta_state(state))
        .with_save_mode(save_mode)
        .await;
    match written {
        Ok(table) => Ok((
            table.version().filter(|v| Some(*v) != before),
            Some(counter.load(Ordering::Acquire)),
        )),
        Err(e) => {
            let error = classify(&target.name, "write", e);
            Err(name_violation(error, state, plan_input(plan), target, None).await)
        }
    }
}

/// The count DataFusion's insert returns (one row, one `UInt64` column).
fn inserted_rows(batches: &[arrow::record_batch::RecordBatch]) -> Option<u64> {
    let column = batches.first()?.column(0);
    column
        .as_any()
        .downcast_ref::<arrow::array::UInt64Array>()
        .map(|a| a.value(0))
}

/// The source of an `INSERT` plan.
fn plan_input(plan: &LogicalPlan) -> Option<&LogicalPlan> {
    match plan {
        LogicalPlan::Dml(dml) => Some(dml.input.as_ref()),
        _ => None,
    }
}
