//! [`WritePipeline`]: chooses how a write happens, runs it, reads what the commit did,
//! refreshes the catalog and records the `write` event — for every outcome.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::Column;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{collect, execute_stream};
use deltalake::delta_datafusion::planner::DeltaPlanner;
use deltalake::kernel::engine::arrow_conversion::TryFromArrow as _;
use deltalake::kernel::transaction::{CommitProperties, TransactionError};
use deltalake::kernel::{Action, StructType};
use deltalake::operations::write::SchemaMode as DeltaSchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use futures::StreamExt;
use parquet::file::properties::WriterProperties;
use unifier_diagnostics::{ErrorEvent, Status, WriteEvent};
use unifier_io_adapter::{
    DatasetKind, DeltaSpec, IoAdapter, RegisterOptions, TableProviderMetadata,
};

use crate::error::{Error, Result};
use crate::request::{
    CommitOptions, SchemaMode, WriteMode, WriteRequest, WriteSource, WriteTarget, WriterOptions,
};
use crate::source::stream_plan;
use crate::summary::{CommitOutcome, WritePath, WriteSummary};

/// How a write will run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChoice {
    /// The path.
    pub path: WritePath,
    /// Why (recorded in the `write` event).
    pub reason: String,
}

/// Writes into Delta tables registered in an [`IoAdapter`] (or at a location).
#[derive(Debug, Clone)]
pub struct WritePipeline {
    io: IoAdapter,
}

/// [`WritePipeline::choose_insert_path`] for a resolved target.
fn insert_path(target: &Target) -> PathChoice {
    let metadata = target.metadata.as_ref().expect("resolved from the catalog");
    let constraints = metadata
        .delta
        .as_ref()
        .map(|d| d.constraints.clone())
        .unwrap_or_default();
    let not_null: Vec<&str> = metadata
        .schema
        .fields()
        .iter()
        .filter(|f| !f.is_nullable())
        .map(|f| f.name().as_str())
        .collect();
    if !constraints.is_empty() {
        PathChoice {
            path: WritePath::Streaming,
            reason: format!(
                "the table has check constraints ({}), which only deltalake's write enforces",
                constraints.join(", ")
            ),
        }
    } else if !not_null.is_empty() {
        PathChoice {
            path: WritePath::Streaming,
            reason: format!(
                "the table has NOT NULL columns ({}), which only deltalake's write enforces",
                not_null.join(", ")
            ),
        }
    } else {
        PathChoice {
            path: WritePath::Insert,
            reason: "the Delta provider inserts (append/overwrite) and the table has no constraints it would skip".into(),
        }
    }
}

/// `state` with deltalake's query planner, which plans the custom nodes its operations
/// build (metrics observers, change-feed capture); configuration, runtime (memory pool)
/// and object stores stay the session's.
fn delta_state(state: &SessionState) -> Arc<SessionState> {
    Arc::new(
        SessionStateBuilder::new_from_existing(state.clone())
            .with_query_planner(DeltaPlanner::new())
            .build(),
    )
}

/// A Delta dataset resolved for writing.
struct Target {
    name: String,
    location: String,
    table: DeltaTable,
    metadata: Option<TableProviderMetadata>,
}

impl Target {
    fn version(&self) -> Option<u64> {
        self.table.version()
    }
}

/// What the commit of one operation did, read back from the log.
#[derive(Debug, Default)]
struct CommitStats {
    files_added: u64,
    files_removed: u64,
    bytes_added: u64,
    rows_added: u64,
}

impl WritePipeline {
    /// A pipeline over the catalog `io`.
    pub fn new(io: IoAdapter) -> Self {
        Self { io }
    }

    /// The catalog.
    pub fn io(&self) -> &IoAdapter {
        &self.io
    }

