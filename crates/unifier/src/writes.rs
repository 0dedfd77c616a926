//! Writes through the facade: SQL `INSERT`/`DELETE`/`UPDATE` on Delta tables handed to
//! the write pipeline, and [`Unifier::write`] for API requests — all behind the gate.

use std::time::{Duration, Instant};

use datafusion::execution::SessionState;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{DmlStatement, Expr, LogicalPlan, WriteOp as DfWriteOp};
use unifier_io_adapter::{DatasetKind, WriteOp};
use unifier_write_pipeline::{
    CommitOutcome, WritePath, WriteRequest, WriteSource, WriteSummary, WriteTarget,
};

use crate::error::{Error, Result};
use crate::params::Params;
use crate::unifier::Unifier;

/// The source predicate and assignments of a single-table `DELETE` or `UPDATE` plan.
struct RowChange {
    predicate: Option<Expr>,
    assignments: Vec<(String, Expr)>,
}

/// Reads `Projection? → Filter? → (SubqueryAlias →)? TableScan` off a DML input.
fn row_change(sql: &str, input: &LogicalPlan) -> Result<RowChange> {
    let unsupported = || {
        Error::Unsupported {
        sql: sql.to_owned(),
        reason: "DELETE and UPDATE on Delta tables take one table and a WHERE clause (no FROM, joins or subqueries in the source)".into(),
    }
    };
    let mut assignments = Vec::new();
    let mut node = input;
    if let LogicalPlan::Projection(projection) = node {
        for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
            let inner = match expr {
                Expr::Alias(alias) => alias.expr.as_ref(),
                other => other,
            };
            let unchanged = matches!(inner, Expr::Column(c) if c.name == *field.name());
            if !unchanged {
                assignments.push((field.name().clone(), inner.clone()));
            }
        }
        node = projection.input.as_ref();
    }
    let mut predicate = None;
    if let LogicalPlan::Filter(filter) = node {
        predicate = Some(filter.predicate.clone());
        node = filter.input.as_ref();
    }
    if let LogicalPlan::SubqueryAlias(alias) = node {
        node = alias.input.as_ref();
    }
    match node {
        LogicalPlan::TableScan(_) => Ok(RowChange {
            predicate,
            assignments,
        }),
        _ => Err(unsupported()),
    }
}

impl Unifier {
    /// Whether a `Dml` node writes into a Delta dataset (and so goes to the pipeline).
    pub(crate) fn writes_delta(&self, dml: &DmlStatement) -> bool {
        self.io
            .dataset(&dml.table_name.to_string())
            .is_some_and(|d| d.kind == DatasetKind::Delta)
    }

