//! Errors of the write pipeline; each names the table and what to do.

use datafusion::error::DataFusionError;
use deltalake::DeltaTableError;
use unifier_io_adapter::SchemaMode;
use unifier_io_adapter::contract::{Difference, Why};

/// Result with the write pipeline [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong writing. Whatever the error, nothing was committed unless the
/// error says so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The target is not a registered dataset.
    #[error("table `{table}` is not registered; register it with kind = \"delta\" first")]
    NotRegistered {
        /// The name.
        table: String,
    },
    /// The target is registered but is not a writable Delta table.
    #[error("table `{table}` is not a writable Delta table: {reason}")]
    NotWritable {
        /// The name.
        table: String,
        /// Why (its kind, or a pinned version).
        reason: String,
    },
    /// The request contradicts itself or the table.
    #[error("invalid write request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The source's schema breaks the contract.
    #[error(
        "table `{table}`: the written rows do not match the table's schema ({}): {}{}",
        .mode.as_str(),
        unifier_io_adapter::contract::joined(.differences),
        additive_hint(*.mode, .differences)
    )]
    SchemaMismatch {
        /// The target.
        table: String,
        /// The contract's mode.
        mode: SchemaMode,
        /// Every differing column: name, expected, found, why.
        differences: Vec<Difference>,
    },
    /// The table's location cannot be made.
    #[error("cannot create the table's directory `{location}`: {source}")]
    Location {
        /// The location.
        location: String,
        /// The file system's error.
        #[source]
        source: std::io::Error,
    },
    /// `error_if_exists` on an existing table.
    #[error("table `{table}` already exists at `{location}` (mode error_if_exists)")]
    AlreadyExists {
        /// The target.
        table: String,
        /// Its location.
        location: String,
    },
    /// Rows written by a replace-where overwrite fall outside its predicate.
    #[error(
        "table `{table}`: written rows do not match the replace-where predicate ({predicate}); nothing was committed: write only rows the predicate selects"
    )]
    ReplaceWhereViolated {
        /// The target.
        table: String,
        /// The predicate.
        predicate: String,
        /// deltalake's error (its summary line).
        #[source]
        source: Box<DeltaTableError>,
    },
    /// A check constraint or NOT NULL column rejected rows; nothing was committed.
    #[error("table `{table}`: the write violates {constraint}; nothing was committed")]
    ConstraintViolated {
        /// The target.
        table: String,
        /// The constraint (`check constraint positive (id > 0)`, `NOT NULL column id`).
        constraint: String,
        /// deltalake's error (its summary line, without its preview of the rows).
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Another writer committed a conflicting change first (after retries).
    #[error(
        "table `{table}`: a concurrent commit conflicts with this write; nothing was committed"
    )]
    Conflict {
        /// The target.
        table: String,
        /// deltalake's error, which says what conflicted.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Concurrent writers committed first at every attempt: nothing was committed, and
    /// the write can be run again (with a transaction, a retry cannot commit twice).
    #[error(
        "table `{table}`: {attempts} commit attempts lost to concurrent writers; nothing was committed: run the write again"
    )]
    Contended {
        /// The target.
        table: String,
        /// The attempts made (deltalake's retries plus the first).
        attempts: i64,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// deltalake failed.
    #[error("table `{table}`: the Delta {operation} failed; nothing was committed")]
    Delta {
        /// The target.
        table: String,
        /// `write`, `delete`, `update`, `create`.
        operation: &'static str,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// DataFusion failed (planning the source, or the insert plan).
    #[error("table `{table}`: {what}")]
    DataFusion {
        /// The target.
        table: String,
        /// What was being done.
        what: &'static str,
        /// The engine's error.
        #[source]
        source: Box<DataFusionError>,
    },
    /// Registering or refreshing the table in the catalog failed.
    #[error(transparent)]
    Io(#[from] Box<unifier_io_adapter::Error>),
}

impl Error {
    /// The stable kind recorded in `diagnostics.error.error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotRegistered { .. } => "not_registered",
            Error::NotWritable { .. } => "not_writable",
            Error::InvalidRequest { .. } => "invalid_request",
            Error::SchemaMismatch { .. } => "schema_mismatch",
            Error::AlreadyExists { .. } => "already_exists",
            Error::ConstraintViolated { .. } => "constraint_violated",
            Error::ReplaceWhereViolated { .. } => "replace_where_violated",
            Error::Location { .. } => "location",
            Error::Conflict { .. } | Error::Contended { .. } => "conflict",
            Error::Delta { .. } => "delta",
            Error::DataFusion { .. } => "datafusion",
            Error::Io(_) => "register",
        }
    }
}

impl From<unifier_io_adapter::Error> for Error {
    fn from(error: unifier_io_adapter::Error) -> Self {
        Error::Io(Box::new(error))
    }
}

/// "; use schema mode additive to add them" when strict mode refused undeclared columns.
fn additive_hint(mode: SchemaMode, differences: &[Difference]) -> &'static str {
    if mode == SchemaMode::Strict && differences.iter().any(|d| d.why == Why::Undeclared) {
        "; use schema mode additive to add the undeclared columns"
    } else {
        ""
    }
}
