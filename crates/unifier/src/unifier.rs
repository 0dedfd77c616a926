//! [`Unifier`]: compile (policy → plan the same AST → verify) and execute.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use sha2::{Digest, Sha256};
use unifier_diagnostics::{
    CompileEvent, DiagnosticsContext, DiagnosticsRecorder, ErrorEvent, ExecuteEvent, PolicyEvent,
    Status,
};
use unifier_io_adapter::{IoAdapter, ListingSpec, RegisterOptions, TableProviderMetadata};
use unifier_policy::{Policy, PolicyReport, StatementClass, Verdict};

use crate::convert::to_datafusion;
use crate::error::{Error, Result};
use crate::metrics::ScanMetrics;
use crate::params::Params;
use crate::profile::UnifierProfile;
use crate::stream::{Pending, RecordedStream};

/// One governed entry point: a policy, a catalog (the IO adapter over one DataFusion
/// session), a diagnostics recorder and the runtime limits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Unifier {
    policy: Arc<Policy>,
    io: IoAdapter,
    profile: Arc<UnifierProfile>,
}

/// A statement that passed the gate and was planned.
#[derive(Debug, Clone)]
pub struct CompiledQuery {
    /// The session state the statement was planned with; execution reuses it, so the
    /// plan runs under the configuration it was compiled with (tables are shared).
    pub(crate) state: Arc<SessionState>,
    /// Operation id of the compile (its `policy` and `compile` events).
    pub operation_id: u64,
    /// The full policy report (verdict `allow`).
    pub report: PolicyReport,
    /// The canonical SQL of the statement.
    pub canonical_sql: String,
    /// The statement's fingerprint (`PolicyReport::ast_fingerprint`).
    pub fingerprint: String,
    /// The statement's classes.
    pub classes: BTreeSet<StatementClass>,
    /// The logical plan, parameters bound.
    pub plan: LogicalPlan,
    /// sha256 of the plan's indented display, first 16 hex digits.
    pub plan_hash: String,
    /// Registered datasets the plan reads.
    pub inputs: Vec<String>,
    /// Time spent in the policy gate.
    pub policy_time: Duration,
    /// Time spent planning and verifying.
    pub plan_time: Duration,
}

/// A statement the policy refused: nothing reached DataFusion.
#[derive(Debug, Clone)]
pub struct DeniedQuery {
    /// Operation id of the compile (its `policy` event).
    pub operation_id: u64,
    /// The report, verdict `deny` with its violations.
    pub report: PolicyReport,
}

/// The outcome of [`Unifier::compile`].
#[derive(Debug, Clone)]
pub enum Compiled {
    /// Allowed and planned; pass to [`Unifier::execute`].
    Allowed(Box<CompiledQuery>),
    /// Refused by the policy.
    Denied(Box<DeniedQuery>),
}

impl Compiled {
    /// The verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.report().verdict
    }

    /// The policy report.
    pub fn report(&self) -> &PolicyReport {
        match self {
            Compiled::Allowed(q) => &q.report,
            Compiled::Denied(d) => &d.report,
        }
    }

    /// The compiled query, when allowed.
    pub fn allowed(self) -> Option<CompiledQuery> {
        match self {
            Compiled::Allowed(q) => Some(*q),
            Compiled::Denied(_) => None,
        }
    }
}

/// Where a result came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// Operation id of the execution (its `execute` event).
    pub operation_id: u64,
    /// Operation id of the compile.
    pub compile_operation_id: u64,
    /// The verdict that let it run.
    pub verdict: Verdict,
    /// The statement's fingerprint.
    pub fingerprint: String,
    /// Hash of the plan that ran.
    pub plan_hash: String,
    /// Datasets read.
    pub inputs: Vec<String>,
    /// Gate, planning and execution times.
    pub policy_time: Duration,
    /// Planning and verification time.
    pub plan_time: Duration,
    /// Execution time.
    pub execute_time: Duration,
    /// Scan metrics of the physical plan.
    pub metrics: ScanMetrics,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// Target table.
    pub table: String,
    /// Rows written.
    pub rows: u64,
}

