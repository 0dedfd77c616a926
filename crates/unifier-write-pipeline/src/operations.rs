//! `DELETE` and `UPDATE` through deltalake's operations, which rewrite the affected files
//! and record the change feed.

use std::time::Instant;

use datafusion::common::Column;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use unifier_io_adapter::WriteOp;

use crate::commit::Attempt;
use crate::error::Result;
use crate::path::operation_path;
use crate::pipeline::WritePipeline;
use crate::summary::WriteSummary;
use crate::target::delta_state;
use crate::violation::classify;

impl WritePipeline {
    /// The start of a delete or update: the target resolved (a failure recorded).
    fn operation(&self, table: &str, op: WriteOp) -> Result<Attempt> {
        let started = Instant::now();
        let target = self
            .target(table)
            .map_err(|e| self.refused(table, op, None, started, e))?;
        Ok(Attempt::new(
            target,
            op,
            operation_path(op.as_str()),
            started,
        ))
    }

    /// Deletes the rows matching `predicate` (every row when `None`) with deltalake's
    /// delete, which records the change feed.
    pub async fn delete(
        &self,
        state: &SessionState,
        table: &str,
        predicate: Option<Expr>,
    ) -> Result<WriteSummary> {
        let attempt = self.operation(table, WriteOp::Delete)?;
        let before = attempt.before;
        let mut builder = attempt
            .target
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
            .map_err(|e| classify(table, "delete", e));
        self.finish(attempt, outcome).await
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
        let attempt = self.operation(table, WriteOp::Update)?;
        let before = attempt.before;
        let mut builder = attempt
            .target
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
            .map_err(|e| classify(table, "update", e));
        self.finish(attempt, outcome).await
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
