//! `execute` and `execute_stream`: run a compiled plan within the profile's limits,
//! routed by [`crate::route`]; the one result envelope.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement};
use datafusion::physical_plan::collect;
use unifier_diagnostics::{DiagnosticsContext, Status};
use unifier_io_adapter::{IfExists, WriteCapabilities};

use crate::audit::{denial_text, record_error};
use crate::error::{Error, Result};
use crate::metrics::ScanMetrics;
use crate::params::Params;
use crate::result::{Compiled, CompiledQuery, ExecutionResult, Provenance, WriteSummary};
use crate::route::{Route, check_writes, route};
use crate::stream::{Pending, PhysicalPlan, RecordedStream};
use crate::unifier::Unifier;

impl Unifier {
    /// Runs a compiled statement within the profile's limits and returns the envelope.
    pub async fn execute(&self, query: &CompiledQuery) -> Result<ExecutionResult> {
        self.execute_recorded(query).await.map(|(result, _)| result)
    }

    pub(crate) async fn execute_recorded(
        &self,
        query: &CompiledQuery,
    ) -> Result<(ExecutionResult, Option<PhysicalPlan>)> {
        let diag = self.recorder().begin("execute");
        let started = Instant::now();
        let outcome = self.execute_in(query).await;
        let execute_time = started.elapsed();
        match outcome {
            Ok((kind, metrics, physical)) => {
                let provenance = Box::new(Provenance::new(
                    query,
                    diag.operation_id(),
                    execute_time,
                    metrics,
                ));
                let result = match kind {
                    Outcome::Rows(schema, batches) => ExecutionResult::Table {
                        schema,
                        batches,
                        provenance,
                    },
                    Outcome::Write(summary) => ExecutionResult::Write {
                        summary,
                        provenance,
                    },
                };
                let m = &result.provenance().metrics;
                diag.record(
                    Status::Ok,
                    execute_time,
                    format!("{} rows", result.rows()),
                    m.execute_event(
                        query.plan_hash.clone(),
                        query.inputs.clone(),
                        result.rows(),
                        match &result {
                            ExecutionResult::Table { batches, .. } => batches.len() as u64,
                            ExecutionResult::Reader { .. } | ExecutionResult::Write { .. } => 0,
                        },
                    ),
                );
                Ok((result, physical))
            }
            Err(error) => {
                record_execute_error(&diag, query, &error);
                Err(error)
            }
        }
    }

    /// Runs a compiled query and returns its rows as a stream
    /// ([`ExecutionResult::Reader`]); statements that are not queries (DDL, writes,
    /// `SET`) run as with [`Unifier::execute`].
    pub async fn execute_stream(&self, query: &CompiledQuery) -> Result<ExecutionResult> {
        if !route(&query.plan).is_query() || !query.routing.writes.is_empty() {
            return self.execute(query).await;
        }
        let diag = self.recorder().begin("execute");
        let started = Instant::now();
        let sql = &query.canonical_sql;
        let opened = async {
            let physical = query.state.create_physical_plan(&query.plan).await?;
            let stream = datafusion::physical_plan::execute_stream(
                physical.clone(),
                Arc::new(TaskContext::from(query.state.as_ref())),
            )?;
            Ok::<_, DataFusionError>((physical, stream))
        }
        .await;
        let (physical, stream) = match opened {
            Ok(x) => x,
            Err(source) => {
                let error = self.classify(sql, source);
                record_execute_error(&diag, query, &error);
                return Err(error);
            }
        };
        let provenance = Box::new(Provenance::new(
            query,
            diag.operation_id(),
            started.elapsed(),
            ScanMetrics::default(),
        ));
        let schema = physical.schema();
        let pending = Pending {
            diag,
            started,
            plan_hash: query.plan_hash.clone(),
            inputs: query.inputs.clone(),
            sorts: query.routing.sorts,
            memory_limit_mb: self.memory_limit_mb,
            timeout_ms: self.profile.runtime.query_timeout_ms,
            sql: query.canonical_sql.clone(),
            fingerprint: Some(query.fingerprint.clone()),
            text: Some(query.text.clone()),
        };
        Ok(ExecutionResult::Reader {
            schema,
            stream: RecordedStream::new(stream, physical, pending),
            provenance,
        })
    }

