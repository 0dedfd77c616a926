//! The walk over a whole statement: classes, locations, function calls, unsupported
//! constructs and nesting depth, found in one pass of sqlparser's visitor.
//!
//! The walk counts its own depth and stops the moment it passes `max_depth`, so it never
//! recurses deeper than the limit, whatever the shape of the tree (left-deep chains of
//! `AND` or `UNION` included).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    CopyTarget, Delete, Expr, FromTable, LimitClause, ObjectName, Query, Select, SetExpr, Spanned,
    SqlOption, Statement, TableFactor, Update, Value, ValueWithSpan, Visit, Visitor,
};

use crate::ast::{CopySource, PolicyStatement};
use crate::class::{StatementClass, class_of, planned_by_datafusion};
use crate::location::looks_like_location;
use crate::position::Position;
use crate::unsupported::{self, UnsupportedConstruct};

/// A file or URL that a statement reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Access {
    /// The location as written.
    pub(crate) location: String,
    /// Which clause names it (`table reference`, `LOCATION`, `COPY target`, ...).
    pub(crate) clause: &'static str,
    pub(crate) position: Position,
}

/// Everything the gate needs to know about one statement.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) classes: BTreeSet<StatementClass>,
    pub(crate) accesses: Vec<Access>,
    /// Called functions: (lowercase qualified name, lowercase last part, position).
    pub(crate) functions: Vec<(String, String, Position)>,
    pub(crate) unsupported: Vec<(UnsupportedConstruct, String, Position)>,
    /// Tables named, as DataFusion resolves their parts (unquoted parts lowercased,
    /// quoted parts as written), with where they are named.
    pub(crate) relations: Vec<(Vec<String>, Position)>,
}

/// Walks `statement`. `Err` carries the position where nesting passed `max_depth`.
pub(crate) fn inspect(
    statement: &PolicyStatement,
    position: Position,
    max_depth: usize,
) -> Result<Findings, Position> {
    let mut walker = Walker {
        findings: Findings::default(),
        depth: 0,
        entered: Vec::new(),
        max_depth,
        fallback: position,
        in_table_function: 0,
    };
    match walker.policy_statement(statement) {
        ControlFlow::Continue(()) => Ok(walker.findings),
        ControlFlow::Break(at) => Err(at),
    }
}

struct Walker {
    findings: Findings,
    depth: usize,
    entered: Vec<usize>,
    max_depth: usize,
    /// Where the statement starts: the position of findings whose node has no cheap span.
    fallback: Position,
    in_table_function: usize,
}

fn start_of(span: sqlparser::tokenizer::Span) -> Option<Position> {
    Position::from_location(span.start)
}

