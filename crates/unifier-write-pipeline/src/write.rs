//! [`WritePipeline::write`]: a [`WriteRequest`] streamed into deltalake's write, after the
//! schema contract and the existence and transaction checks.

use std::sync::atomic::Ordering;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use datafusion::common::Column;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use deltalake::operations::write::SchemaMode as DeltaSchemaMode;
use deltalake::protocol::SaveMode;
use parquet::file::properties::WriterProperties;
use unifier_io_adapter::contract::{self, NullCheck};
use unifier_io_adapter::{DeltaSpec, RegisterOptions, SchemaMode};

use crate::commit::{Attempt, Outcome, commit_properties};
use crate::error::{Error, Result};
use crate::path::{PathChoice, streaming_reason};
use crate::pipeline::WritePipeline;
use crate::request::{WriteMode, WriteRequest, WriteSource, WriteTarget};
use crate::source::{counted, stream_plan};
use crate::summary::{WritePath, WriteSummary};
use crate::target::{Target, delta_state, open_or_create};
use crate::violation::{classify, name_violation};

/// A write that ran (or was found to have nothing to do): its event is still to record.
struct Ran {
    attempt: Attempt,
    outcome: Outcome,
    register_as: Option<String>,
}

impl WritePipeline {
    /// Runs a [`WriteRequest`]: checks the schema contract, picks the path, writes,
    /// commits (idempotently when a transaction is given) and records the event — a
    /// failed `write` event and an `error` event when the write is refused or fails.
    pub async fn write(&self, state: &SessionState, request: WriteRequest) -> Result<WriteSummary> {
        let started = Instant::now();
        let name = request.target.name().to_owned();
        let mode = request.mode.clone();
        let ran = match self.run(state, request, started).await {
            Ok(ran) => ran,
            Err(error) => return Err(self.refused(&name, mode.op(), Some(&mode), started, error)),
        };
        let summary = self.finish(ran.attempt, ran.outcome).await?;
        if let Some(name) = ran.register_as {
            let spec = DeltaSpec::new(summary.location.clone().unwrap_or_default());
            self.io()
                .register(&name, spec, RegisterOptions::replace())
                .await?;
        }
        Ok(summary)
    }

