//! "Is this a query or a write?" — answered here, once, for every plan.
//!
//! [`Routing::of`] walks the *whole* logical plan once, at compile (subqueries included;
//! `Explain`, `Analyze` and a resolved `EXECUTE` are ordinary nodes of that walk), and
//! keeps every `Dml` and `Copy` node in the compiled statement. [`check_writes`] holds
//! each `Dml` node against its target's capabilities before anything runs, so a write
//! cannot hide under a wrapper. [`route`] says how the top of a plan runs; compile,
//! execute and explain all ask it.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{DdlStatement, DmlStatement, LogicalPlan, WriteOp as DfWriteOp};
use unifier_io_adapter::{IoAdapter, WriteOp};

use crate::error::{Error, Result};

/// One node of a plan that writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteNode {
    /// A write into a registered table.
    Table {
        /// The target, as the plan names it.
        table: String,
        /// The operation, in the catalog's terms; `None` for operations unifier never
        /// runs through a plan (`CREATE TABLE AS`).
        op: Option<WriteOp>,
    },
    /// `COPY … TO` a location (gated by the policy's `copy` class and external access).
    Copy {
        /// The output location.
        location: String,
    },
}

/// The catalog's name for a DataFusion write operation.
pub(crate) fn write_op(op: &DfWriteOp) -> Option<WriteOp> {
    match op {
        DfWriteOp::Insert(InsertOp::Append) => Some(WriteOp::Append),
        DfWriteOp::Insert(InsertOp::Overwrite) => Some(WriteOp::Overwrite),
        // INSERT OR REPLACE is an upsert: the catalog calls that merge.
        DfWriteOp::Insert(InsertOp::Replace) | DfWriteOp::MergeInto(_) => Some(WriteOp::Merge),
        DfWriteOp::Delete | DfWriteOp::Truncate => Some(WriteOp::Delete),
        DfWriteOp::Update => Some(WriteOp::Update),
        // CREATE TABLE AS, and operations DataFusion adds later: never through a plan.
        _ => None,
    }
}

/// What the walk of a compiled plan found: its writes and whether it sorts.
#[derive(Debug, Clone)]
pub(crate) struct Routing {
    /// Every `Dml` and `Copy` node, wherever it sits.
    pub(crate) writes: Vec<WriteNode>,
    /// Whether the plan sorts (an ORDER BY that a verified ordering may satisfy).
    pub(crate) sorts: bool,
}

impl Routing {
    /// Walks `plan` (subqueries included).
    pub(crate) fn of(plan: &LogicalPlan) -> Self {
        Self {
            writes: write_nodes(plan),
            sorts: plan
                .exists(|node| Ok(matches!(node, LogicalPlan::Sort(_))))
                .unwrap_or(false),
        }
    }
}

/// Every `Dml` and `Copy` node of `plan`, wherever it sits.
fn write_nodes(plan: &LogicalPlan) -> Vec<WriteNode> {
    let mut found = Vec::new();
    plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::Dml(dml) => found.push(WriteNode::Table {
                table: dml.table_name.to_string(),
                op: write_op(&dml.op),
            }),
            LogicalPlan::Copy(copy) => found.push(WriteNode::Copy {
                location: copy.output_url.clone(),
            }),
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok();
    found
}

/// The first node of `plan` (subqueries included) that is not a read: a write, `COPY`,
/// DDL, a statement (`SET`, transactions, `PREPARE`/`EXECUTE`) or an extension node
/// unifier does not know; `None` for a plan that only reads.
pub(crate) fn first_non_read(plan: &LogicalPlan) -> Option<String> {
    let mut found = None;
    plan.apply_with_subqueries(|node| {
        let what = match node {
            LogicalPlan::Dml(dml) => Some(format!("a write into `{}`", dml.table_name)),
            LogicalPlan::Copy(copy) => Some(format!("COPY TO `{}`", copy.output_url)),
            LogicalPlan::Ddl(ddl) => Some(format!("DDL ({})", ddl.name())),
            LogicalPlan::Statement(statement) => {
                Some(format!("a statement ({})", statement.name()))
            }
            LogicalPlan::Extension(extension) => {
                Some(format!("an extension node ({})", extension.node.name()))
            }
            _ => None,
        };
        Ok(match what {
            Some(what) => {
                found = Some(what);
                TreeNodeRecursion::Stop
            }
            None => TreeNodeRecursion::Continue,
        })
    })
    .ok();
    found
}

