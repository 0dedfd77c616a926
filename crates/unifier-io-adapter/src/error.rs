//! Errors of the IO adapter; every one names the dataset and the input at fault.

use datafusion::error::DataFusionError;

/// Result with the IO adapter [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when registering or reading the catalog. A failed registration
/// leaves the catalog as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The name is taken and `overwrite` was not set.
    #[error(
        "table `{name}` is already registered; register with if_exists = replace to replace it"
    )]
    AlreadyRegistered {
        /// The registered name.
        name: String,
    },
    /// A name that cannot be registered.
    #[error("cannot register `{name}`: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why not.
        reason: String,
    },
    /// The location does not exist.
    #[error("table `{name}`: location `{location}` does not exist")]
    MissingLocation {
        /// The dataset.
        name: String,
        /// The location as given.
        location: String,
    },
    /// The location holds no file with the listed extension.
    #[error("table `{name}`: no `*{extension}` files at `{location}`")]
    NoFiles {
        /// The dataset.
        name: String,
        /// The location.
        location: String,
        /// The extension listed.
        extension: String,
    },
    /// A file is not in the declared format.
    #[error("table `{name}`: file `{file}` is not {format}")]
    NotFormat {
        /// The dataset.
        name: String,
        /// The file.
        file: String,
        /// The declared format.
        format: String,
        /// What the reader said.
        #[source]
        source: Box<DataFusionError>,
    },
    /// Two files disagree on a column's type.
    #[error(
        "table `{}`: files have conflicting schemas: column `{}` is {} in `{}` but {} in `{}`",
        .0.name, .0.column, .0.left_type, .0.left, .0.right_type, .0.right
    )]
    SchemaConflict(Box<SchemaConflict>),
    /// A partition directory's value does not parse as the declared type.
    #[error(
        "table `{name}`: partition directory `{directory}`: value `{value}` of `{column}` is not a valid {data_type}"
    )]
    BadPartitionValue {
        /// The dataset.
        name: String,
        /// The directory (relative to the location).
        directory: String,
        /// The partition column.
        column: String,
        /// The raw value.
        value: String,
        /// The declared type.
        data_type: String,
    },
    /// A file lies outside the declared partition layout.
    #[error(
        "table `{name}`: file `{file}` is not under a `{column}=<value>` directory; declared partition columns: {declared}"
    )]
    MissingPartition {
        /// The dataset.
        name: String,
        /// The file (relative to the location).
        file: String,
        /// The missing column.
        column: String,
        /// The declared columns, in order.
        declared: String,
    },
    /// A declared sort or partition column is not in the table.
    #[error("table `{name}`: {what} column `{column}` is not in the table; columns: {columns}")]
    UnknownColumn {
        /// The dataset.
        name: String,
        /// `sort` or `partition`.
        what: &'static str,
        /// The column.
        column: String,
        /// The table's columns.
        columns: String,
    },
    /// The data contradicts the declared sort order.
    #[error("table `{name}`: declared order `{order}` is contradicted: {detail}")]
    SortContradicted {
        /// The dataset.
        name: String,
        /// The declared order, as SQL.
        order: String,
        /// Where (file and row group) and how.
        detail: String,
    },
    /// The statistics cannot prove the declared sort order.
    #[error(
        "table `{name}`: declared order `{order}` cannot be verified: {detail}; use sort_check = \"full\" to read the sort columns, or sort_policy = \"lenient\""
    )]
    SortUnverified {
        /// The dataset.
        name: String,
        /// The declared order, as SQL.
        order: String,
        /// What is missing.
        detail: String,
    },
    /// An option value out of range.
    #[error("invalid {option} `{value}`: expected {expected}")]
    InvalidOption {
        /// The option.
        option: String,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// DataFusion failed while registering or listing.
    #[error("table `{name}`")]
    DataFusion {
        /// The dataset.
        name: String,
        /// The engine error.
        #[source]
        source: Box<DataFusionError>,
    },
    /// The name is not registered.
    #[error("table `{name}` is not registered")]
    NotRegistered {
        /// The name.
        name: String,
    },
    /// The table's log is damaged: a commit missing from the sequence, a commit that is
    /// not JSON, a checkpoint that is not there.
    #[error("table `{name}`: the Delta log at `{location}` is damaged: {problem}")]
    DeltaLog {
        /// The dataset.
        name: String,
        /// The location as given.
        location: String,
        /// What is wrong, naming the file.
        problem: String,
        /// deltalake's error.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    /// deltalake could not open or read the table.
    #[error("table `{name}`: cannot open the Delta table at `{location}`")]
    Delta {
        /// The dataset.
        name: String,
        /// The location as given.
        location: String,
        /// deltalake's error.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    /// The table's Change Data Feed is not enabled.
    #[error(
        "table `{name}`: the Change Data Feed of `{location}` is not enabled (set the table property delta.enableChangeDataFeed = true; versions {earliest}..={latest} exist)"
    )]
    CdfNotEnabled {
        /// The dataset.
        name: String,
        /// The table's location.
        location: String,
        /// Earliest version in the log.
        earliest: u64,
        /// Latest version.
        latest: u64,
    },
    /// A change-feed or time-travel range outside the table's history.
    #[error(
        "table `{name}`: {what} is outside the table's history: it has versions {earliest}..={latest}"
    )]
    VersionRange {
        /// The dataset.
        name: String,
        /// The range or version asked for.
        what: String,
        /// Earliest version in the log.
        earliest: u64,
        /// Latest version.
        latest: u64,
    },
    /// An existing table's schema differs from the declared one.
    #[error("table `{name}`: the table at `{location}` does not have the declared schema: {}", crate::contract::joined(.differences))]
    DeclaredSchema {
        /// The dataset.
        name: String,
        /// Its location.
        location: String,
        /// Every differing column, expected and found.
        differences: Vec<crate::contract::Difference>,
    },
    /// A change-feed cursor could not be read or written.
    #[error("cursor `{consumer}`: cannot use `{path}`")]
    Cursor {
        /// The consumer.
        consumer: String,
        /// The cursor file.
        path: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// Another reader acknowledged changes first.
    #[error(
        "cursor `{consumer}` on `{table}` moved while the changes were read (expected {}, found {}); read again",
        .expected.map_or_else(|| "no position".to_owned(), |v| format!("version {v}")),
        .found.map_or_else(|| "no position".to_owned(), |v| format!("version {v}"))
    )]
    CursorMoved {
        /// The consumer.
        consumer: String,
        /// The table.
        table: String,
        /// The position the read started from.
        expected: Option<u64>,
        /// The position found when acknowledging.
        found: Option<u64>,
    },
    /// The diagnostics layer failed.
    #[error(transparent)]
    Diagnostics(#[from] unifier_diagnostics::Error),
}