    /// Runs a gated `INSERT`, `DELETE` or `UPDATE` on a Delta dataset through the write
    /// pipeline. The query timeout bounds it; when it fires, the event says whether the
    /// commit landed (a Delta commit is atomic).
    pub(crate) async fn write_delta(
        &self,
        state: &SessionState,
        plan: &LogicalPlan,
        dml: &DmlStatement,
        sql: &str,
    ) -> Result<WriteSummary> {
        let table = dml.table_name.to_string();
        let started = Instant::now();
        let run = async {
            match &dml.op {
                DfWriteOp::Insert(op @ (InsertOp::Append | InsertOp::Overwrite)) => {
                    self.writes
                        .insert(
                            state,
                            &table,
                            plan,
                            dml.input.as_ref().clone(),
                            *op == InsertOp::Overwrite,
                        )
                        .await
                }
                DfWriteOp::Delete => {
                    let change = row_change(sql, &dml.input).map_err(WriteFailure::Facade)?;
                    self.writes.delete(state, &table, change.predicate).await
                }
                DfWriteOp::Update => {
                    let change = row_change(sql, &dml.input).map_err(WriteFailure::Facade)?;
                    self.writes
                        .update(state, &table, change.predicate, change.assignments)
                        .await
                }
                other => {
                    return Err(WriteFailure::Facade(Error::Unsupported {
                        sql: sql.to_owned(),
                        reason: format!("{} is not supported on Delta tables", other.name()),
                    }));
                }
            }
            .map_err(WriteFailure::Pipeline)
        };
        let outcome = match self.profile.runtime.query_timeout_ms {
            Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), run).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    let op = crate::route::write_op(&dml.op).unwrap_or(WriteOp::Append);
                    let commit = self
                        .writes
                        .record_interrupted(&table, op, started.elapsed())
                        .await;
                    return Err(Error::WriteTimeout {
                        timeout_ms: ms,
                        sql: sql.to_owned(),
                        committed: commit == CommitOutcome::Committed,
                    });
                }
            },
            None => run.await,
        };
        outcome.map_err(|failure| match failure {
            WriteFailure::Facade(error) => error,
            WriteFailure::Pipeline(error) => Error::Write {
                sql: sql.to_owned(),
                source: Box::new(error),
            },
        })
    }

    /// A summary for a write into a non-Delta provider that accepts inserts (the
    /// insert plan's count is all DataFusion reports).
    pub(crate) fn provider_write_summary(
        &self,
        dml: &DmlStatement,
        rows: u64,
        duration: Duration,
    ) -> WriteSummary {
        let table = dml.table_name.to_string();
        WriteSummary {
            location: self.io.dataset(&table).and_then(|d| d.location),
            table,
            path: WritePath::Insert,
            path_reason: "the provider accepts inserts through DataFusion's insert plan".into(),
            op: crate::route::write_op(&dml.op).unwrap_or(WriteOp::Append),
            mode: None,
            rows,
            files_added: 0,
            files_removed: 0,
            bytes_added: 0,
            version_before: None,
            version_after: None,
            commit: CommitOutcome::Committed,
            duration,
        }
    }

    /// Writes rows into a Delta table from the API: the source as it is (a plan built
    /// by the caller, or a stream). The policy must allow `dml`, and a registered
    /// target must accept the operation.
    pub async fn write(&self, request: WriteRequest) -> Result<WriteSummary> {
        if !crate::unifier::allows_writes(&self.policy) {
            return Err(Error::WriteDenied {
                reason: "the policy does not allow the `dml` class (use the writer preset)".into(),
            });
        }
        // A caller-built source plan runs in this session: it must only read, or it
        // would be a write (or DDL) that no policy or write check saw.
        if let WriteSource::Plan(plan) = &request.source
            && let Some(what) = crate::route::first_non_read(plan)
        {
            return Err(Error::WriteDenied {
                reason: format!("the source plan must only read; it holds {what}"),
            });
        }
        // A missing table is the pipeline's to report (`not registered`, recorded).
        if let WriteTarget::Dataset(name) = &request.target
            && let Some(dataset) = self.io.dataset(name)
            && !dataset.capabilities.allows(request.mode.op())
        {
            return Err(Error::WriteDenied {
                reason: format!(
                    "table `{name}` does not accept {} through unifier",
                    request.mode.op()
                ),
            });
        }
        let state = self.io.session().state();
        self.writes
            .write(&state, request)
            .await
            .map_err(|source| Error::WriteRequest(Box::new(source)))
    }

    /// Writes the rows of a query (checked by the policy like any statement; it must be
    /// a query) into `target`.
    pub async fn write_sql(
        &self,
        sql: &str,
        request: impl FnOnce(WriteSource) -> WriteRequest,
    ) -> Result<WriteSummary> {
        let query = self
            .compile_query(sql, Params::None, "the source of a write")
            .await?;
        self.write(request(WriteSource::Plan(query.plan))).await
    }
}

/// A failure of [`Unifier::write_delta`], before it is wrapped with the SQL.
enum WriteFailure {
    Facade(Error),
    Pipeline(unifier_write_pipeline::Error),
}