    /// Everything of [`write`](Self::write) up to the event; an error here is a refusal.
    async fn run(
        &self,
        state: &SessionState,
        request: WriteRequest,
        started: Instant,
    ) -> Result<Ran> {
        let WriteRequest {
            target,
            source,
            mode,
            partition_by,
            schema_mode,
            writer,
            commit,
        } = request;
        let name = target.name().to_owned();
        let (target, declared, register_as) = match target {
            WriteTarget::Dataset(name) => (self.target(&name)?, None, None),
            WriteTarget::Location {
                location,
                schema,
                register_as,
            } => {
                let table = open_or_create(&location, &schema, &partition_by).await?;
                let target = Target {
                    name,
                    location,
                    table,
                    metadata: None,
                };
                (target, Some(schema), register_as)
            }
        };
        let before = target.version();
        let existed = before.is_some_and(|v| v > 0) || declared.is_none();
        let plan = match source {
            WriteSource::Plan(plan) => plan,
            WriteSource::Stream(stream) => {
                stream_plan(stream).map_err(|source| Error::DataFusion {
                    table: target.name.clone(),
                    what: "cannot read the source stream",
                    source: Box::new(source),
                })?
            }
        };
        let table_schema: SchemaRef = match &declared {
            Some(schema) => schema.clone(),
            None => target
                .schema()
                .unwrap_or_else(|| plan.schema().inner().clone()),
        };
        let differences = contract::differences(
            &table_schema,
            plan.schema().inner(),
            schema_mode,
            NullCheck::Rows,
        );
        if !differences.is_empty() {
            return Err(Error::SchemaMismatch {
                table: target.name.clone(),
                mode: schema_mode,
                differences,
            });
        }
        if existed && matches!(mode, WriteMode::ErrorIfExists) {
            return Err(Error::AlreadyExists {
                table: target.name.clone(),
                location: target.location.clone(),
            });
        }
        let op = mode.op();
        let app_id = commit.transaction.as_ref().map(|t| t.app_id.clone());
        let attempt = |target: Target, choice: PathChoice| Attempt {
            mode: Some(mode.clone()),
            app_id: app_id.clone(),
            ..Attempt::new(target, op, choice, started)
        };
        let noop = |target: Target, reason: String| Ran {
            attempt: attempt(target, PathChoice::new(WritePath::Streaming, reason)),
            outcome: Ok((None, Some(0))),
            register_as: None,
        };
        if existed && matches!(mode, WriteMode::Ignore) {
            let reason = "mode ignore and the table exists: nothing written".into();
            return Ok(noop(target, reason));
        }
        if let Some(txn) = &commit.transaction {
            let done = match target.table.snapshot() {
                Ok(snapshot) => snapshot
                    .transaction_version(target.table.log_store().as_ref(), &txn.app_id)
                    .await
                    .ok()
                    .flatten(),
                Err(_) => None,
            };
            if let Some(done) = done.filter(|v| *v >= txn.version) {
                let reason = format!(
                    "transaction `{}` version {} is already committed (the table records version {done} for it): a retry, nothing written",
                    txn.app_id, txn.version
                );
                return Ok(noop(target, reason));
            }
        }
        let plan = match &declared {
            Some(schema) => conform(plan, schema).map_err(|source| Error::DataFusion {
                table: target.name.clone(),
                what: "cannot cast the rows to the declared schema",
                source: Box::new(source),
            })?,
            None => plan,
        };
        let source_plan = plan.clone();
        let (plan, counter) = counted(state, plan, &target.name).await?;
        let mut builder = target
            .table
            .clone()
            .write(vec![])
            .with_input_plan(plan)
            .with_session_state(delta_state(state))
            .with_save_mode(match &mode {
                WriteMode::Append | WriteMode::Ignore | WriteMode::ErrorIfExists => {
                    SaveMode::Append
                }
                WriteMode::Overwrite | WriteMode::ReplaceWhere(_) => SaveMode::Overwrite,
            });
        let replace_where = match &mode {
            WriteMode::ReplaceWhere(predicate) => Some(predicate.as_str()),
            _ => None,
        };
        if let Some(predicate) = replace_where {
            builder = builder.with_replace_where(predicate.to_owned());
        }
        if !partition_by.is_empty() {
            builder = builder.with_partition_columns(partition_by.clone());
        }
        if schema_mode == SchemaMode::Additive {
            builder = builder.with_schema_mode(DeltaSchemaMode::Merge);
        }
        if let Some(size) = writer.target_file_size.and_then(std::num::NonZeroU64::new) {
            builder = builder.with_target_file_size(Some(size));
        }
        if let Some(compression) = writer.compression {
            builder = builder.with_writer_properties(
                WriterProperties::builder()
                    .set_compression(compression)
                    .build(),
            );
        }
        if !commit.is_default() {
            builder = builder.with_commit_properties(commit_properties(&commit));
        }
        let outcome = match builder.await {
            Ok(t) => Ok((
                t.version().filter(|v| Some(*v) != before),
                Some(counter.load(Ordering::Acquire)),
            )),
            Err(e) => {
                let error = classify(&target.name, "write", e);
                Err(name_violation(error, state, Some(&source_plan), &target, replace_where).await)
            }
        };
        let choice = PathChoice::new(
            WritePath::Streaming,
            streaming_reason(&mode, schema_mode, &writer, &commit, &partition_by),
        );
        Ok(Ran {
            attempt: attempt(target, choice),
            outcome,
            register_as,
        })
    }
}

/// Projects `plan` onto the declared columns, in the declared order.
fn conform(plan: LogicalPlan, schema: &SchemaRef) -> datafusion::error::Result<LogicalPlan> {
    let exprs: Vec<Expr> = schema
        .fields()
        .iter()
        .map(|f| Expr::Column(Column::new_unqualified(f.name())).alias(f.name()))
        .collect();
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}
