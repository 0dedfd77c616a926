//! What a caller asks to write: target, source, mode, partitioning, schema contract,
//! writer and commit options. Typed; no strings where a type fits.

use std::collections::BTreeMap;
use std::fmt;

use arrow::datatypes::SchemaRef;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::SendableRecordBatchStream;
use parquet::basic::Compression;
use unifier_io_adapter::{SchemaMode, WriteOp};

/// Where the rows go.
#[derive(Debug, Clone)]
pub enum WriteTarget {
    /// A registered Delta dataset (at its latest version: a pinned one is read-only).
    Dataset(String),
    /// A Delta table at `location`, created with `schema` when it does not exist. When
    /// `register_as` is given, the table is registered (or refreshed) under that name.
    Location {
        /// A local directory or an object-store URL.
        location: String,
        /// The table's declared schema: the written rows must match it, nothing is inferred.
        schema: SchemaRef,
        /// Register the table under this name after the write.
        register_as: Option<String>,
    },
}

impl WriteTarget {
    /// The table's name in events and errors: the dataset, or `register_as`, or the
    /// location.
    pub fn name(&self) -> &str {
        match self {
            WriteTarget::Dataset(name) => name,
            WriteTarget::Location {
                location,
                register_as,
                ..
            } => register_as.as_deref().unwrap_or(location),
        }
    }
}

/// Where the rows come from. Neither source is collected in memory: plans stream
/// through the writer batch by batch.
pub enum WriteSource {
    /// A planned query (from SQL through the facade's gate, or a DataFrame's plan).
    Plan(LogicalPlan),
    /// A stream of record batches, consumed once.
    Stream(SendableRecordBatchStream),
}

impl fmt::Debug for WriteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteSource::Plan(plan) => f
                .debug_tuple("Plan")
                .field(&plan.display().to_string())
                .finish(),
            WriteSource::Stream(stream) => f
                .debug_tuple("Stream")
                .field(&stream.schema().fields().len())
                .finish(),
        }
    }
}

/// How the write treats rows already in the table.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Add the rows.
    #[default]
    Append,
    /// Replace every row.
    Overwrite,
    /// Replace the rows matching a SQL predicate (every written row must match it).
    ReplaceWhere(String),
    /// Fail when the table exists.
    ErrorIfExists,
    /// Do nothing when the table exists.
    Ignore,
}

impl WriteMode {
    /// The operation on the table, as the catalog's capabilities name it: an overwrite
    /// for `overwrite` and `replace_where`, an append otherwise.
    pub fn op(&self) -> WriteOp {
        match self {
            WriteMode::Overwrite | WriteMode::ReplaceWhere(_) => WriteOp::Overwrite,
            WriteMode::Append | WriteMode::ErrorIfExists | WriteMode::Ignore => WriteOp::Append,
        }
    }

    /// The name recorded in `diagnostics.write.mode`.
    pub fn as_str(&self) -> &'static str {
        match self {
            WriteMode::Append => "append",
            WriteMode::Overwrite => "overwrite",
            WriteMode::ReplaceWhere(_) => "replace_where",
            WriteMode::ErrorIfExists => "error_if_exists",
            WriteMode::Ignore => "ignore",
        }
    }
}

impl std::str::FromStr for WriteMode {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "append" => WriteMode::Append,
            "overwrite" => WriteMode::Overwrite,
            "error_if_exists" => WriteMode::ErrorIfExists,
            "ignore" => WriteMode::Ignore,
            other => {
                return Err(crate::Error::InvalidRequest {
                    reason: format!(
                        "unknown write mode `{other}`: use append, overwrite, error_if_exists or ignore (replace_where takes a predicate)"
                    ),
                });
            }
        })
    }
}

/// Parquet writer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterOptions {
    /// Compression codec of the data files (deltalake's default when `None`).
    pub compression: Option<Compression>,
    /// Target size of each data file, bytes.
    pub target_file_size: Option<u64>,
}

impl WriterOptions {
    /// Whether anything differs from the table's defaults.
    pub fn is_default(&self) -> bool {
        *self == WriterOptions::default()
    }
}

/// An application transaction: the write commits once per `(app_id, version)`; a retry
/// of a version already committed is a reported no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The writing application.
    pub app_id: String,
    /// Its monotonically increasing version.
    pub version: i64,
}

/// What goes into the commit besides the data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitOptions {
    /// User metadata recorded in the commit info.
    pub metadata: BTreeMap<String, String>,
    /// Idempotence.
    pub transaction: Option<Transaction>,
}

impl CommitOptions {
    /// Whether anything is asked of the commit.
    pub fn is_default(&self) -> bool {
        self.metadata.is_empty() && self.transaction.is_none()
    }
}

/// One write.
#[derive(Debug)]
pub struct WriteRequest {
    /// Where.
    pub target: WriteTarget,
    /// What.
    pub source: WriteSource,
    /// How it treats existing rows.
    pub mode: WriteMode,
    /// Partition columns of a table the write creates (must match an existing table's).
    pub partition_by: Vec<String>,
    /// The schema contract.
    pub schema_mode: SchemaMode,
    /// Writer settings.
    pub writer: WriterOptions,
    /// Commit settings.
    pub commit: CommitOptions,
}

impl WriteRequest {
    /// Appends `source` to `target`, strictly.
    pub fn new(target: WriteTarget, source: WriteSource) -> Self {
        Self {
            target,
            source,
            mode: WriteMode::default(),
            partition_by: Vec::new(),
            schema_mode: SchemaMode::default(),
            writer: WriterOptions::default(),
            commit: CommitOptions::default(),
        }
    }

    /// With this mode.
    #[must_use]
    pub fn with_mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }

    /// Partitioned by these columns.
    #[must_use]
    pub fn with_partition_by(mut self, columns: Vec<String>) -> Self {
        self.partition_by = columns;
        self
    }

    /// With this schema contract.
    #[must_use]
    pub fn with_schema_mode(mut self, mode: SchemaMode) -> Self {
        self.schema_mode = mode;
        self
    }

    /// With these writer settings.
    #[must_use]
    pub fn with_writer(mut self, writer: WriterOptions) -> Self {
        self.writer = writer;
        self
    }

    /// With these commit settings.
    #[must_use]
    pub fn with_commit(mut self, commit: CommitOptions) -> Self {
        self.commit = commit;
        self
    }
}