/// The nesting of set operations directly under a query body, measured without recursion.
fn set_expr_depth(body: &SetExpr) -> usize {
    let mut max = 0;
    let mut stack = vec![(body, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        max = max.max(depth);
        if let SetExpr::SetOperation { left, right, .. } = node {
            stack.push((left, depth + 1));
            stack.push((right, depth + 1));
        }
    }
    max
}

impl Walker {
    fn enter(&mut self, levels: usize) -> ControlFlow<Position> {
        self.depth += levels;
        self.entered.push(levels);
        if self.depth > self.max_depth {
            ControlFlow::Break(self.fallback)
        } else {
            ControlFlow::Continue(())
        }
    }

    fn leave(&mut self) -> ControlFlow<Position> {
        self.depth -= self.entered.pop().unwrap_or(0);
        ControlFlow::Continue(())
    }

    fn access(&mut self, location: impl Into<String>, clause: &'static str, at: Option<Position>) {
        self.findings.accesses.push(Access {
            location: location.into(),
            clause,
            position: at.unwrap_or(self.fallback),
        });
    }

    fn unsupported(
        &mut self,
        construct: UnsupportedConstruct,
        detail: String,
        at: Option<Position>,
    ) {
        self.findings
            .unsupported
            .push((construct, detail, at.unwrap_or(self.fallback)));
    }

    fn policy_statement(&mut self, statement: &PolicyStatement) -> ControlFlow<Position> {
        match statement {
            PolicyStatement::Sql(statement) => statement.visit(self),
            PolicyStatement::CreateExternalTable(create) => {
                self.findings.classes.insert(StatementClass::Ddl);
                for location in &create.locations {
                    self.access(location.clone(), "LOCATION", None);
                }
                create.columns.visit(self)?;
                create.order_exprs.visit(self)
            }
            PolicyStatement::CopyTo(copy) => {
                self.findings.classes.insert(StatementClass::Copy);
                self.access(copy.target.clone(), "COPY target", None);
                match &copy.source {
                    CopySource::Relation(name) => self.pre_visit_relation(name),
                    CopySource::Query(query) => query.visit(self),
                }
            }
            PolicyStatement::Explain(explain) => {
                self.enter(1)?;
                self.policy_statement(&explain.statement)?;
                self.leave()
            }
            PolicyStatement::Reset(_) => {
                self.findings.classes.insert(StatementClass::Set);
                ControlFlow::Continue(())
            }
        }
    }

    fn statement_accesses(&mut self, statement: &Statement) {
        match statement {
            Statement::Copy { target, .. } => match target {
                CopyTarget::File { filename } => self.access(filename.clone(), "COPY file", None),
                CopyTarget::Program { command } => {
                    self.access(format!("program:{command}"), "COPY PROGRAM", None)
                }
                CopyTarget::Stdin | CopyTarget::Stdout => {}
            },
            Statement::CopyIntoSnowflake {
                stage_params,
                from_obj,
                ..
            } => {
                let location = stage_params
                    .url
                    .clone()
                    .or_else(|| from_obj.as_ref().map(ToString::to_string))
                    .unwrap_or_else(|| "stage".to_owned());
                self.access(location, "COPY INTO stage", None);
            }
            Statement::CreateTable(create) => {
                if let Some(location) = &create.location {
                    self.access(location.clone(), "LOCATION", None);
                }
            }
            Statement::Directory { path, .. } => self.access(path.clone(), "DIRECTORY", None),
            Statement::Unload { to, .. } => {
                self.access(to.value.clone(), "UNLOAD target", start_of(to.span))
            }
            Statement::AttachDatabase {
                database_file_name, ..
            } => {
                let location = match database_file_name {
                    Expr::Value(ValueWithSpan {
                        value: Value::SingleQuotedString(s) | Value::DoubleQuotedString(s),
                        ..
                    }) => s.clone(),
                    other => other.to_string(),
                };
                self.access(location, "ATTACH", None);
            }
            Statement::AttachDuckDBDatabase { database_path, .. } => self.access(
                database_path.value.clone(),
                "ATTACH",
                start_of(database_path.span),
            ),
            Statement::LoadData { inpath, .. } => {
                self.access(inpath.clone(), "LOAD DATA INPATH", None)
            }
            Statement::ExportData(export) => {
                let uri = export.options.iter().find_map(|option| match option {
                    SqlOption::KeyValue { key, value } if key.value.eq_ignore_ascii_case("uri") => {
                        Some(value.to_string().trim_matches('\'').to_owned())
                    }
                    _ => None,
                });
                self.access(
                    uri.unwrap_or_else(|| "export".to_owned()),
                    "EXPORT DATA",
                    None,
                );
            }
            Statement::CreateStage { stage_params, .. } => {
                if let Some(url) = &stage_params.url {
                    self.access(url.clone(), "STAGE URL", None);
                }
            }
            Statement::List(command) | Statement::Remove(command) => {
                self.access(command.stage.to_string(), "stage", None)
            }
            _ => {}
        }
    }

    fn statement_unsupported(&mut self, statement: &Statement) {
        if !planned_by_datafusion(statement) {
            let text = statement.to_string();
            let kind: Vec<&str> = text.split_whitespace().take(2).collect();
            self.unsupported(unsupported::STATEMENT, kind.join(" "), None);
            return;
        }
        match statement {
            Statement::Explain {
                describe_alias:
                    sqlparser::ast::DescribeAlias::Describe | sqlparser::ast::DescribeAlias::Desc,
                statement,
                ..
            } if !matches!(**statement, Statement::Query(_)) => {
                self.unsupported(unsupported::DESCRIBE_STATEMENT, String::new(), None)
            }
            Statement::Update(Update { from: Some(_), .. }) => {
                self.unsupported(unsupported::UPDATE_FROM, String::new(), None)
            }
            Statement::Delete(Delete {
                tables,
                from,
                using,
                ..
            }) => {
                let from = match from {
                    FromTable::WithFromKeyword(v) | FromTable::WithoutKeyword(v) => v,
                };
                let single = from.len() == 1
                    && from[0].joins.is_empty()
                    && matches!(from[0].relation, TableFactor::Table { .. });
                if !single || !tables.is_empty() || using.is_some() {
                    self.unsupported(unsupported::DELETE_JOIN, String::new(), None)
                }
            }
            _ => {}
        }
    }
}

impl Visitor for Walker {
    type Break = Position;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Position> {
        self.enter(1)?;
        self.findings.classes.insert(class_of(statement));
        self.statement_accesses(statement);
        self.statement_unsupported(statement);
        ControlFlow::Continue(())
    }

    fn post_visit_statement(&mut self, _: &Statement) -> ControlFlow<Position> {
        self.leave()
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Position> {
        self.enter(1 + set_expr_depth(&query.body))?;
        if query.fetch.is_some() {
            self.unsupported(unsupported::FETCH, String::new(), None);
        }
        if let Some(LimitClause::LimitOffset { limit_by, .. }) = &query.limit_clause
            && !limit_by.is_empty()
        {
            self.unsupported(unsupported::LIMIT_BY, String::new(), None);
        }
        if !query.locks.is_empty() {
            self.unsupported(unsupported::LOCKS, String::new(), None);
        }
        if query.for_clause.is_some() {
            self.unsupported(unsupported::FOR_CLAUSE, String::new(), None);
        }
        if query.settings.is_some() {
            self.unsupported(unsupported::SETTINGS, String::new(), None);
        }
        if query.format_clause.is_some() {
            self.unsupported(unsupported::FORMAT_CLAUSE, String::new(), None);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<Position> {
        self.leave()
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Position> {
        let at = start_of(select.select_token.0.span);
        if select.into.is_some() {
            // SELECT INTO creates a table.
            self.findings.classes.insert(StatementClass::Ddl);
        }
        let checks = [
            (select.top.is_some(), unsupported::TOP),
            (!select.cluster_by.is_empty(), unsupported::CLUSTER_BY),
            (!select.sort_by.is_empty(), unsupported::SORT_BY),
            (!select.lateral_views.is_empty(), unsupported::LATERAL_VIEW),
            (select.prewhere.is_some(), unsupported::PREWHERE),
            (!select.connect_by.is_empty(), unsupported::CONNECT_BY),
        ];
        for (found, construct) in checks {
            if found {
                self.unsupported(construct, String::new(), at);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Position> {
        let parts: Option<Vec<String>> = relation
            .0
            .iter()
            .map(|part| {
                part.as_ident().map(|ident| match ident.quote_style {
                    Some(_) => ident.value.clone(),
                    None => ident.value.to_lowercase(),
                })
            })
            .collect();
        if let (Some(parts), Some(first)) = (parts, relation.0.first().and_then(|p| p.as_ident())) {
            let at = start_of(first.span).unwrap_or(self.fallback);
            self.findings.relations.push((parts, at));
        }
        for part in &relation.0 {
            if let Some(ident) = part.as_ident()
                && looks_like_location(&ident.value)
            {
                self.access(ident.value.clone(), "table reference", start_of(ident.span));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Position> {
        self.enter(1)?;
        match factor {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => {
                self.in_table_function += 1;
                self.function(name);
            }
            TableFactor::UNNEST {
                with_ordinality: true,
                ..
            } => self.unsupported(unsupported::UNNEST_ORDINALITY, String::new(), None),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Position> {
        if matches!(
            factor,
            TableFactor::Table { args: Some(_), .. } | TableFactor::Function { .. }
        ) {
            self.in_table_function -= 1;
        }
        self.leave()
    }

    fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<Position> {
        if self.in_table_function > 0
            && let Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) = &value.value
            && looks_like_location(s)
        {
            self.access(s.clone(), "table function argument", start_of(value.span));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Position> {
        self.enter(1)?;
        if let Expr::Function(function) = expr {
            self.function(&function.name);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<Position> {
        self.leave()
    }
}

impl Walker {
    fn function(&mut self, name: &ObjectName) {
        let full = name.to_string().to_lowercase();
        let last = name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .map(|ident| ident.value.to_lowercase())
            .unwrap_or_else(|| full.clone());
        let at = start_of(name.span());
        self.findings
            .functions
            .push((full, last, at.unwrap_or(self.fallback)));
    }
}
