//! The statements the policy parses: sqlparser's AST plus DataFusion 55's own statements.
//!
//! DataFusion's `DFParser` (in `datafusion-sql`, too heavy for this crate) layers
//! `CREATE EXTERNAL TABLE`, `COPY … TO`, `EXPLAIN` with its options and `RESET` on top of
//! sqlparser. These types carry exactly the fields of DataFusion's, so the facade can hand
//! the checked AST to the planner without parsing the text again. Unlike DataFusion's,
//! their `Display` renders every field, so canonical SQL re-parses to the same AST.

use std::fmt;

use sqlparser::ast::{
    ColumnDef, ObjectName, OrderByExpr, Query, Statement, TableConstraint, UtilityOption, Value,
};

/// One parsed statement, in the shape DataFusion's `DFParser` produces.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyStatement {
    /// A statement sqlparser parses (everything but the extensions below).
    Sql(Box<Statement>),
    /// DataFusion's `CREATE [OR REPLACE] [UNBOUNDED] EXTERNAL TABLE`.
    CreateExternalTable(CreateExternalTable),
    /// DataFusion's `COPY <table or (query)> TO '<target>'`.
    CopyTo(CopyTo),
    /// DataFusion's `EXPLAIN`, over any statement (its own included).
    Explain(Explain),
    /// DataFusion's `RESET <config key>`.
    Reset(ObjectName),
}

/// `CREATE EXTERNAL TABLE`, with the fields of DataFusion's `CreateExternalTable`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateExternalTable {
    /// Table name.
    pub name: ObjectName,
    /// Declared columns (typed partition columns included, as DataFusion does).
    pub columns: Vec<ColumnDef>,
    /// File type, uppercase (`PARQUET`, `CSV`, `DELTATABLE`, ...).
    pub file_type: String,
    /// One or more locations.
    pub locations: Vec<String>,
    /// Partition column names, as written.
    pub table_partition_cols: Vec<String>,
    /// `WITH ORDER (...)` clauses.
    pub order_exprs: Vec<Vec<OrderByExpr>>,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `OR REPLACE`.
    pub or_replace: bool,
    /// `TEMPORARY`.
    pub temporary: bool,
    /// `UNBOUNDED`.
    pub unbounded: bool,
    /// `OPTIONS ('key' value, ...)`.
    pub options: Vec<(String, Value)>,
    /// Table constraints.
    pub constraints: Vec<TableConstraint>,
}

/// The source of a `COPY … TO`.
#[derive(Debug, Clone, PartialEq)]
pub enum CopySource {
    /// `COPY table TO ...`.
    Relation(ObjectName),
    /// `COPY (query) TO ...`.
    Query(Box<Query>),
}

/// DataFusion's `COPY … TO` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyTo {
    /// What is copied.
    pub source: CopySource,
    /// Where it goes (a path or URL).
    pub target: String,
    /// `PARTITIONED BY (...)` column names, as written.
    pub partitioned_by: Vec<String>,
    /// `STORED AS`, uppercase.
    pub stored_as: Option<String>,
    /// `OPTIONS ('key' value, ...)`.
    pub options: Vec<(String, Value)>,
}

/// The options of an `EXPLAIN`, in the form they were written.
#[derive(Debug, Clone, PartialEq)]
pub enum ExplainOptions {
    /// `EXPLAIN [ANALYZE] [VERBOSE] [FORMAT name]`.
    Keywords {
        /// `ANALYZE`: the statement runs.
        analyze: bool,
        /// `VERBOSE`.
        verbose: bool,
        /// `FORMAT name`, as written.
        format: Option<String>,
    },
    /// `EXPLAIN (option [value], ...)`, for dialects that support utility options.
    Utility(Vec<UtilityOption>),
}

impl ExplainOptions {
    /// Whether this `EXPLAIN` runs the statement (`ANALYZE`).
    pub fn analyze(&self) -> bool {
        match self {
            ExplainOptions::Keywords { analyze, .. } => *analyze,
            ExplainOptions::Utility(options) => options.iter().any(|o| {
                o.name.value.eq_ignore_ascii_case("analyze")
                    && crate::utility::utility_bool(o.arg.as_ref()).unwrap_or(false)
            }),
        }
    }
}