    fn target(&self, name: &str) -> Result<Target> {
        let metadata = self
            .io
            .dataset(name)
            .ok_or_else(|| Error::NotRegistered { table: name.into() })?;
        if metadata.kind != DatasetKind::Delta {
            return Err(Error::NotWritable {
                table: name.into(),
                reason: format!("it is a {} dataset", metadata.kind.as_str()),
            });
        }
        if metadata.delta.as_ref().is_some_and(|d| d.pinned) {
            return Err(Error::NotWritable {
                table: name.into(),
                reason:
                    "it is registered at a pinned version or timestamp (time travel is read-only)"
                        .into(),
            });
        }
        let table = self
            .io
            .delta_table(name)
            .ok_or_else(|| Error::NotWritable {
                table: name.into(),
                reason: "no Delta table is loaded for it".into(),
            })?;
        Ok(Target {
            name: name.into(),
            location: metadata.location.clone().unwrap_or_default(),
            table,
            metadata: Some(metadata),
        })
    }

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
        let mode = if overwrite { "overwrite" } else { "append" };
        let target = self.target(table)?;
        let choice = insert_path(&target);
        let before = target.version();
        let outcome = match choice.path {
            WritePath::Insert => {
                let run = async {
                    let physical = state.create_physical_plan(plan).await?;
                    collect(physical, Arc::new(TaskContext::from(state))).await
                };
                match run.await {
                    Ok(batches) => {
                        let rows = inserted_rows(&batches);
                        let latest = target
                            .table
                            .log_store()
                            .get_latest_version(before.unwrap_or(0))
                            .await
                            .ok();
                        Ok((latest.filter(|v| Some(*v) != before), rows))
                    }
                    Err(source) => Err(Error::DataFusion {
                        table: table.into(),
                        what: "the insert failed; nothing was committed",
                        source: Box::new(source),
                    }),
                }
            }
            _ => {
                let save_mode = if overwrite {
                    SaveMode::Overwrite
                } else {
                    SaveMode::Append
                };
                let (input, counter) = counted(state, input, table).await?;
                let builder = target
                    .table
                    .clone()
                    .write(vec![])
                    .with_input_plan(input)
                    .with_session_state(delta_state(state))
                    .with_save_mode(save_mode);
                let outcome = builder
                    .await
                    .map(|t| (t.version(), Some(counter.load(Ordering::Acquire))))
                    .map_err(|e| classify(table, "write", e, &target));
                match outcome {
                    Err(error) => {
                        Err(name_violation(error, state, plan_input(plan), &target).await)
                    }
                    ok => ok,
                }
            }
        };
        self.finish(target, mode, &choice, before, started, outcome, None)
            .await
    }

    /// The start of a delete or update: the target, its version, the path and why.
    fn operation(
        &self,
        table: &str,
        verb: &str,
    ) -> Result<(Instant, Target, Option<u64>, PathChoice)> {
        let started = Instant::now();
        let target = self.target(table)?;
        let before = target.version();
        let choice = PathChoice {
            path: WritePath::Operation,
            reason: format!(
                "deltalake's {verb} rewrites the affected files and records the change feed"
            ),
        };
        Ok((started, target, before, choice))
    }

    /// Deletes the rows matching `predicate` (every row when `None`) with deltalake's
    /// delete, which records the change feed.
    pub async fn delete(
        &self,
        state: &SessionState,
        table: &str,
        predicate: Option<Expr>,
    ) -> Result<WriteSummary> {
        let (started, target, before, choice) = self.operation(table, "delete")?;
        let mut builder = target
            .table
            .clone()
            .delete()
            .with_session_state(delta_state(state));
        if let Some(predicate) = predicate {
            builder = builder.with_predicate(unqualify(predicate));
        }
        let outcome = builder
            .await
            .map(|(t, m)| {
                let rows = m.num_deleted_rows.map(|r| r as u64);
                (t.version().filter(|v| Some(*v) != before), rows)
            })
            .map_err(|e| classify(table, "delete", e, &target));
        self.finish(target, "delete", &choice, before, started, outcome, None)
            .await
    }

    /// Sets `assignments` on the rows matching `predicate` (every row when `None`) with
    /// deltalake's update, which records the change feed.
    pub async fn update(
        &self,
        state: &SessionState,
        table: &str,
        predicate: Option<Expr>,
        assignments: Vec<(String, Expr)>,
    ) -> Result<WriteSummary> {
        let (started, target, before, choice) = self.operation(table, "update")?;
        let mut builder = target
            .table
            .clone()
            .update()
            .with_session_state(delta_state(state));
        if let Some(predicate) = predicate {
            builder = builder.with_predicate(unqualify(predicate));
        }
        for (column, value) in assignments {
            builder = builder.with_update(column, unqualify(value));
        }
        let outcome = builder
            .await
            .map(|(t, m)| {
                (
                    t.version().filter(|v| Some(*v) != before),
                    Some(m.num_updated_rows as u64),
                )
            })
            .map_err(|e| classify(table, "update", e, &target));
        self.finish(target, "update", &choice, before, started, outcome, None)
            .await
    }

    /// Runs a [`WriteRequest`]: checks the schema contract, picks the path, writes,
    /// commits (idempotently when a transaction is given) and records the event.
    pub async fn write(&self, state: &SessionState, request: WriteRequest) -> Result<WriteSummary> {
        let started = Instant::now();
        let WriteRequest {
            target,
            source,
            mode,
            partition_by,
            schema_mode,
            writer,
            commit,
        } = request;
        let (target, declared, register_as) = match target {
            WriteTarget::Dataset(name) => (self.target(&name)?, None, None),
            WriteTarget::Location {
                location,
                schema,
                register_as,
            } => {
                let table = self
                    .open_or_create(&location, &schema, &partition_by)
                    .await?;
                let name = register_as.clone().unwrap_or_else(|| location.clone());
                (
                    Target {
                        name,
                        location,
                        table,
                        metadata: None,
                    },
                    Some(schema),
                    register_as,
                )
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
        let table_schema: SchemaRef = match (&declared, &target.metadata) {
            (Some(schema), _) => schema.clone(),
            (None, Some(m)) => m.schema.clone(),
            (None, None) => plan.schema().inner().clone(),
        };
        check_schema(
            &target.name,
            &table_schema,
            plan.schema().inner(),
            schema_mode,
        )?;
        let choice = PathChoice {
            path: WritePath::Streaming,
            reason: streaming_reason(&mode, schema_mode, &writer, &commit, &partition_by),
        };
        if existed && matches!(mode, WriteMode::ErrorIfExists) {
            return Err(Error::AlreadyExists {
                table: target.name.clone(),
                location: target.location.clone(),
            });
        }
        let noop = |reason: &str| PathChoice {
            path: WritePath::Streaming,
            reason: reason.into(),
        };
        if existed && matches!(mode, WriteMode::Ignore) {
            let choice = noop("mode ignore and the table exists: nothing written");
            return self
                .finish(
                    target,
                    mode.as_str(),
                    &choice,
                    before,
                    started,
                    Ok((None, Some(0))),
                    None,
                )
                .await;
        }
        if let Some(txn) = &commit.transaction {
            let done = match target.table.snapshot() {
                Ok(state) => state
                    .transaction_version(target.table.log_store().as_ref(), &txn.app_id)
                    .await
                    .ok()
                    .flatten(),
                Err(_) => None,
            };
            if done.is_some_and(|v| v >= txn.version) {
                let choice = noop(&format!(
                    "transaction `{}` version {} is already committed (the table records version {} for it): a retry, nothing written",
                    txn.app_id,
                    txn.version,
                    done.unwrap_or_default()
                ));
                return self
                    .finish(
                        target,
                        mode.as_str(),
                        &choice,
                        before,
                        started,
                        Ok((None, Some(0))),
                        Some(txn.app_id.clone()),
                    )
                    .await;
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
        if let WriteMode::ReplaceWhere(predicate) = &mode {
            builder = builder.with_replace_where(predicate.clone());
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
        let app_id = commit.transaction.as_ref().map(|t| t.app_id.clone());
        if !commit.is_default() {
            builder = builder.with_commit_properties(commit_properties(&commit));
        }
        let outcome = match builder.await {
            Ok(t) => Ok((
                t.version().filter(|v| Some(*v) != before),
                Some(counter.load(Ordering::Acquire)),
            )),
            Err(e) => {
                let error = classify(&target.name, "write", e, &target);
                Err(name_violation(error, state, Some(&source_plan), &target).await)
            }
        };
        let summary = self
            .finish(
                target,
                mode.as_str(),
                &choice,
                before,
                started,
                outcome,
                app_id,
            )
            .await?;
        if let Some(name) = register_as {
            let spec = DeltaSpec::new(summary.location.clone().unwrap_or_default());
            self.io
                .register(&name, spec, RegisterOptions::replace())
                .await?;
        }
        Ok(summary)
    }

    /// Opens the table at `location`, creating it with `schema` when there is none.
    async fn open_or_create(
        &self,
        location: &str,
        schema: &SchemaRef,
        partition_by: &[String],
    ) -> Result<DeltaTable> {
        let delta_err = |operation, source| Error::Delta {
            table: location.into(),
            operation,
            source: Box::new(source),
        };
        std::fs::create_dir_all(location).ok();
        let url = deltalake::ensure_table_uri(location).map_err(|e| delta_err("create", e))?;
        let table = DeltaTable::try_from_url(url)
            .await
            .map_err(|e| delta_err("create", e))?;
        if table.version().is_some() {
            return Ok(table);
        }
        let columns = StructType::try_from_arrow(schema.as_ref())
            .map_err(|e| delta_err("create", DeltaTableError::from(e)))?;
        table
            .create()
            .with_columns(columns.fields().cloned())
            .with_partition_columns(partition_by.to_vec())
            .await
            .map_err(|e| delta_err("create", e))
    }

    /// Reads the commit back, refreshes the catalog, records the event.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        target: Target,
        mode: &str,
        choice: &PathChoice,
        before: Option<u64>,
        started: Instant,
        outcome: Result<(Option<u64>, Option<u64>)>,
        app_id: Option<String>,
    ) -> Result<WriteSummary> {
        let diag = self.io.recorder().begin("write");
        let signed = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
        let (after, rows) = match outcome {
            Ok(x) => x,
            Err(error) => {
                let message = unifier_diagnostics::error_chain(&error);
                diag.record(
                    Status::Error,
                    started.elapsed(),
                    message.clone(),
                    WriteEvent {
                        table: target.name.clone(),
                        location: Some(target.location.clone()),
                        mode: mode.into(),
                        path: choice.path.as_str().into(),
                        path_reason: choice.reason.clone(),
                        version_before: signed(before),
                        commit: CommitOutcome::Failed.as_str().into(),
                        app_id,
                        ..Default::default()
                    },
                );
                diag.record(
                    Status::Error,
                    started.elapsed(),
                    message,
                    ErrorEvent {
                        operation: "write".into(),
                        error_kind: error.kind().into(),
                        sql_fingerprint: None,
                    },
                );
                return Err(error);
            }
        };
        let stats = match after {
            Some(version) => commit_stats(&target.table, version).await,
            None => CommitStats::default(),
        };
        if after.is_some() && target.metadata.is_some() {
            self.io.refresh(&target.name).await?;
        }
        let summary = WriteSummary {
            table: target.name.clone(),
            location: Some(target.location.clone()),
            path: choice.path,
            path_reason: choice.reason.clone(),
            mode: mode.into(),
            rows: rows.unwrap_or(stats.rows_added),
            files_added: stats.files_added,
            files_removed: stats.files_removed,
            bytes_added: stats.bytes_added,
            version_before: before,
            version_after: after,
            commit: if after.is_some() {
                CommitOutcome::Committed
            } else {
                CommitOutcome::Noop
            },
            duration: started.elapsed(),
        };
        diag.record(
            Status::Ok,
            summary.duration,
            match summary.version_after {
                Some(v) => format!(
                    "{mode} `{}`: {} row{}, version {v}",
                    summary.table,
                    summary.rows,
                    if summary.rows == 1 { "" } else { "s" }
                ),
                None => format!("{mode} `{}`: nothing committed", summary.table),
            },
            WriteEvent {
                table: summary.table.clone(),
                location: summary.location.clone(),
                mode: summary.mode.clone(),
                path: summary.path.as_str().into(),
                path_reason: summary.path_reason.clone(),
                rows: summary.rows,
                files_added: summary.files_added,
                files_removed: summary.files_removed,
                bytes_added: summary.bytes_added,
                version_before: signed(before),
                version_after: signed(after),
                commit: summary.commit.as_str().into(),
                app_id,
            },
        );
        Ok(summary)
    }

    /// Records a write cut by a timeout: whether the commit landed is read from the
    /// log (a Delta commit is atomic: it happened or it did not).
    pub async fn record_interrupted(
        &self,
        table: &str,
        mode: &str,
        elapsed: Duration,
    ) -> CommitOutcome {
        let Ok(target) = self.target(table) else {
            return CommitOutcome::Failed;
        };
        let before = target.version();
        let latest = target
            .table
            .log_store()
            .get_latest_version(before.unwrap_or(0))
            .await
            .ok();
        let committed = latest.is_some() && latest != before;
        let outcome = if committed {
            CommitOutcome::Committed
        } else {
            CommitOutcome::Failed
        };
        if committed {
            self.io.refresh(table).await.ok();
        }
        let signed = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
        self.io.recorder().begin("write").record(
            Status::Error,
            elapsed,
            format!(
                "{mode} into `{table}` interrupted by the timeout: {}",
                outcome.as_str()
            ),
            WriteEvent {
                table: table.into(),
                location: Some(target.location.clone()),
                mode: mode.into(),
                path: "unknown".into(),
                path_reason: "interrupted by the query timeout".into(),
                version_before: signed(before),
                version_after: if committed { signed(latest) } else { None },
                commit: outcome.as_str().into(),
                ..Default::default()
            },
        );
        outcome
    }
}

fn streaming_reason(
    mode: &WriteMode,
    schema_mode: SchemaMode,
    writer: &WriterOptions,
    commit: &CommitOptions,
    partition_by: &[String],
) -> String {
    let mut needs = Vec::new();
    if let WriteMode::ReplaceWhere(_) = mode {
        needs.push("replace-where");
    }
    if matches!(mode, WriteMode::ErrorIfExists | WriteMode::Ignore) {
        needs.push("an existence check");
    }
    if schema_mode == SchemaMode::Additive {
        needs.push("schema evolution");
    }
    if !writer.is_default() {
        needs.push("writer properties");
    }
    if commit.transaction.is_some() {
        needs.push("an idempotent transaction");
    }
    if !commit.metadata.is_empty() {
        needs.push("commit metadata");
    }
    if !partition_by.is_empty() {
        needs.push("partitioning");
    }
    if needs.is_empty() {
        "a write request streams into deltalake's write operation (the schema contract is checked before it)".into()
    } else {
        format!(
            "the request needs {}, which only deltalake's write does",
            needs.join(", ")
        )
    }
}

fn commit_properties(commit: &CommitOptions) -> CommitProperties {
    let mut properties = CommitProperties::default();
    if !commit.metadata.is_empty() {
        let metadata: HashMap<String, serde_json::Value> = commit
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        properties = properties.with_metadata(metadata);
    }
    if let Some(txn) = &commit.transaction {
        properties = properties.with_application_transaction(deltalake::kernel::Transaction::new(
            &txn.app_id,
            txn.version,
        ));
    }
    properties
}

/// Adds, removes, bytes and rows of the commit at `version`.
async fn commit_stats(table: &DeltaTable, version: u64) -> CommitStats {
    let mut stats = CommitStats::default();
    let log_store = table.log_store();
    let Ok(Some(bytes)) = log_store.read_commit_entry(version).await else {
        return stats;
    };
    let Ok(actions) = deltalake::logstore::get_actions(version, &bytes) else {
        return stats;
    };
    for action in actions {
        match action {
            Action::Add(add) => {
                stats.files_added += 1;
                stats.bytes_added += u64::try_from(add.size).unwrap_or(0);
                stats.rows_added += add
                    .stats
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                    .and_then(|v| v.get("numRecords").and_then(serde_json::Value::as_u64))
                    .unwrap_or(0);
            }
            Action::Remove(_) => stats.files_removed += 1,
            _ => {}
        }
    }
    stats
}

/// `plan` as a one-shot stream that counts the rows the writer pulls: the rows of a
/// write are the source's, whatever files the commit rewrites.
async fn counted(
    state: &SessionState,
    plan: LogicalPlan,
    table: &str,
) -> Result<(LogicalPlan, Arc<AtomicU64>)> {
    let df_err = |source| Error::DataFusion {
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

/// deltalake reports "rows failed validation" without naming the rule: find the first
/// check constraint (or NOT NULL column) that a source row breaks, reading the source
/// again only on this failure path and only up to the first offending row.
async fn name_violation(
    error: Error,
    state: &SessionState,
    source: Option<&LogicalPlan>,
    target: &Target,
) -> Error {
    let Error::ConstraintViolated {
        table,
        constraint,
        source: cause,
    } = error
    else {
        return error;
    };
    let (Some(plan), Some(metadata)) = (source, target.metadata.as_ref()) else {
        return Error::ConstraintViolated {
            table,
            constraint,
            source: cause,
        };
    };
    let mut rules: Vec<(String, String)> = metadata
        .delta
        .as_ref()
        .map(|d| d.constraints.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            let (name, expr) = c.split_once(": ")?;
            Some((
                format!("check constraint {name} ({expr})"),
                format!("({expr}) IS FALSE"),
            ))
        })
        .collect();
    rules.extend(
        metadata
            .schema
            .fields()
            .iter()
            .filter(|f| !f.is_nullable())
            .map(|f| {
                (
                    format!("NOT NULL column {}", f.name()),
                    format!("\"{}\" IS NULL", f.name()),
                )
            }),
    );
    for (rule, broken) in rules {
        let found = async {
            let predicate = state.create_logical_expr(&broken, plan.schema())?;
            let probe = LogicalPlanBuilder::from(plan.clone())
                .filter(predicate)?
                .limit(0, Some(1))?
                .build()?;
            let physical = state.create_physical_plan(&probe).await?;
            let batches = collect(physical, Arc::new(TaskContext::from(state))).await?;
            Ok::<_, datafusion::error::DataFusionError>(batches.iter().any(|b| b.num_rows() > 0))
        }
        .await;
        if found.unwrap_or(false) {
            return Error::ConstraintViolated {
                table,
                constraint: rule,
                source: cause,
            };
        }
    }
    Error::ConstraintViolated {
        table,
        constraint,
        source: cause,
    }
}

/// Maps deltalake's error to what the user did: a constraint, a conflict, or a failure.
fn classify(
    table: &str,
    operation: &'static str,
    error: DeltaTableError,
    target: &Target,
) -> Error {
    let text = error.to_string();
    let lower = text.to_lowercase();
    if lower.contains("invariant")
        || lower.contains("constraint")
        || lower.contains("failed validation")
        || lower.contains("non-nullable")
        || lower.contains("null values")
    {
        let constraints = target
            .metadata
            .as_ref()
            .and_then(|m| m.delta.as_ref())
            .map(|d| d.constraints.clone())
            .unwrap_or_default();
        let named = constraints
            .iter()
            .find(|c| {
                let name = c.split(':').next().unwrap_or_default();
                !name.is_empty() && text.contains(name)
            })
            .map(|c| format!("check constraint {c}"));
        let constraint = named.unwrap_or_else(|| {
            if lower.contains("null") {
                "a NOT NULL column".to_owned()
            } else {
                "a check constraint or NOT NULL column".to_owned()
            }
        });
        return Error::ConstraintViolated {
            table: table.into(),
            constraint,
            source: Box::new(error),
        };
    }
    if matches!(
        error,
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(_)
        }
    ) {
        return Error::Conflict {
            table: table.into(),
            source: Box::new(error),
        };
    }
    if let DeltaTableError::Transaction {
        source: TransactionError::MaxCommitAttempts(retries),
    } = &error
    {
        return Error::Contended {
            table: table.into(),
            attempts: i64::from(*retries) + 1,
            source: Box::new(error),
        };
    }
    Error::Delta {
        table: table.into(),
        operation,
        source: Box::new(error),
    }
}

/// Columns as deltalake's operations see them: unqualified.
fn unqualify(expr: Expr) -> Expr {
    expr.transform(|e| {
        Ok(match e {
            Expr::Column(c) if c.relation.is_some() => {
                Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))
            }
            other => Transformed::no(other),
        })
    })
    .map(|t| t.data)
    .expect("renaming columns never fails")
}

/// Checks `source` against the table's schema under `mode`; every difference is named.
pub(crate) fn check_schema(
    table: &str,
    expected: &SchemaRef,
    source: &SchemaRef,
    mode: SchemaMode,
) -> Result<()> {
    let mut differences = Vec::new();
    for field in expected.fields() {
        match source.field_with_name(field.name()) {
            Err(_) => differences.push(format!(
                "column `{}`: expected {}, found nothing",
                field.name(),
                field.data_type()
            )),
            Ok(found) if !same_type(found.data_type(), field.data_type()) => {
                differences.push(format!(
                    "column `{}`: expected {}, found {} (CAST it)",
                    field.name(),
                    field.data_type(),
                    found.data_type()
                ));
            }
            Ok(_) => {}
        }
    }
    for found in source.fields() {
        if expected.field_with_name(found.name()).is_err() {
            match mode {
                SchemaMode::Strict => differences.push(format!(
                    "column `{}`: not in the table (found {}); use schema mode additive to add it",
                    found.name(),
                    found.data_type()
                )),
                // Added as a nullable column: the rows already there have no value.
                SchemaMode::Additive => {}
            }
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaMismatch {
            table: table.into(),
            mode: match mode {
                SchemaMode::Strict => "strict",
                SchemaMode::Additive => "additive",
            },
            differences,
        })
    }
}

/// The same logical type: string and binary encodings (view, large) are one type.
fn same_type(a: &DataType, b: &DataType) -> bool {
    fn logical(t: &DataType) -> &DataType {
        match t {
            DataType::Utf8View | DataType::LargeUtf8 => &DataType::Utf8,
            DataType::BinaryView | DataType::LargeBinary => &DataType::Binary,
            other => other,
        }
    }
    logical(a) == logical(b)
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