/// Refuses the plan unless every table it writes (`writes`, its [`Routing`]) accepts
/// that operation.
pub(crate) fn check_writes(io: &IoAdapter, writes: &[WriteNode], sql: &str) -> Result<()> {
    for node in writes {
        let WriteNode::Table { table, op } = node else {
            continue;
        };
        let (table, op) = (table.clone(), *op);
        let metadata = io.dataset(&table);
        let allowed = match (&metadata, op) {
            (Some(m), Some(op)) => m.capabilities.allows(op),
            _ => false,
        };
        if !allowed {
            return Err(Error::WriteRefused {
                sql: sql.to_owned(),
                table,
                op: op.map_or_else(|| "create table as".to_owned(), |op| op.to_string()),
                accepted: match metadata {
                    Some(m) if m.capabilities.any() => m.capabilities.names().join(", "),
                    Some(_) => "none: it is read-only".to_owned(),
                    None => "none: it is not registered".to_owned(),
                },
            });
        }
    }
    Ok(())
}

/// Whether the plan is a plain `EXPLAIN` (not `ANALYZE`) of something that writes: its
/// physical plan must not be built, since building it can already change data.
pub(crate) fn explains_a_write(plan: &LogicalPlan, routing: &Routing) -> bool {
    matches!(plan, LogicalPlan::Explain(_)) && !routing.writes.is_empty()
}

/// How the top of a plan runs.
pub(crate) enum Route<'a> {
    /// Catalog DDL (`CREATE VIEW`, `DROP`), through the IO adapter.
    Ddl(&'a DdlStatement),
    /// A write into a registered table.
    Write(&'a DmlStatement),
    /// A session statement (`SET`, `RESET`, `PREPARE`, `DEALLOCATE`).
    Statement,
    /// `COPY … TO`: runs like a query (its count is the result) but writes files.
    Copy,
    /// Anything that returns rows (queries, `EXPLAIN`).
    Query,
}

impl Route<'_> {
    /// Whether the statement only returns rows (nothing it runs changes state).
    pub(crate) fn is_query(&self) -> bool {
        matches!(self, Route::Query)
    }
}

/// Routes the top node of `plan`.
pub(crate) fn route(plan: &LogicalPlan) -> Route<'_> {
    match plan {
        LogicalPlan::Ddl(ddl) => Route::Ddl(ddl),
        LogicalPlan::Dml(dml) => Route::Write(dml),
        LogicalPlan::Statement(_) => Route::Statement,
        LogicalPlan::Copy(_) => Route::Copy,
        _ => Route::Query,
    }
}

/// The Delta tables an `EXPLAIN ANALYZE` would write into: such a write runs through the
/// write pipeline (events, refreshed catalog), never under `ANALYZE`.
pub(crate) fn analyzed_delta_writes(
    io: &IoAdapter,
    plan: &LogicalPlan,
    routing: &Routing,
) -> Vec<String> {
    if !matches!(plan, LogicalPlan::Analyze(_))
        && !matches!(plan, LogicalPlan::Explain(e) if matches!(e.plan.as_ref(), LogicalPlan::Analyze(_)))
    {
        return Vec::new();
    }
    routing
        .writes
        .iter()
        .filter_map(|node| match node {
            WriteNode::Table { table, .. }
                if io
                    .dataset(table)
                    .is_some_and(|d| d.kind == unifier_io_adapter::DatasetKind::Delta) =>
            {
                Some(table.clone())
            }
            _ => None,
        })
        .collect()
}