/// DataFusion's `EXPLAIN`.
#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    /// The options.
    pub options: ExplainOptions,
    /// The explained statement.
    pub statement: Box<PolicyStatement>,
}

impl fmt::Display for PolicyStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyStatement::Sql(statement) => write!(f, "{statement}"),
            PolicyStatement::CreateExternalTable(create) => write!(f, "{create}"),
            PolicyStatement::CopyTo(copy) => write!(f, "{copy}"),
            PolicyStatement::Explain(explain) => write!(f, "{explain}"),
            PolicyStatement::Reset(name) => {
                f.write_str("RESET ")?;
                for (i, part) in name.0.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let text = part.to_string();
                    // DataFusion's RESET takes words and string literals as segments.
                    let plain = !text.is_empty()
                        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !text.starts_with(|c: char| c.is_ascii_digit());
                    if plain {
                        f.write_str(&text)?;
                    } else {
                        write!(f, "{}", Value::SingleQuotedString(text))?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Renders a slice comma separated (sqlparser keeps its helper private).
struct Comma<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Comma<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

fn write_options(f: &mut fmt::Formatter<'_>, options: &[(String, Value)]) -> fmt::Result {
    if options.is_empty() {
        return Ok(());
    }
    f.write_str(" OPTIONS (")?;
    for (i, (key, value)) in options.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{} {value}", Value::SingleQuotedString(key.clone()))?;
    }
    f.write_str(")")
}

fn write_names(f: &mut fmt::Formatter<'_>, keyword: &str, names: &[String]) -> fmt::Result {
    if names.is_empty() {
        return Ok(());
    }
    write!(f, " {keyword} ({})", names.join(", "))
}

impl fmt::Display for CreateExternalTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ")?;
        if self.or_replace {
            f.write_str("OR REPLACE ")?;
        }
        if self.unbounded {
            f.write_str("UNBOUNDED ")?;
        }
        f.write_str("EXTERNAL ")?;
        if self.temporary {
            f.write_str("TEMPORARY ")?;
        }
        f.write_str("TABLE ")?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        write!(f, "{}", self.name)?;
        if !self.columns.is_empty() || !self.constraints.is_empty() {
            write!(f, " ({}", Comma(&self.columns))?;
            if !self.columns.is_empty() && !self.constraints.is_empty() {
                f.write_str(", ")?;
            }
            write!(f, "{})", Comma(&self.constraints))?;
        }
        write!(f, " STORED AS {}", self.file_type)?;
        write_names(f, "PARTITIONED BY", &self.table_partition_cols)?;
        for order in &self.order_exprs {
            write!(f, " WITH ORDER ({})", Comma(order))?;
        }
        write_options(f, &self.options)?;
        f.write_str(" LOCATION ")?;
        match self.locations.as_slice() {
            [one] => write!(f, "{}", Value::SingleQuotedString(one.clone())),
            many => {
                f.write_str("(")?;
                for (i, location) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Value::SingleQuotedString(location.clone()))?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for CopySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopySource::Relation(name) => write!(f, "{name}"),
            CopySource::Query(query) => write!(f, "({query})"),
        }
    }
}

impl fmt::Display for CopyTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "COPY {} TO {}",
            self.source,
            Value::SingleQuotedString(self.target.clone())
        )?;
        if let Some(stored_as) = &self.stored_as {
            write!(f, " STORED AS {stored_as}")?;
        }
        write_names(f, "PARTITIONED BY", &self.partitioned_by)?;
        write_options(f, &self.options)
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EXPLAIN ")?;
        match &self.options {
            ExplainOptions::Keywords {
                analyze,
                verbose,
                format,
            } => {
                if *analyze {
                    f.write_str("ANALYZE ")?;
                }
                if *verbose {
                    f.write_str("VERBOSE ")?;
                }
                if let Some(format) = format {
                    write!(f, "FORMAT {format} ")?;
                }
            }
            ExplainOptions::Utility(options) => {
                write!(f, "({}) ", Comma(options))?;
            }
        }
        write!(f, "{}", self.statement)
    }
}
