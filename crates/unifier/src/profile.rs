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
    /// spilling operators; `None` is unlimited.
    pub memory_limit_mb: Option<u64>,
    /// A query running longer is cancelled; `None` waits forever.
    pub query_timeout_ms: Option<u64>,
    /// What a contradicted or unprovable declared sort order does at registration.
    pub sort_policy: SortPolicy,
}

impl Default for RuntimeProfile {
    fn default() -> Self {
        Self {
            batch_size: 8192,
            memory_limit_mb: None,
            query_timeout_ms: None,
            sort_policy: SortPolicy::Strict,
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
    /// Whether events of earlier runs are loaded from `dir`.
    pub history: bool,
}

impl Default for DiagnosticsProfile {
    fn default() -> Self {
        Self {
            capacity: unifier_diagnostics::DEFAULT_CAPACITY,
            dir: None,
            history: true,
        }
    }
}
