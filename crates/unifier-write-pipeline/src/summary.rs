//! What a write did: the summary returned to the caller and recorded as a `write` event.

use std::time::Duration;

use serde::Serialize;
use unifier_io_adapter::WriteOp;

use crate::request::WriteMode;

/// How the rows reached the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WritePath {
    /// DataFusion's insert into the Delta provider (`INSERT INTO` planned as usual).
    Insert,
    /// deltalake's write operation, streaming the source's batches.
    Streaming,
    /// deltalake's delete or update operation (records the change feed).
    Operation,
}

impl WritePath {
    /// The name recorded in `diagnostics.write.path`.
    pub fn as_str(self) -> &'static str {
        match self {
            WritePath::Insert => "insert",
            WritePath::Streaming => "streaming",
            WritePath::Operation => "operation",
        }
    }
}

/// Whether the write committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitOutcome {
    /// A new table version was committed.
    Committed,
    /// Nothing to commit: an idempotent retry, `ignore` on an existing table, or an
    /// operation that matched no rows.
    Noop,
    /// Nothing was committed: the write failed (the table is unchanged).
    Failed,
}

impl CommitOutcome {
    /// The name recorded in `diagnostics.write.commit`.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitOutcome::Committed => "committed",
            CommitOutcome::Noop => "noop",
            CommitOutcome::Failed => "failed",
        }
    }
}

/// What one write did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteSummary {
    /// Target table (registered name, or the location).
    pub table: String,
    /// The table's location.
    pub location: Option<String>,
    /// How the rows went in.
    pub path: WritePath,
    /// Why that path.
    pub path_reason: String,
    /// The operation on the table: the capability the write used.
    pub op: WriteOp,
    /// The mode of a [`WriteRequest`](crate::WriteRequest); `None` for a statement
    /// (`INSERT`, `DELETE`, `UPDATE`), whose operation says it all.
    pub mode: Option<WriteMode>,
    /// Rows written (deleted, updated).
    pub rows: u64,
    /// Files added by the commit.
    pub files_added: u64,
    /// Files removed by the commit.
    pub files_removed: u64,
    /// Bytes of the files added.
    pub bytes_added: u64,
    /// Version before the write.
    pub version_before: Option<u64>,
    /// Version committed (`None` when nothing was).
    pub version_after: Option<u64>,
    /// Committed, no-op or failed.
    pub commit: CommitOutcome,
    /// Wall time of the write.
    #[serde(skip)]
    pub duration: Duration,
}

impl WriteSummary {
    /// The name recorded in `diagnostics.write.mode`: the request's mode, else the
    /// operation (`append`, `overwrite`, `replace_where`, `error_if_exists`, `ignore`,
    /// `delete`, `update`).
    pub fn mode_name(&self) -> &'static str {
        mode_name(self.op, self.mode.as_ref())
    }
}

/// See [`WriteSummary::mode_name`].
pub(crate) fn mode_name(op: WriteOp, mode: Option<&WriteMode>) -> &'static str {
    mode.map_or(op.as_str(), WriteMode::as_str)
}
