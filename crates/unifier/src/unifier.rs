//! [`Unifier`]: the struct and its construction (session, runtime, memory pool, policy).
//! What it does lives above it: compile, execute, explain, define (registrations,
//! views, tables), writes.

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use unifier_diagnostics::DiagnosticsRecorder;
use unifier_io_adapter::{IfExists, IoAdapter, RegisterOptions, WriteCapabilities};
use unifier_policy::{Policy, StatementClass};
use unifier_write_pipeline::WritePipeline;

use crate::error::{Error, Result};
use crate::physical::{DecodeJoinFilters, OrderedConcat};
use crate::prepared::PreparedPlans;
use crate::profile::UnifierProfile;

/// One governed entry point: a policy, a catalog (the IO adapter over one DataFusion
/// session), a diagnostics recorder and the runtime limits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Unifier {
    pub(crate) policy: Arc<Policy>,
    pub(crate) io: IoAdapter,
    pub(crate) profile: Arc<UnifierProfile>,
    pub(crate) prepared: PreparedPlans,
    pub(crate) writes: WritePipeline,
    /// The memory pool's size in MiB (`None`: unlimited), as the profile resolved it.
    pub(crate) memory_limit_mb: Option<u64>,
}

/// The largest `[runtime] batch_size` accepted, in rows.
pub const MAX_BATCH_SIZE: usize = 1 << 24;

/// The largest `[scan] target_partitions` accepted.
pub const MAX_TARGET_PARTITIONS: usize = 4096;

impl Unifier {
    /// A `Unifier` with its own session, recorder (and JSON-lines sink when the profile
    /// names a directory) built from `profile`.
    pub fn new(profile: UnifierProfile) -> Result<Self> {
        let mut recorder = DiagnosticsRecorder::builder()
            .with_capacity(profile.diagnostics.capacity)
            .with_history(profile.diagnostics.history)
            .with_retention(profile.diagnostics.retention());
        if let Some(dir) = &profile.diagnostics.dir {
            recorder = recorder.with_jsonl_dir(dir);
        }
        Self::with_recorder(profile, recorder.build()?)
    }

    /// A `Unifier` recording into an existing recorder.
    pub fn with_recorder(profile: UnifierProfile, recorder: DiagnosticsRecorder) -> Result<Self> {
        let policy = Policy::new(profile.policy.clone())?;
        let mut runtime = RuntimeEnvBuilder::new();
        let mut pool_bytes = None;
        let memory_limit_mb = profile.runtime.memory_limit();
        if let Some(mb) = memory_limit_mb {
            let bytes = usize::try_from(mb.saturating_mul(1024 * 1024))
                .map_err(|_| Error::Runtime(format!("memory_limit_mb = {mb} is too large")))?;
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
            pool_bytes = Some(bytes);
        }
        if let Some(dir) = &profile.runtime.spill_dir {
            // Spill files go into a fresh directory under `dir`, removed with the session
            // (each file is removed as soon as its operator is done with it).
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Runtime(format!("cannot create spill_dir `{}`: {e}", dir.display()))
            })?;
            runtime = runtime.with_disk_manager_builder(
                DiskManagerBuilder::default()
                    .with_mode(DiskManagerMode::Directories(vec![dir.clone()])),
            );
        }
        if !profile.runtime.cache_file_lists {
            // Every query lists its datasets' locations again: a file deleted or added
            // since registration is seen (DataFusion keeps file lists by default, and then
            // answers `count(*)` from the statistics of files that are gone).
            runtime = runtime
                .with_cache_manager(CacheManagerConfig::default().with_list_files_cache_limit(0));
        }
        let runtime = runtime
            .build_arc()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        if profile.runtime.batch_size == 0 {
            return Err(Error::Runtime("batch_size must be at least 1".into()));
        }
        // Operators allocate for a whole batch up front: an absurd size is refused here
        // rather than failing (or aborting) the first query.
        if profile.runtime.batch_size > MAX_BATCH_SIZE {
            return Err(Error::Runtime(format!(
                "batch_size = {} is too large: at most {MAX_BATCH_SIZE} rows per batch",
                profile.runtime.batch_size
            )));
        }
        if profile.scan.target_partitions > MAX_TARGET_PARTITIONS {
            return Err(Error::Runtime(format!(
                "target_partitions = {} is too large: at most {MAX_TARGET_PARTITIONS} (0: one per core)",
                profile.scan.target_partitions
            )));
        }
        let mut config = profile
            .scan
            .apply(SessionConfig::new().with_batch_size(profile.runtime.batch_size));
        // Planning errors then carry the span of the SQL they are about
        // (`DataFusionError::diagnostic`), so callers can point at it.
        config.options_mut().sql_parser.collect_spans = true;
        if let Some(bytes) = pool_bytes {
            // A sort that spills keeps this much back to merge its spill files: DataFusion's
            // fixed 10 MiB would fail every spilling sort under a limit below ~20 MiB.
            let execution = &mut config.options_mut().execution;
            execution.sort_spill_reservation_bytes =
                execution.sort_spill_reservation_bytes.min(bytes / 16);
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features();
        if profile.runtime.ordered_concat {
            state = state.with_physical_optimizer_rule(Arc::new(OrderedConcat));
        }
        if profile.runtime.decode_join_filters {
            state = state.with_physical_optimizer_rule(Arc::new(DecodeJoinFilters));
        }
        let ctx = SessionContext::new_with_state(state.build());
        let io = IoAdapter::new(ctx, profile.scan, recorder)?;
        // What the policy cannot write, no dataset offers (`unifier tables`,
        // `system.datasets`).
        if !allows_writes(&policy) {
            io.limit_writes(WriteCapabilities::NONE);
        }
        Ok(Self {
            policy: Arc::new(policy),
            writes: WritePipeline::new(io.clone()),
            io,
            profile: Arc::new(profile),
            prepared: PreparedPlans::default(),
            memory_limit_mb,
        })
    }

    /// The recorder.
    pub fn recorder(&self) -> &DiagnosticsRecorder {
        self.io.recorder()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The profile.
    pub fn profile(&self) -> &UnifierProfile {
        &self.profile
    }

    /// The size of the memory pool the queries share, in MiB (`None`: unlimited): the
    /// profile's `memory_limit_mb`, or the default it resolved to (see
    /// [`RuntimeProfile::memory_limit`](crate::RuntimeProfile::memory_limit)).
    pub fn memory_limit_mb(&self) -> Option<u64> {
        self.memory_limit_mb
    }

    /// Registration options with the profile's sort policy.
    pub(crate) fn register_options(&self, if_exists: IfExists) -> RegisterOptions {
        RegisterOptions {
            if_exists,
            sort_policy: self.profile.runtime.sort_policy,
        }
    }
}

/// Whether `policy` lets anything be written (its classes include `dml`).
pub(crate) fn allows_writes(policy: &Policy) -> bool {
    policy
        .profile()
        .allowed_classes
        .contains(&StatementClass::Dml)
}
