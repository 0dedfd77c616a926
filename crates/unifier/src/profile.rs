//! The profile a [`crate::Unifier`] is built from: policy, runtime, scan, diagnostics.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use unifier_io_adapter::{ScanPolicy, SortPolicy};
use unifier_policy::PolicyProfile;

/// Everything a `Unifier` is configured with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnifierProfile {
    /// The statement gate.
    pub policy: PolicyProfile,
    /// Execution resources and limits.
    pub runtime: RuntimeProfile,
    /// How scans read files.
    pub scan: ScanPolicy,
    /// Where events go.
    pub diagnostics: DiagnosticsProfile,
}

/// Execution resources and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeProfile {
    /// Rows per record batch.
    pub batch_size: usize,
    /// Memory the queries of this `Unifier` may hold, in MiB, shared fairly between
    /// spilling operators; beyond it they spill to `spill_dir`, and what cannot spill
    /// fails with "resources exhausted". `None` (the default) is 80 % of the memory this
    /// process may use (the machine's, its cgroup's limit, half its address-space
    /// limit: the smallest); `Some(0)` is unlimited. A spilling sort keeps back a
    /// sixteenth of the pool (at most DataFusion's 10 MiB) to merge its spill files.
    pub memory_limit_mb: Option<u64>,
    /// Where spilling operators write their temporary files: a fresh directory inside
    /// it, removed with the `Unifier`; each file is removed once its operator is done.
    /// `None` is the OS temporary directory (`TMPDIR`).
    pub spill_dir: Option<PathBuf>,
    /// A query running longer is cancelled; `None` waits forever.
    pub query_timeout_ms: Option<u64>,
    /// What a contradicted or unprovable declared sort order does at registration.
    pub sort_policy: SortPolicy,
    /// Replace the merge of sorted partitions whose key ranges are disjoint (proved by
    /// statistics) with their concatenation in key order ([`crate::physical::OrderedConcat`]).
    pub ordered_concat: bool,
    /// Evaluate a hash join's key filter while decoding the probe side's parquet files
    /// ([`crate::physical::DecodeJoinFilters`]).
    pub decode_join_filters: bool,
    /// Keep the files a location lists between queries (DataFusion's list-files cache).
    /// Off by default: each query lists again, so files deleted or added since
    /// registration are seen; on saves a listing per query (object stores) at the price
    /// of answers from the file list of the first listing until `refresh`.
    pub cache_file_lists: bool,
}

impl Default for RuntimeProfile {
    fn default() -> Self {
        Self {
            batch_size: 8192,
            memory_limit_mb: None,
            spill_dir: None,
            query_timeout_ms: None,
            sort_policy: SortPolicy::Strict,
            ordered_concat: true,
            decode_join_filters: true,
            cache_file_lists: false,
        }
    }
}

impl RuntimeProfile {
    /// The memory pool's size in MiB that `memory_limit_mb` resolves to on this
    /// machine: `None` (unlimited) for `Some(0)`, or where nothing bounds the process.
    pub fn memory_limit(&self) -> Option<u64> {
        match self.memory_limit_mb {
            Some(0) => None,
            Some(mb) => Some(mb),
            None => crate::memory::MemoryBounds::of_this_process().default_limit_mb(),
        }
    }
}

/// Where events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiagnosticsProfile {
    /// Capacity of the in-memory buffer, in events.
    pub capacity: usize,
    /// Directory of the JSON-lines sink; events of earlier runs are read back from it.
    pub dir: Option<PathBuf>,
    /// Whether events of earlier runs are read from `dir` (when a `diagnostics.*` table
    /// is first scanned, not at start).
    pub history: bool,
    /// Session files in `dir` older than this many days are deleted at start.
    pub retention_days: Option<u64>,
    /// Then the oldest session files are deleted until `dir` holds at most this many MiB.
    pub max_mb: Option<u64>,
    /// Keep statements in events as written (literals included). By default events keep
    /// them normalized: literals replaced by `$1`, `$2`, …, as `pg_stat_statements` does,
    /// and literals quoted in error messages blanked.
    pub full_sql: bool,
}

impl DiagnosticsProfile {
    /// The retention of the JSON-lines directory.
    pub fn retention(&self) -> unifier_diagnostics::Retention {
        unifier_diagnostics::Retention {
            max_age: self
                .retention_days
                .map(|days| std::time::Duration::from_secs(days.saturating_mul(86_400))),
            max_bytes: self.max_mb.map(|mb| mb.saturating_mul(1024 * 1024)),
        }
    }
}

impl Default for DiagnosticsProfile {
    fn default() -> Self {
        Self {
            capacity: unifier_diagnostics::DEFAULT_CAPACITY,
            dir: None,
            history: true,
            retention_days: None,
            max_mb: None,
            full_sql: false,
        }
    }
}