/// The one result envelope of [`Unifier::execute`].
#[derive(Debug)]
pub enum ExecutionResult {
    /// Rows, collected.
    Table {
        /// Result schema.
        schema: SchemaRef,
        /// The batches.
        batches: Vec<RecordBatch>,
        /// Where they came from.
        provenance: Box<Provenance>,
    },
    /// Rows as a stream (from [`Unifier::execute_stream`]); its `execute` event is
    /// recorded when the stream ends. The provenance's metrics are empty until then.
    Reader {
        /// Result schema.
        schema: SchemaRef,
        /// The rows.
        stream: RecordedStream,
        /// Where they come from.
        provenance: Box<Provenance>,
    },
    /// A write's summary.
    Write {
        /// What was written.
        summary: WriteSummary,
        /// Where it came from.
        provenance: Box<Provenance>,
    },
}

impl ExecutionResult {
    /// The provenance of any result.
    pub fn provenance(&self) -> &Provenance {
        match self {
            ExecutionResult::Table { provenance, .. }
            | ExecutionResult::Reader { provenance, .. }
            | ExecutionResult::Write { provenance, .. } => provenance,
        }
    }

    /// Rows returned (or written; read so far, for a reader).
    pub fn rows(&self) -> u64 {
        match self {
            ExecutionResult::Reader { stream, .. } => stream.rows_read(),
            ExecutionResult::Table { batches, .. } => {
                batches.iter().map(|b| b.num_rows() as u64).sum()
            }
            ExecutionResult::Write { summary, .. } => summary.rows,
        }
    }
}