    /// Compiles and executes; a denial becomes [`Error::Unsupported`] naming the
    /// violations (use [`Unifier::compile`] to get the verdict as data).
    pub async fn sql(&self, sql: &str, params: Params) -> Result<ExecutionResult> {
        match self.compile(sql, params).await? {
            Compiled::Allowed(query) => self.execute(&query).await,
            Compiled::Denied(denied) => Err(Error::Unsupported {
                sql: denied.report.canonical_sql.clone(),
                reason: format!("denied by the policy: {}", denial_text(&denied.report)),
            }),
        }
    }

    async fn execute_in(
        &self,
        query: &CompiledQuery,
    ) -> Result<(Outcome, ScanMetrics, Option<PhysicalPlan>)> {
        let sql = &query.canonical_sql;
        let exec_err = |source: DataFusionError| self.classify(sql, source);
        // Checked at compile too; the catalog may have changed since.
        check_writes(&self.io, &query.routing.writes, sql)?;
        match route(&query.plan) {
            Route::Ddl(ddl) => {
                return self
                    .run_ddl(sql, ddl)
                    .await
                    .map(|o| (o, ScanMetrics::default(), None));
            }
            Route::Statement => {
                let batches = match &query.plan {
                    LogicalPlan::Statement(Statement::Prepare(prepare)) => {
                        self.prepared.store(prepare).map_err(exec_err)?;
                        vec![]
                    }
                    LogicalPlan::Statement(Statement::Deallocate(d)) => {
                        self.prepared.remove(&d.name).map_err(exec_err)?;
                        vec![]
                    }
                    // SET / RESET and friends change the session; they passed the gate.
                    // (EXECUTE never gets here: compile resolved it to its plan.)
                    plan => self
                        .io
                        .session()
                        .execute_logical_plan(plan.clone())
                        .await
                        .map_err(exec_err)?
                        .collect()
                        .await
                        .map_err(exec_err)?,
                };
                let schema: SchemaRef = Arc::new(query.plan.schema().as_arrow().clone());
                return Ok((Outcome::Rows(schema, batches), ScanMetrics::default(), None));
            }
            Route::Write(dml) if self.writes_delta(dml) => {
                let summary = self
                    .write_delta(&query.state, &query.plan, dml, sql)
                    .await?;
                return Ok((Outcome::Write(summary), ScanMetrics::default(), None));
            }
            Route::Write(_) | Route::Copy | Route::Query => {}
        }
        let started = Instant::now();
        let physical = query
            .state
            .create_physical_plan(&query.plan)
            .await
            .map_err(exec_err)?;
        let schema = physical.schema();
        let task = Arc::new(TaskContext::from(query.state.as_ref()));
        let run = collect(physical.clone(), task);
        let batches = match self.profile.runtime.query_timeout_ms {
            Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), run).await {
                Ok(result) => result.map_err(exec_err)?,
                Err(_) => {
                    return Err(Error::Timeout {
                        timeout_ms: ms,
                        sql: sql.clone(),
                    });
                }
            },
            None => run.await.map_err(exec_err)?,
        };
        let metrics = ScanMetrics::from_plan(physical.as_ref(), query.routing.sorts);
        let outcome = match route(&query.plan) {
            Route::Write(dml) => Outcome::Write(self.provider_write_summary(
                dml,
                count_rows(&batches),
                started.elapsed(),
            )),
            _ => Outcome::Rows(schema, batches),
        };
        Ok((outcome, metrics, Some(physical)))
    }

    async fn run_ddl(&self, sql: &str, ddl: &DdlStatement) -> Result<Outcome> {
        let empty = || Outcome::Rows(Arc::new(arrow::datatypes::Schema::empty()), vec![]);
        let options = |replace: bool| {
            self.register_options(if replace {
                IfExists::Replace
            } else {
                IfExists::Fail
            })
        };
        match ddl {
            DdlStatement::CreateView(view) => {
                let name = view.name.to_string();
                let definition = view.definition.clone().or_else(|| Some(sql.to_owned()));
                self.io.register_view(
                    &name,
                    (*view.input).clone(),
                    definition,
                    options(view.or_replace),
                )?;
                Ok(empty())
            }
            DdlStatement::DropView(drop) => self
                .drop_table(sql, &drop.name.to_string(), drop.if_exists)
                .map(|()| empty()),
            DdlStatement::DropTable(drop) => self
                .drop_table(sql, &drop.name.to_string(), drop.if_exists)
                .map(|()| empty()),
            DdlStatement::CreateExternalTable(create) => {
                let capabilities = WriteCapabilities {
                    append: true,
                    ..WriteCapabilities::NONE
                };
                let flags = (create.if_not_exists, create.or_replace);
                self.adopt_created(sql, ddl, &create.name, flags, capabilities)
                    .await
                    .map(|()| empty())
            }
            DdlStatement::CreateMemoryTable(create) => {
                let capabilities = WriteCapabilities {
                    append: true,
                    overwrite: false,
                    delete: true,
                    update: true,
                    merge: false,
                };
                let flags = (create.if_not_exists, create.or_replace);
                self.adopt_created(sql, ddl, &create.name, flags, capabilities)
                    .await
                    .map(|()| empty())
            }
            other => Err(Error::Unsupported {
                sql: sql.to_owned(),
                reason: format!(
                    "{} goes through the catalog: register datasets with the IO adapter or the catalog manifest",
                    other.name()
                ),
            }),
        }
    }

    /// `CREATE [EXTERNAL] TABLE`, allowed by the policy: DataFusion builds the table
    /// (its factories, its schema and option handling), then the table is taken out of
    /// the session and registered through the catalog like any dataset — recorded, with
    /// the write operations it accepts through unifier (`capabilities`).
    async fn adopt_created(
        &self,
        sql: &str,
        ddl: &DdlStatement,
        name: &datafusion::common::TableReference,
        (if_not_exists, or_replace): (bool, bool),
        capabilities: WriteCapabilities,
    ) -> Result<()> {
        let shown = name.to_string();
        if if_not_exists && self.io.dataset(&shown).is_some() {
            return Ok(());
        }
        let failed = |source: DataFusionError| self.classify(sql, source);
        let ctx = self.io.session();
        if or_replace && self.io.dataset(&shown).is_some() {
            // DataFusion replaces in its own catalog; the catalog's entry goes with it.
            self.io.deregister(&shown)?;
        }
        ctx.execute_logical_plan(LogicalPlan::Ddl(ddl.clone()))
            .await
            .map_err(failed)?
            .collect()
            .await
            .map_err(failed)?;
        self.io
            .adopt_session_table(&shown, capabilities, self.register_options(IfExists::Fail))
            .await?;
        Ok(())
    }

    pub(crate) fn classify(&self, sql: &str, source: DataFusionError) -> Error {
        let exhausted = matches!(source.find_root(), DataFusionError::ResourcesExhausted(_));
        match (exhausted, self.memory_limit_mb) {
            (true, Some(limit_mb)) => Error::ResourcesExhausted {
                limit_mb,
                sql: sql.to_owned(),
                source: Box::new(source),
            },
            _ => Error::Execute {
                sql: sql.to_owned(),
                source: Box::new(source),
            },
        }
    }
}

pub(crate) enum Outcome {
    Rows(SchemaRef, Vec<RecordBatch>),
    Write(WriteSummary),
}

fn count_rows(batches: &[RecordBatch]) -> u64 {
    // DataFusion's insert returns one row with the count.
    batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
                .map(|a| a.value(0))
        })
        .unwrap_or(0)
}

/// An `error` event of a compiled statement's execution.
fn record_execute_error(diag: &DiagnosticsContext, query: &CompiledQuery, error: &Error) {
    record_error(
        diag,
        "execute",
        error,
        Some(&query.fingerprint),
        Some(&query.text),
    );
}
