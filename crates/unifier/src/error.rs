//! Errors of the facade: the lower layers' errors, wrapped, plus the engine's.

use datafusion::error::DataFusionError;

/// Result with the facade [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in compile, execute and register. A policy refusal is not an
/// error: it is [`crate::Compiled::Denied`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL could not be checked (parse error, too long, too deep) or the profile is bad.
    #[error(transparent)]
    Policy(#[from] unifier_policy::Error),
    /// A registration failed.
    #[error(transparent)]
    Io(Box<unifier_io_adapter::Error>),
    /// The diagnostics layer failed (e.g. the JSON-lines directory).
    #[error(transparent)]
    Diagnostics(#[from] unifier_diagnostics::Error),
    /// `compile` takes one statement at a time.
    #[error("{count} statements given; compile one statement at a time")]
    MultipleStatements {
        /// How many statements the text holds.
        count: usize,
    },
    /// DataFusion could not plan the statement.
    #[error("cannot plan `{sql}`")]
    Plan {
        /// The canonical SQL.
        sql: String,
        /// The planner's error.
        #[source]
        source: Box<DataFusionError>,
    },
    /// The plan does something the policy does not allow, though the statement passed
    /// the gate (DataFusion's `verify_plan` mirrors the policy).
    #[error("the plan of `{sql}` is refused by the policy")]
    PlanRefused {
        /// The canonical SQL.
        sql: String,
        /// `verify_plan`'s refusal.
        #[source]
        source: Box<DataFusionError>,
    },
    /// The statement is allowed by the policy but unifier does not run it this way.
    #[error("`{sql}` is not supported: {reason}")]
    Unsupported {
        /// The canonical SQL.
        sql: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A write into a table that does not accept that operation through unifier. The
    /// whole plan is checked, so a write under `EXPLAIN ANALYZE`, `EXECUTE` or a CTE is
    /// refused as well.
    #[error("`{sql}`: table `{table}` does not accept {op} through unifier (accepted: {accepted})")]
    WriteRefused {
        /// The canonical SQL.
        sql: String,
        /// The target table.
        table: String,
        /// The operation refused (`append`, `overwrite`, `delete`, `update`, `merge`).
        op: String,
        /// The operations the table accepts.
        accepted: String,
    },
    /// The statement reads a dataset that failed to register.
    #[error("dataset `{name}` is not available: it failed to register: {cause}")]
    DatasetUnavailable {
        /// The dataset.
        name: String,
        /// Why it failed (the registration error, with its causes).
        cause: String,
    },
    /// An output (a view) does not have its declared schema.
    #[error("view `{name}` does not have its declared schema: {}", unifier_io_adapter::contract::joined(.differences))]
    ContractBroken {
        /// The output.
        name: String,
        /// Every differing column: name, expected, found, why.
        differences: Vec<unifier_io_adapter::contract::Difference>,
    },
    /// A write into a Delta table failed; nothing was committed.
    #[error("cannot write `{sql}`")]
    Write {
        /// The canonical SQL (empty for API writes).
        sql: String,
        /// The write pipeline's error.
        #[source]
        source: Box<unifier_write_pipeline::Error>,
    },
    /// A write requested through the API (`Unifier::write`) failed; nothing was committed.
    /// The pipeline's error names the table.
    #[error(transparent)]
    WriteRequest(Box<unifier_write_pipeline::Error>),
    /// An API write the policy or the catalog does not allow.
    #[error("write refused: {reason}")]
    WriteDenied {
        /// Why.
        reason: String,
    },
    /// [`crate::Unifier::unchecked_io`] without `allow_unchecked` in the policy.
    #[error("{reason}")]
    Unchecked {
        /// Why.
        reason: String,
    },
    /// A file or URL read without SQL (`Unifier::read_files`) that the policy's file
    /// access rule refuses.
    #[error("cannot read `{location}`: {reason}")]
    LocationDenied {
        /// The location.
        location: String,
        /// The policy's reason (and what to do).
        reason: String,
    },
    /// Reading files failed.
    #[error("cannot read `{location}`")]
    ReadFiles {
        /// The location.
        location: String,
        /// The engine's error.
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
    /// A write ran longer than `query_timeout_ms`.
    #[error(
        "write cancelled after the {timeout_ms} ms timeout: `{sql}`; {}",
        if *.committed { "its commit had already landed (the new version is registered)" } else { "nothing was committed" }
    )]
    WriteTimeout {
        /// The configured timeout.
        timeout_ms: u64,
        /// The canonical SQL.
        sql: String,
        /// Whether the commit landed before the timeout.
        committed: bool,
    },
    /// The query ran longer than the profile's `query_timeout_ms` and was cancelled.
    #[error("query cancelled after the {timeout_ms} ms timeout: `{sql}`")]
    Timeout {
        /// The configured timeout.
        timeout_ms: u64,
        /// The canonical SQL.
        sql: String,
    },
    /// The query needed more memory than the profile's `memory_limit_mb` (after spilling).
    #[error(
        "resources exhausted running `{sql}` (memory_limit_mb = {limit_mb}); raise the limit or make the query smaller"
    )]
    ResourcesExhausted {
        /// The configured limit.
        limit_mb: u64,
        /// The canonical SQL.
        sql: String,
        /// The engine's error.
        #[source]
        source: Box<DataFusionError>,
    },
    /// Execution failed.
    #[error("cannot execute `{sql}`")]
    Execute {
        /// The canonical SQL.
        sql: String,
        /// The engine's error.
        #[source]
        source: Box<DataFusionError>,
    },
    /// Invalid runtime configuration.
    #[error("invalid runtime setting: {0}")]
    Runtime(String),
}