fn hex16(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Names of the tables a plan scans (views not expanded).
fn plan_inputs(plan: &LogicalPlan) -> Vec<String> {
    let mut inputs = BTreeSet::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            inputs.insert(scan.table_name.to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok();
    inputs.into_iter().collect()
}

impl Unifier {
    /// A `Unifier` with its own session, recorder (and JSON-lines sink when the profile
    /// names a directory) built from `profile`.
    pub fn new(profile: UnifierProfile) -> Result<Self> {
        let mut recorder = DiagnosticsRecorder::builder()
            .with_capacity(profile.diagnostics.capacity)
            .with_history(profile.diagnostics.history);
        if let Some(dir) = &profile.diagnostics.dir {
            recorder = recorder.with_jsonl_dir(dir);
        }
        Self::with_recorder(profile, recorder.build()?)
    }

    /// A `Unifier` recording into an existing recorder.
    pub fn with_recorder(profile: UnifierProfile, recorder: DiagnosticsRecorder) -> Result<Self> {
        let policy = Policy::new(profile.policy.clone())?;
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(mb) = profile.runtime.memory_limit_mb {
            let bytes = usize::try_from(mb.saturating_mul(1024 * 1024))
                .map_err(|_| Error::Runtime(format!("memory_limit_mb = {mb} is too large")))?;
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
        }
        let runtime = runtime
            .build_arc()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        if profile.runtime.batch_size == 0 {
            return Err(Error::Runtime("batch_size must be at least 1".into()));
        }
        let config = profile
            .scan
            .apply(SessionConfig::new().with_batch_size(profile.runtime.batch_size));
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let io = IoAdapter::new(ctx, profile.scan, recorder)?;
        Ok(Self {
            policy: Arc::new(policy),
            io,
            profile: Arc::new(profile),
        })
    }

    /// The catalog (the only way to register).
    pub fn io(&self) -> &IoAdapter {
        &self.io
    }

    /// The recorder.
    pub fn recorder(&self) -> &DiagnosticsRecorder {
        self.io.recorder()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The profile.
    pub fn profile(&self) -> &UnifierProfile {
        &self.profile
    }

    /// Registers a listing table with the profile's sort policy.
    pub async fn register_listing(
        &self,
        name: &str,
        spec: ListingSpec,
        overwrite: bool,
    ) -> Result<TableProviderMetadata> {
        let options = RegisterOptions {
            overwrite,
            sort_policy: self.profile.runtime.sort_policy,
        };
        Ok(self.io.register_listing(name, spec, options).await?)
    }

    /// Registers a view from SQL: compiled through the gate like any statement (it must
    /// be a query), then registered through the catalog.
    pub async fn register_view(
        &self,
        name: &str,
        sql: &str,
        overwrite: bool,
    ) -> Result<TableProviderMetadata> {
        let compiled = self.compile(sql, Params::None).await?;
        let query = match compiled {
            Compiled::Allowed(q) if q.classes.iter().all(|c| *c == StatementClass::Query) => q,
            Compiled::Allowed(q) => {
                return Err(Error::Unsupported {
                    sql: q.canonical_sql,
                    reason: format!("view `{name}` must be a query"),
                });
            }
            Compiled::Denied(d) => {
                return Err(Error::Unsupported {
                    sql: d.report.canonical_sql.clone(),
                    reason: format!(
                        "view `{name}` is denied by the policy: {}",
                        denial_text(&d.report)
                    ),
                });
            }
        };
        let options = RegisterOptions {
            overwrite,
            sort_policy: self.profile.runtime.sort_policy,
        };
        Ok(self
            .io
            .register_view(name, query.plan, Some(query.canonical_sql), options)?)
    }

    /// Checks `sql` with the policy; when allowed, plans *the same AST* with DataFusion and
    /// verifies the plan with `SQLOptions` mirroring the policy. A refusal is
    /// `Ok(Compiled::Denied)`; nothing reaches DataFusion then.
    pub async fn compile(&self, sql: &str, params: Params) -> Result<Compiled> {
        let diag = self.recorder().begin("compile");
        let result = self.compile_in(&diag, sql, &params).await;
        if let Err(error) = &result {
            record_error(&diag, "compile", error, None);
        }
        result
    }

    async fn compile_in(
        &self,
        diag: &DiagnosticsContext,
        sql: &str,
        params: &Params,
    ) -> Result<Compiled> {
        let started = Instant::now();
        let profile = self.policy.profile();
        let report = match self.policy.check(sql) {
            Ok(report) => report,
            Err(error) => {
                diag.record(
                    Status::Error,
                    started.elapsed(),
                    error.to_string(),
                    PolicyEvent {
                        verdict: "error".into(),
                        dialect: profile.read_dialect.to_string(),
                        profile_fingerprint: self.policy.fingerprint().into(),
                        error_code: error.sql_errors().first().map(|e| e.code.as_str().into()),
                        ..Default::default()
                    },
                );
                return Err(error.into());
            }
        };
        let policy_time = started.elapsed();
        let denied = !report.verdict.is_allow();
        diag.record(
            if denied { Status::Denied } else { Status::Ok },
            policy_time,
            if denied {
                denial_text(&report)
            } else {
                "allow".into()
            },
            PolicyEvent {
                verdict: report.verdict.as_str().into(),
                codes: report
                    .verdict
                    .violations()
                    .iter()
                    .map(|v| v.code.as_str().into())
                    .collect(),
                classes: report.classes.iter().map(|c| c.name().into()).collect(),
                statements: report.statements.len() as u64,
                dialect: report.read_dialect.to_string(),
                sql_fingerprint: Some(report.ast_fingerprint.clone()),
                error_code: None,
                profile_fingerprint: report.policy_fingerprint.clone(),
            },
        );
        if denied {
            return Ok(Compiled::Denied(Box::new(DeniedQuery {
                operation_id: diag.operation_id(),
                report,
            })));
        }
        if report.statements.len() != 1 {
            return Err(Error::MultipleStatements {
                count: report.statements.len(),
            });
        }

        let plan_started = Instant::now();
        let checked = &report.statements[0];
        let canonical_sql = checked.canonical_sql.clone();
        let plan_err = |source: DataFusionError| Error::Plan {
            sql: canonical_sql.clone(),
            source: Box::new(source),
        };
        let statement = to_datafusion(&checked.statement).map_err(plan_err)?;
        let state = self.io.session().state();
        let mut plan = state.statement_to_plan(statement).await.map_err(plan_err)?;
        let allowed = &profile.allowed_classes;
        let options = SQLOptions::new()
            .with_allow_ddl(allowed.contains(&StatementClass::Ddl))
            .with_allow_dml(
                allowed.contains(&StatementClass::Dml) || allowed.contains(&StatementClass::Copy),
            )
            .with_allow_statements(
                [
                    StatementClass::Set,
                    StatementClass::Transaction,
                    StatementClass::Prepare,
                ]
                .iter()
                .any(|c| allowed.contains(c)),
            );
        options
            .verify_plan(&plan)
            .map_err(|source| Error::PlanRefused {
                sql: canonical_sql.clone(),
                source: Box::new(source),
            })?;
        if let Some(values) = params.to_param_values() {
            plan = plan.with_param_values(values).map_err(plan_err)?;
        }
        let inputs = plan_inputs(&plan);
        let plan_hash = hex16(&plan.display_indent().to_string());
        let plan_time = plan_started.elapsed();
        diag.record(
            Status::Ok,
            plan_time,
            format!("planned {}", plan.display()),
            CompileEvent {
                sql_fingerprint: checked.ast_fingerprint.clone(),
                plan_hash: plan_hash.clone(),
                class: checked
                    .classes
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(","),
                inputs: inputs.clone(),
                policy_us: micros(policy_time),
                plan_us: micros(plan_time),
                params: params.len() as u64,
            },
        );
        Ok(Compiled::Allowed(Box::new(CompiledQuery {
            state: Arc::new(state),
            operation_id: diag.operation_id(),
            fingerprint: checked.ast_fingerprint.clone(),
            classes: checked.classes.clone(),
            canonical_sql,
            report,
            plan,
            plan_hash,
            inputs,
            policy_time,
            plan_time,
        })))
    }

    /// Runs a compiled statement within the profile's limits and returns the envelope.
    pub async fn execute(&self, query: &CompiledQuery) -> Result<ExecutionResult> {
        self.execute_recorded(query).await.map(|(result, _)| result)
    }

    async fn execute_recorded(
        &self,
        query: &CompiledQuery,
    ) -> Result<(ExecutionResult, Option<PhysicalPlan>)> {
        let diag = self.recorder().begin("execute");
        let started = Instant::now();
        let outcome = self.execute_in(query).await;
        let execute_time = started.elapsed();
        match outcome {
            Ok((kind, metrics, physical)) => {
                let provenance = Box::new(Provenance {
                    operation_id: diag.operation_id(),
                    compile_operation_id: query.operation_id,
                    verdict: query.report.verdict.clone(),
                    fingerprint: query.fingerprint.clone(),
                    plan_hash: query.plan_hash.clone(),
                    inputs: query.inputs.clone(),
                    policy_time: query.policy_time,
                    plan_time: query.plan_time,
                    execute_time,
                    metrics,
                });
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
                    ExecuteEvent {
                        plan_hash: query.plan_hash.clone(),
                        inputs: query.inputs.clone(),
                        rows: result.rows(),
                        batches: match &result {
                            ExecutionResult::Table { batches, .. } => batches.len() as u64,
                            ExecutionResult::Reader { .. } | ExecutionResult::Write { .. } => 0,
                        },
                        files_scanned: m.files_scanned,
                        files_pruned: m.files_pruned,
                        row_groups_pruned: m.row_groups_pruned,
                        row_groups_matched: m.row_groups_matched,
                        bytes_scanned: m.bytes_scanned,
                        sort_elided: m.sort_elided,
                        sort_execs: m.sort_execs,
                    },
                );
                Ok((result, physical))
            }
            Err(error) => {
                record_error(&diag, "execute", &error, Some(&query.fingerprint));
                Err(error)
            }
        }
    }

    /// Runs a compiled query and returns its rows as a stream
    /// ([`ExecutionResult::Reader`]); statements that are not queries (DDL, writes,
    /// `SET`) run as with [`Unifier::execute`].
    pub async fn execute_stream(&self, query: &CompiledQuery) -> Result<ExecutionResult> {
        if matches!(
            query.plan,
            LogicalPlan::Ddl(_) | LogicalPlan::Dml(_) | LogicalPlan::Statement(_)
        ) {
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
                record_error(&diag, "execute", &error, Some(&query.fingerprint));
                return Err(error);
            }
        };
        let provenance = Box::new(Provenance {
            operation_id: diag.operation_id(),
            compile_operation_id: query.operation_id,
            verdict: query.report.verdict.clone(),
            fingerprint: query.fingerprint.clone(),
            plan_hash: query.plan_hash.clone(),
            inputs: query.inputs.clone(),
            policy_time: query.policy_time,
            plan_time: query.plan_time,
            execute_time: started.elapsed(),
            metrics: ScanMetrics::default(),
        });
        let schema = physical.schema();
        let pending = Pending {
            diag,
            started,
            plan_hash: query.plan_hash.clone(),
            inputs: query.inputs.clone(),
            sorts: plan_sorts(&query.plan),
        };
        Ok(ExecutionResult::Reader {
            schema,
            stream: RecordedStream::new(stream, physical, pending),
            provenance,
        })
    }

    /// The plans of a compiled statement: the optimized logical plan and the physical
    /// plan; with `analyze`, the statement runs (recorded like [`Unifier::execute`]) and
    /// the physical plan carries its metrics.
    pub async fn explain(&self, query: &CompiledQuery, analyze: bool) -> Result<Explained> {
        let sql = &query.canonical_sql;
        let exec_err = |source: DataFusionError| self.classify(sql, source);
        let state = &query.state;
        let optimized = state.optimize(&query.plan).map_err(exec_err)?;
        let datasets = query
            .inputs
            .iter()
            .filter_map(|name| self.io.dataset(name))
            .collect();
        let sorts = plan_sorts(&query.plan);
        let runs_as_query = !matches!(
            query.plan,
            LogicalPlan::Ddl(_)
                | LogicalPlan::Dml(_)
                | LogicalPlan::Statement(_)
                | LogicalPlan::Copy(_)
        );
        let (physical, result) = match (runs_as_query, analyze) {
            (false, true) => {
                return Err(Error::Unsupported {
                    sql: sql.clone(),
                    reason: "explain --analyze runs queries only; this statement changes state"
                        .into(),
                });
            }
            (false, false) => (None, None),
            (true, false) => (
                Some(
                    state
                        .create_physical_plan(&query.plan)
                        .await
                        .map_err(exec_err)?,
                ),
                None,
            ),
            (true, true) => {
                let (result, physical) = self.execute_recorded(query).await?;
                (physical, Some(result))
            }
        };
        let metrics = result.as_ref().map(|r| r.provenance().metrics).or_else(|| {
            physical
                .as_ref()
                .map(|p| ScanMetrics::from_plan(p.as_ref(), sorts))
        });
        Ok(Explained {
            logical_plan: optimized.display_indent().to_string(),
            physical_plan: physical.as_ref().map(|p| {
                let shown = if analyze {
                    DisplayableExecutionPlan::with_metrics(p.as_ref())
                } else {
                    DisplayableExecutionPlan::new(p.as_ref())
                };
                shown.indent(false).to_string()
            }),
            sorts,
            metrics,
            rows: result.as_ref().map(ExecutionResult::rows),
            datasets,
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
        match &query.plan {
            LogicalPlan::Ddl(ddl) => {
                return self
                    .run_ddl(sql, ddl)
                    .await
                    .map(|o| (o, ScanMetrics::default(), None));
            }
            LogicalPlan::Dml(dml) => {
                let table = dml.table_name.to_string();
                let supports = self.io.dataset(&table).is_some_and(|d| d.supports_insert);
                if !supports {
                    return Err(Error::WriteRefused { table });
                }
            }
            LogicalPlan::Statement(_) => {
                // SET / RESET and friends change the session; they passed the gate.
                let frame = self
                    .io
                    .session()
                    .execute_logical_plan(query.plan.clone())
                    .await
                    .map_err(exec_err)?;
                let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
                let batches = frame.collect().await.map_err(exec_err)?;
                return Ok((Outcome::Rows(schema, batches), ScanMetrics::default(), None));
            }
            _ => {}
        }
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
        let metrics = ScanMetrics::from_plan(physical.as_ref(), plan_sorts(&query.plan));
        let outcome = match &query.plan {
            LogicalPlan::Dml(dml) => Outcome::Write(WriteSummary {
                table: dml.table_name.to_string(),
                rows: count_rows(&batches),
            }),
            _ => Outcome::Rows(schema, batches),
        };
        Ok((outcome, metrics, Some(physical)))
    }

    async fn run_ddl(&self, sql: &str, ddl: &DdlStatement) -> Result<Outcome> {
        let empty = || Outcome::Rows(Arc::new(arrow::datatypes::Schema::empty()), vec![]);
        let options = |overwrite| RegisterOptions {
            overwrite,
            sort_policy: self.profile.runtime.sort_policy,
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
            other => Err(Error::Unsupported {
                sql: sql.to_owned(),
                reason: format!(
                    "{} goes through the catalog: register datasets with the IO adapter or the catalog manifest",
                    other.name()
                ),
            }),
        }
    }

    fn drop_table(&self, sql: &str, name: &str, if_exists: bool) -> Result<()> {
        if !self.io.deregister(name)? && !if_exists {
            return Err(Error::Unsupported {
                sql: sql.to_owned(),
                reason: format!("table `{name}` is not registered"),
            });
        }
        Ok(())
    }

    fn classify(&self, sql: &str, source: DataFusionError) -> Error {
        let exhausted = matches!(source.find_root(), DataFusionError::ResourcesExhausted(_));
        match (exhausted, self.profile.runtime.memory_limit_mb) {
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

enum Outcome {
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

/// Whether the logical plan sorts (an ORDER BY that a verified ordering may satisfy).
fn plan_sorts(plan: &LogicalPlan) -> bool {
    plan.exists(|node| Ok(matches!(node, LogicalPlan::Sort(_))))
        .unwrap_or(false)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn denial_text(report: &PolicyReport) -> String {
    report
        .verdict
        .violations()
        .iter()
        .map(|v| format!("{}: {}", v.code.as_str(), v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn record_error(
    diag: &DiagnosticsContext,
    operation: &str,
    error: &Error,
    fingerprint: Option<&String>,
) {
    diag.record(
        Status::Error,
        diag.elapsed(),
        error.to_string(),
        ErrorEvent {
            operation: operation.into(),
            error_kind: error.kind().into(),
            sql_fingerprint: fingerprint.cloned(),
        },
    );
}

/// What [`Unifier::explain`] shows.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The optimized logical plan, indented.
    pub logical_plan: String,
    /// The physical plan, indented (with metrics after `analyze`); `None` for
    /// statements that do not run as a query.
    pub physical_plan: Option<String>,
    /// Whether the statement sorts.
    pub sorts: bool,
    /// Scan metrics (from the run with `analyze`; without it only the sort counts).
    pub metrics: Option<ScanMetrics>,
    /// Rows returned, with `analyze`.
    pub rows: Option<u64>,
    /// Metadata of the datasets read: sort verification, pruning support.
    pub datasets: Vec<TableProviderMetadata>,
}

/// The physical plan type, re-exported for callers that inspect metrics.
pub type PhysicalPlan = Arc<dyn ExecutionPlan>;
