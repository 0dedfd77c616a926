//! The result types: a compiled or denied statement, the execution envelope, provenance.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;
use unifier_io_adapter::TableProviderMetadata;
use unifier_policy::{PolicyReport, StatementClass, Verdict};

use crate::metrics::ScanMetrics;
use crate::stream::RecordedStream;

/// A statement that passed the gate and was planned.
#[derive(Debug, Clone)]
pub struct CompiledQuery {
    /// The session state the statement was planned with; execution reuses it, so the
    /// plan runs under the configuration it was compiled with (tables are shared).
    pub(crate) state: Arc<SessionState>,
    /// Operation id of the compile (its `policy` and `compile` events).
    pub(crate) operation_id: u64,
    /// The full policy report (verdict `allow`).
    pub(crate) report: PolicyReport,
    /// The canonical SQL of the statement.
    pub(crate) canonical_sql: String,
    /// The statement's fingerprint (`PolicyReport::ast_fingerprint`).
    pub(crate) fingerprint: String,
    /// The statement's classes.
    pub(crate) classes: BTreeSet<StatementClass>,
    /// The logical plan, parameters bound.
    pub(crate) plan: LogicalPlan,
    /// What compile's walk of the plan found (its writes, whether it sorts).
    pub(crate) routing: crate::route::Routing,
    /// sha256 of the plan's indented display, first 16 hex digits.
    pub(crate) plan_hash: String,
    /// Registered datasets the plan reads.
    pub(crate) inputs: Vec<String>,
    /// Time spent in the policy gate.
    pub(crate) policy_time: Duration,
    /// Time spent planning and verifying.
    pub(crate) plan_time: Duration,
    /// The statement as events show it.
    pub(crate) text: crate::audit::SqlText,
}

impl CompiledQuery {
    /// Operation id of the compile (its `policy` and `compile` events).
    pub fn operation_id(&self) -> u64 {
        self.operation_id
    }

    /// The full policy report (verdict `allow`).
    pub fn report(&self) -> &PolicyReport {
        &self.report
    }

    /// The canonical SQL of the statement.
    pub fn canonical_sql(&self) -> &str {
        &self.canonical_sql
    }

    /// The statement's fingerprint (`PolicyReport::ast_fingerprint`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The statement's classes.
    pub fn classes(&self) -> &BTreeSet<StatementClass> {
        &self.classes
    }

    /// Whether the statement is a query and nothing else (its only class is `query`).
    pub fn is_query(&self) -> bool {
        self.classes.iter().all(|c| *c == StatementClass::Query)
    }

    /// The logical plan, indented (the plan itself stays inside: it holds the catalog's
    /// table providers, which would run writes outside the gate).
    pub fn plan_display(&self) -> String {
        self.plan.display_indent().to_string()
    }

    /// sha256 of the plan's indented display, first 16 hex digits.
    pub fn plan_hash(&self) -> &str {
        &self.plan_hash
    }

    /// Registered datasets the plan reads.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// Time spent in the policy gate.
    pub fn policy_time(&self) -> Duration {
        self.policy_time
    }

    /// Time spent planning and verifying.
    pub fn plan_time(&self) -> Duration {
        self.plan_time
    }
}

/// A statement the policy refused: nothing reached DataFusion.
#[derive(Debug, Clone)]
pub struct DeniedQuery {
    /// Operation id of the compile (its `policy` event).
    pub operation_id: u64,
    /// The report, verdict `deny` with its violations.
    pub report: PolicyReport,
}

/// The outcome of [`crate::Unifier::compile`].
#[derive(Debug, Clone)]
pub enum Compiled {
    /// Allowed and planned; pass to [`crate::Unifier::execute`].
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
    /// Time spent in the policy gate (planning and execution are the next two).
    pub policy_time: Duration,
    /// Planning and verification time.
    pub plan_time: Duration,
    /// Execution time.
    pub execute_time: Duration,
    /// Scan metrics of the physical plan.
    pub metrics: ScanMetrics,
}

impl Provenance {
    /// The provenance of an execution (`operation_id`) of `query`.
    pub(crate) fn new(
        query: &CompiledQuery,
        operation_id: u64,
        execute_time: Duration,
        metrics: ScanMetrics,
    ) -> Self {
        Self {
            operation_id,
            compile_operation_id: query.operation_id,
            verdict: query.report.verdict.clone(),
            fingerprint: query.fingerprint.clone(),
            plan_hash: query.plan_hash.clone(),
            inputs: query.inputs.clone(),
            policy_time: query.policy_time,
            plan_time: query.plan_time,
            execute_time,
            metrics,
        }
    }
}

pub use unifier_write_pipeline::WriteSummary;

/// The one result envelope of [`crate::Unifier::execute`].
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
    /// Rows as a stream (from [`crate::Unifier::execute_stream`]); its `execute` event is
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

/// What [`crate::Unifier::explain`] shows.
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