impl From<unifier_io_adapter::Error> for Error {
    fn from(error: unifier_io_adapter::Error) -> Self {
        Error::Io(Box::new(error))
    }
}

impl Error {
    /// The error a [`RecordedStream`](crate::RecordedStream) yielded, as the facade's:
    /// the facade's own error when it carries one ([`Error::Timeout`]), else
    /// [`Error::Execute`] of `sql`.
    pub fn from_stream(error: datafusion::error::DataFusionError, sql: &str) -> Self {
        use datafusion::error::DataFusionError;
        let source = match error {
            DataFusionError::External(inner) => match inner.downcast::<Error>() {
                Ok(ours) => return *ours,
                Err(other) => DataFusionError::External(other),
            },
            other => other,
        };
        Error::Execute {
            sql: sql.to_owned(),
            source: Box::new(source),
        }
    }

    /// The stable kind recorded in `diagnostics.error.error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Policy(e) => e.sql_errors().first().map_or("policy", |s| s.code.as_str()),
            Error::Io(_) => "register",
            Error::Diagnostics(_) => "diagnostics",
            Error::MultipleStatements { .. } => "multiple_statements",
            Error::Plan { .. } => "plan",
            Error::PlanRefused { .. } => "plan_refused",
            Error::Unsupported { .. } => "unsupported",
            Error::WriteRefused { .. } => "write_refused",
            Error::Write { source, .. } | Error::WriteRequest(source) => source.kind(),
            Error::WriteDenied { .. } => "write_denied",
            Error::Unchecked { .. } => "unchecked_api",
            Error::LocationDenied { .. } => "external_access",
            Error::ReadFiles { .. } => "read_files",
            Error::ContractBroken { .. } => "contract_broken",
            Error::DatasetUnavailable { .. } => "dataset_unavailable",
            Error::WriteTimeout { .. } => "timeout",
            Error::Timeout { .. } => "timeout",
            Error::ResourcesExhausted { .. } => "resources_exhausted",
            Error::Execute { .. } => "execute",
            Error::Runtime(_) => "runtime",
        }
    }
}

/// The error and every cause, joined by `: ` (what events record and the CLI prints).
pub fn error_chain(error: &Error) -> String {
    unifier_diagnostics::error_chain(error)
}
