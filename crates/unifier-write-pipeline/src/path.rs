//! How a write will run, and why: the provider's insert, deltalake's streaming write, or
//! one of deltalake's operations.

use unifier_io_adapter::SchemaMode;

use crate::request::{CommitOptions, WriteMode, WriterOptions};
use crate::summary::WritePath;
use crate::target::Target;

/// How a write will run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChoice {
    /// The path.
    pub path: WritePath,
    /// Why (recorded in the `write` event).
    pub reason: String,
}

impl PathChoice {
    /// A choice with this path and reason.
    pub(crate) fn new(path: WritePath, reason: impl Into<String>) -> Self {
        Self {
            path,
            reason: reason.into(),
        }
    }
}

/// The path of a plain `INSERT INTO` / `INSERT OVERWRITE` into `target`: the
/// provider's insert unless the table has what that insert would skip.
pub(crate) fn insert_path(target: &Target) -> PathChoice {
    let metadata = target.metadata.as_ref().expect("resolved from the catalog");
    let constraints: Vec<String> = metadata
        .delta
        .iter()
        .flat_map(|d| d.constraints.iter().map(ToString::to_string))
        .collect();
    let not_null: Vec<&str> = metadata
        .schema
        .fields()
        .iter()
        .filter(|f| !f.is_nullable())
        .map(|f| f.name().as_str())
        .collect();
    if !constraints.is_empty() {
        PathChoice::new(
            WritePath::Streaming,
            format!(
                "the table has check constraints ({}), which only deltalake's write enforces",
                constraints.join(", ")
            ),
        )
    } else if !not_null.is_empty() {
        PathChoice::new(
            WritePath::Streaming,
            format!(
                "the table has NOT NULL columns ({}), which only deltalake's write enforces",
                not_null.join(", ")
            ),
        )
    } else {
        PathChoice::new(
            WritePath::Insert,
            "the Delta provider inserts (append/overwrite) and the table has no constraints it would skip",
        )
    }
}

/// The path of deltalake's delete or update.
pub(crate) fn operation_path(verb: &str) -> PathChoice {
    PathChoice::new(
        WritePath::Operation,
        format!("deltalake's {verb} rewrites the affected files and records the change feed"),
    )
}

/// Why a [`WriteRequest`](crate::WriteRequest) streams into deltalake's write.
pub(crate) fn streaming_reason(
    mode: &WriteMode,
    schema_mode: SchemaMode,
    writer: &WriterOptions,
    commit: &CommitOptions,
    partition_by: &[String],
) -> String {
    let mut needs = Vec::new();
    if let WriteMode::ReplaceWhere(_) = mode {
        needs.push("replace-where");
    }
    if matches!(mode, WriteMode::ErrorIfExists | WriteMode::Ignore) {
        needs.push("an existence check");
    }
    if schema_mode == SchemaMode::Additive {
        needs.push("schema evolution");
    }
    if !writer.is_default() {
        needs.push("writer properties");
    }
    if commit.transaction.is_some() {
        needs.push("an idempotent transaction");
    }
    if !commit.metadata.is_empty() {
        needs.push("commit metadata");
    }
    if !partition_by.is_empty() {
        needs.push("partitioning");
    }
    if needs.is_empty() {
        "a write request streams into deltalake's write operation (the schema contract is checked before it)".into()
    } else {
        format!(
            "the request needs {}, which only deltalake's write does",
            needs.join(", ")
        )
    }
}
