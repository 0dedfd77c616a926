//! Statement classes, and the class of each sqlparser statement kind.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlparser::ast::Statement;

use crate::error::Error;

/// What a statement (or a part of it) does. A statement has every class found by walking
/// its whole AST: `INSERT INTO t SELECT ...` is `dml` and `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatementClass {
    /// Reads: SELECT, VALUES, TABLE, SHOW, DESCRIBE.
    Query,
    /// Changes the catalog: CREATE/DROP/ALTER of tables, views, schemas, functions,
    /// external tables; CREATE TABLE AS; SELECT INTO.
    Ddl,
    /// Changes data: INSERT, UPDATE, DELETE, MERGE, TRUNCATE, LOAD DATA.
    Dml,
    /// Writes files: COPY, UNLOAD, INSERT OVERWRITE DIRECTORY, EXPORT DATA.
    Copy,
    /// Changes the session: SET, RESET, USE, PRAGMA.
    Set,
    /// BEGIN, COMMIT, ROLLBACK, SAVEPOINT.
    Transaction,
    /// PREPARE, EXECUTE, DEALLOCATE.
    Prepare,
    /// Everything else (GRANT, VACUUM, CALL, ATTACH, scripting, ...).
    Other,
}

impl StatementClass {
    /// Every class, in a stable order.
    pub const ALL: [StatementClass; 8] = [
        StatementClass::Query,
        StatementClass::Ddl,
        StatementClass::Dml,
        StatementClass::Copy,
        StatementClass::Set,
        StatementClass::Transaction,
        StatementClass::Prepare,
        StatementClass::Other,
    ];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            StatementClass::Query => "query",
            StatementClass::Ddl => "ddl",
            StatementClass::Dml => "dml",
            StatementClass::Copy => "copy",
            StatementClass::Set => "set",
            StatementClass::Transaction => "transaction",
            StatementClass::Prepare => "prepare",
            StatementClass::Other => "other",
        }
    }
}

impl fmt::Display for StatementClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StatementClass {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StatementClass::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownName {
                what: "statement class",
                name: s.to_owned(),
                expected: StatementClass::ALL.map(StatementClass::name).join(", "),
            })
    }
}

/// The class of one sqlparser statement, from its own kind only (nested statements and
/// queries are classified by the walk in `inspect`).
pub(crate) fn class_of(statement: &Statement) -> StatementClass {
    use StatementClass as C;
    match statement {
        Statement::Query(_)
        | Statement::ExplainTable { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowProcessList { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowCharset { .. }
        | Statement::ShowObjects { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowCollation { .. }
        // DESCRIBE <query> reads; the explained statement adds its own class in the walk.
        | Statement::Explain { .. } => C::Query,
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Truncate(_)
        | Statement::LoadData { .. } => C::Dml,
        Statement::Copy { .. }
        | Statement::CopyIntoSnowflake { .. }
        | Statement::Directory { .. }
        | Statement::Unload { .. }
        | Statement::ExportData(_) => C::Copy,
        Statement::Set(_)
        | Statement::Reset(_)
        | Statement::Use(_)
        | Statement::AlterSession { .. }
        | Statement::Pragma { .. }
        | Statement::Discard { .. } => C::Set,
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => C::Transaction,
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate { .. } => {
            C::Prepare
        }
        Statement::CreateView(_)
        | Statement::CreateTable(_)
        | Statement::CreateVirtualTable { .. }
        | Statement::CreateIndex(_)
        | Statement::CreateRole(_)
        | Statement::CreateSecret { .. }
        | Statement::CreateServer(_)
        | Statement::CreatePolicy(_)
        | Statement::CreateConnector(_)
        | Statement::CreateOperator(_)
        | Statement::CreateOperatorFamily(_)
        | Statement::CreateOperatorClass(_)
        | Statement::AlterTable(_)
        | Statement::AlterSchema(_)
        | Statement::AlterIndex { .. }
        | Statement::AlterView { .. }
        | Statement::AlterFunction(_)
        | Statement::AlterType(_)
        | Statement::AlterCollation(_)
        | Statement::AlterOperator(_)
        | Statement::AlterOperatorFamily(_)
        | Statement::AlterOperatorClass(_)
        | Statement::AlterRole { .. }
        | Statement::AlterPolicy(_)
        | Statement::AlterConnector { .. }
        | Statement::Drop { .. }
        | Statement::DropFunction(_)
        | Statement::DropDomain(_)
        | Statement::DropProcedure { .. }
        | Statement::DropSecret { .. }
        | Statement::DropPolicy(_)
        | Statement::DropConnector { .. }
        | Statement::CreateExtension(_)
        | Statement::CreateCollation(_)
        | Statement::DropExtension(_)
        | Statement::DropOperator(_)
        | Statement::DropOperatorFamily(_)
        | Statement::DropOperatorClass(_)
        | Statement::Comment { .. }
        | Statement::CreateSchema { .. }
        | Statement::CreateDatabase { .. }
        | Statement::CreateFunction(_)
        | Statement::CreateTrigger(_)
        | Statement::DropTrigger(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateMacro { .. }
        | Statement::CreateStage { .. }
        | Statement::CreateSequence { .. }
        | Statement::CreateDomain(_)
        | Statement::CreateType { .. }
        | Statement::RenameTable(_)
        | Statement::CreateUser(_)
        | Statement::AlterUser(_)
        | Statement::Msck(_) => C::Ddl,
        _ => C::Other,
    }
}

/// Whether DataFusion 55's SQL planner plans this statement kind at all (its
/// `sql_statement_to_plan` match); everything else is the `statement` unsupported row.
pub(crate) fn planned_by_datafusion(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::ExplainTable { .. }
            | Statement::Explain { .. }
            | Statement::Query(_)
            | Statement::ShowVariable { .. }
            | Statement::Set(_)
            | Statement::CreateTable(_)
            | Statement::CreateView(_)
            | Statement::ShowCreate { .. }
            | Statement::CreateSchema { .. }
            | Statement::CreateDatabase { .. }
            | Statement::Drop { .. }
            | Statement::Prepare { .. }
            | Statement::Execute { .. }
            | Statement::Deallocate { .. }
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowFunctions { .. }
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_)
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::CreateFunction(_)
            | Statement::DropFunction(_)
            | Statement::Truncate(_)
            | Statement::CreateIndex(_)
    )
}
