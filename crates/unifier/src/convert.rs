//! The checked policy AST, handed to DataFusion's planner as DataFusion's statement type
//! (field for field; nothing is parsed again).

use std::str::FromStr;

use datafusion::common::format::{ExplainFormat, ExplainStatementOptions};
use datafusion::error::Result;
use datafusion::sql::parser::{
    CopyToSource, CopyToStatement, CreateExternalTable as DfCreateExternalTable, ExplainStatement,
    ResetStatement, Statement,
};
use unifier_policy::{CopySource, ExplainOptions, PolicyStatement};

/// Converts one checked statement.
pub(crate) fn to_datafusion(statement: &PolicyStatement) -> Result<Statement> {
    Ok(match statement {
        PolicyStatement::Sql(statement) => Statement::Statement(statement.clone()),
        PolicyStatement::CreateExternalTable(c) => {
            Statement::CreateExternalTable(DfCreateExternalTable {
                name: c.name.clone(),
                columns: c.columns.clone(),
                file_type: c.file_type.clone(),
                locations: c.locations.clone(),
                table_partition_cols: c.table_partition_cols.clone(),
                order_exprs: c.order_exprs.clone(),
                if_not_exists: c.if_not_exists,
                or_replace: c.or_replace,
                temporary: c.temporary,
                unbounded: c.unbounded,
                options: c.options.clone(),
                constraints: c.constraints.clone(),
            })
        }
        PolicyStatement::CopyTo(c) => Statement::CopyTo(CopyToStatement {
            source: match &c.source {
                CopySource::Relation(name) => CopyToSource::Relation(name.clone()),
                CopySource::Query(query) => CopyToSource::Query(query.clone()),
            },
            target: c.target.clone(),
            partitioned_by: c.partitioned_by.clone(),
            stored_as: c.stored_as.clone(),
            options: c.options.clone(),
        }),
        PolicyStatement::Explain(e) => {
            let options = match &e.options {
                ExplainOptions::Keywords {
                    analyze,
                    verbose,
                    format,
                } => ExplainStatementOptions {
                    analyze: *analyze,
                    verbose: *verbose,
                    format: format.as_deref().map(ExplainFormat::from_str).transpose()?,
                    ..Default::default()
                },
                ExplainOptions::Utility(options) => {
                    ExplainStatementOptions::from_utility_options(options)?
                }
            };
            Statement::Explain(ExplainStatement {
                options,
                statement: Box::new(to_datafusion(&e.statement)?),
            })
        }
        PolicyStatement::Reset(name) => Statement::Reset(ResetStatement::Variable(name.clone())),
    })
}