impl Error {
    /// The stable kind recorded in `diagnostics.error.error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::AlreadyRegistered { .. } => "already_registered",
            Error::InvalidName { .. } => "invalid_name",
            Error::MissingLocation { .. } => "missing_location",
            Error::NoFiles { .. } => "no_files",
            Error::NotFormat { .. } => "not_format",
            Error::SchemaConflict(_) => "schema_conflict",
            Error::BadPartitionValue { .. } => "bad_partition_value",
            Error::MissingPartition { .. } => "missing_partition",
            Error::UnknownColumn { .. } => "unknown_column",
            Error::SortContradicted { .. } => "sort_contradicted",
            Error::SortUnverified { .. } => "sort_unverified",
            Error::InvalidOption { .. } => "invalid_option",
            Error::NotRegistered { .. } => "not_registered",
            Error::Delta { .. } => "delta",
            Error::DeltaLog { .. } => "delta_log",
            Error::CdfNotEnabled { .. } => "cdf_not_enabled",
            Error::VersionRange { .. } => "version_range",
            Error::DeclaredSchema { .. } => "declared_schema",
            Error::Cursor { .. } => "cursor",
            Error::CursorMoved { .. } => "cursor_moved",
            Error::DataFusion { .. } => "datafusion",
            Error::Diagnostics(_) => "diagnostics",
        }
    }

    pub(crate) fn datafusion(name: &str) -> impl FnOnce(DataFusionError) -> Error + '_ {
        move |source| Error::DataFusion {
            name: name.to_owned(),
            source: Box::new(source),
        }
    }
}

/// Two files of one listing that disagree on a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaConflict {
    /// The dataset.
    pub name: String,
    /// The column.
    pub column: String,
    /// The first file.
    pub left: String,
    /// Its type for the column.
    pub left_type: String,
    /// The second file.
    pub right: String,
    /// Its type for the column.
    pub right_type: String,
}

/// The error and its causes, joined (see [`unifier_diagnostics::error_chain`]).
pub(crate) fn chain(error: &Error) -> String {
    unifier_diagnostics::error_chain(error)
}
