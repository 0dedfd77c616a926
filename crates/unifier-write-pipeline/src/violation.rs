//! deltalake's errors as what the user did: rows that break a rule (a check constraint,
//! a NOT NULL column, the replace-where predicate), a concurrent commit, or a failure.
//!
//! deltalake 1.1.3 reports every row-validation failure as one error, "N rows failed
//! validation check" with a preview of the rows — including its internal
//! `__delta_rs_*` columns — and without naming the rule; and its write operation turns
//! errors raised inside the source stream into [`DeltaTableError::Generic`] text. So a
//! validation failure is recognised by its typed variant when it arrives typed, and by
//! deltalake's own message otherwise; [`name_violation`] then finds the rule by probing
//! the source, and the preview never reaches the user.

use std::sync::Arc;

use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::collect;
use deltalake::DeltaTableError;
use deltalake::kernel::transaction::TransactionError;

use crate::error::Error;
use crate::target::Target;

/// deltalake's message for rows that failed its validation (check constraints, NOT
/// NULL columns, the replace-where predicate).
const VALIDATION_FAILED: &str = "failed validation check";

/// arrow's message for a NULL in a non-nullable column.
const NULL_IN_NON_NULLABLE: &str = "declared as non-nullable but contains null values";

/// The first line of deltalake's validation message ("Invalid data found: 2 rows failed
/// validation check."), without the preview of the rows.
fn validation_summary(error: &DeltaTableError) -> Option<String> {
    let text = match error {
        DeltaTableError::InvalidData { message } | DeltaTableError::Generic(message) => message,
        DeltaTableError::Arrow { source } => &source.to_string(),
        _ => return None,
    };
    let line = text
        .lines()
        .find(|l| l.contains(VALIDATION_FAILED) || l.contains(NULL_IN_NON_NULLABLE))?;
    let line = line.trim();
    Some(
        line.strip_prefix("External error: ")
            .unwrap_or(line)
            .to_owned(),
    )
}

/// Maps deltalake's error to what the user did: a rule broken, a conflict, or a failure.
pub(crate) fn classify(table: &str, operation: &'static str, error: DeltaTableError) -> Error {
    if let Some(summary) = validation_summary(&error) {
        return Error::ConstraintViolated {
            table: table.into(),
            constraint: "a check constraint or NOT NULL column".into(),
            source: Box::new(DeltaTableError::InvalidData { message: summary }),
        };
    }
    match error {
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(_),
        } => Error::Conflict {
            table: table.into(),
            source: Box::new(error),
        },
        DeltaTableError::Transaction {
            source: TransactionError::MaxCommitAttempts(retries),
        } => Error::Contended {
            table: table.into(),
            attempts: i64::from(retries) + 1,
            source: Box::new(error),
        },
        error => Error::Delta {
            table: table.into(),
            operation,
            source: Box::new(error),
        },
    }
}

/// One rule a row can break, and the SQL predicate true for a row that breaks it.
struct Rule {
    /// What the error says the write violates.
    named: String,
    /// True for a row that breaks the rule.
    broken: String,
    /// Whether the rule is the request's replace-where predicate.
    replace_where: bool,
}

/// The rules of `target` and of the write: the replace-where predicate first, then the
/// check constraints, then the NOT NULL columns.
fn rules(target: &Target, replace_where: Option<&str>) -> Vec<Rule> {
    let mut rules = Vec::new();
    if let Some(predicate) = replace_where {
        rules.push(Rule {
            named: format!("the replace-where predicate ({predicate})"),
            broken: format!("({predicate}) IS NOT TRUE"),
            replace_where: true,
        });
    }
    let Some(metadata) = target.metadata.as_ref() else {
        return rules;
    };
    for constraint in metadata.delta.iter().flat_map(|d| d.constraints.iter()) {
        rules.push(Rule {
            named: format!("check constraint {constraint}"),
            broken: format!("({}) IS FALSE", constraint.expr),
            replace_where: false,
        });
    }
    for field in metadata.schema.fields() {
        if !field.is_nullable() {
            rules.push(Rule {
                named: format!("NOT NULL column {}", field.name()),
                broken: format!("\"{}\" IS NULL", field.name()),
                replace_where: false,
            });
        }
    }
    rules
}

/// Whether a row of `source` makes `broken` true (reads the source up to that row).
async fn any_row(
    state: &SessionState,
    source: &LogicalPlan,
    broken: &str,
) -> datafusion::error::Result<bool> {
    let predicate = state.create_logical_expr(broken, source.schema())?;
    let probe = LogicalPlanBuilder::from(source.clone())
        .filter(predicate)?
        .limit(0, Some(1))?
        .build()?;
    let physical = state.create_physical_plan(&probe).await?;
    let batches = collect(physical, Arc::new(TaskContext::from(state))).await?;
    Ok(batches.iter().any(|b| b.num_rows() > 0))
}

/// Names the rule a rejected write broke: the first rule a source row breaks, reading
/// the source again only on this failure path and only up to the first offending row.
/// A replace-where predicate that rows break becomes [`Error::ReplaceWhereViolated`].
pub(crate) async fn name_violation(
    error: Error,
    state: &SessionState,
    source: Option<&LogicalPlan>,
    target: &Target,
    replace_where: Option<&str>,
) -> Error {
    let Error::ConstraintViolated {
        table,
        constraint,
        source: cause,
    } = error
    else {
        return error;
    };
    let rules = rules(target, replace_where);
    // One rule is the one broken; several are probed (a stream source cannot be read
    // again: the rule then stays unnamed).
    let single = rules.len() == 1;
    for rule in rules {
        let broken = single
            || match source {
                Some(plan) => any_row(state, plan, &rule.broken).await.unwrap_or(false),
                None => false,
            };
        if broken {
            return match replace_where {
                Some(predicate) if rule.replace_where => Error::ReplaceWhereViolated {
                    table,
                    predicate: predicate.into(),
                    source: cause,
                },
                _ => Error::ConstraintViolated {
                    table,
                    constraint: rule.named,
                    source: cause,
                },
            };
        }
    }
    Error::ConstraintViolated {
        table,
        constraint,
        source: cause,
    }
}
