//! The catalog: owns the session's tables; every registration goes through here.
//!
//! Each kind of dataset prepares its provider and metadata elsewhere (`listing.rs`,
//! `delta.rs`, the in-memory kinds below); this module names, commits, replaces and
//! removes them, records the `register` and `error` events, and serves the live
//! `diagnostics.*` and `system.datasets` tables.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemorySchemaProvider, TableProvider};
use datafusion::common::TableReference;
use datafusion::datasource::{MemTable, ViewTable};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::DeltaTable;
use unifier_diagnostics::{
    DiagnosticsContext, DiagnosticsRecorder, ErrorEvent, EventKind, RegisterEvent, Status,
};

use crate::cdf::{ResolveDelta, TableChanges};
use crate::error::{Error, Result};
use crate::live::{LiveTable, Producer};
use crate::metadata::{
    DeltaInfo, FilterPushdown, TableProviderMetadata, WriteCapabilities, datasets_batch,
    datasets_schema,
};
use crate::spec::{DatasetKind, DatasetSpec, RegisterOptions, ScanPolicy};

mod commit;
mod in_memory;

/// Schema holding the live diagnostics tables.
pub const DIAGNOSTICS_SCHEMA: &str = "diagnostics";
/// Schema holding `system.datasets`.
pub const SYSTEM_SCHEMA: &str = "system";
/// Schemas no user registration may use.
pub const RESERVED_SCHEMAS: &[&str] = &[DIAGNOSTICS_SCHEMA, SYSTEM_SCHEMA, "information_schema"];

/// Rows per batch of the live diagnostics tables.
const LIVE_BATCH_ROWS: usize = 8192;

impl ScanPolicy {
    /// Applies the policy to a session configuration.
    pub fn apply(&self, mut config: SessionConfig) -> SessionConfig {
        {
            let options = config.options_mut();
            let parquet = &mut options.execution.parquet;
            parquet.pruning = self.parquet_pruning;
            parquet.skip_metadata = self.skip_metadata;
            parquet.pushdown_filters = self.pushdown_filters;
            parquet.reorder_filters = self.reorder_filters;
            parquet.enable_page_index = self.page_index;
            options.execution.collect_statistics = self.collect_statistics;
        }
        if self.target_partitions > 0 {
            config = config.with_target_partitions(self.target_partitions);
        }
        config
    }
}

/// The catalog of one DataFusion session: registers listing tables, Delta tables and
/// their change feeds, batches, views and providers with typed options, verifies
/// declared orderings, keeps capability metadata and exposes `diagnostics.*` and
/// `system.datasets` as live tables.
#[derive(Debug, Clone)]
pub struct IoAdapter {
    inner: Arc<Inner>,
}

/// One registered name.
#[derive(Clone)]
struct Entry {
    metadata: TableProviderMetadata,
    /// The spec it was registered from (for [`IoAdapter::refresh`]).
    spec: Option<DatasetSpec>,
    /// The options it was registered with.
    options: RegisterOptions,
    /// The Delta table behind a `delta` dataset (at the registered snapshot).
    delta: Option<DeltaTable>,
}

struct Inner {
    ctx: SessionContext,
    recorder: DiagnosticsRecorder,
    scan: ScanPolicy,
    catalog: Mutex<BTreeMap<String, Entry>>,
    generation: AtomicU64,
    /// Where verified sort orders are remembered, when set.
    sort_cache: std::sync::OnceLock<crate::sortcache::SortCache>,
    /// The writes the caller's policy allows at all: every dataset's capabilities are
    /// reported within them ([`IoAdapter::limit_writes`]).
    write_mask: Mutex<WriteCapabilities>,
}

impl Inner {
    /// `entry`'s metadata, its capabilities within the write mask.
    fn metadata(&self, entry: &Entry) -> TableProviderMetadata {
        let mut metadata = entry.metadata.clone();
        metadata.capabilities = metadata.capabilities.within(*lock(&self.write_mask));
        metadata
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoAdapter")
            .field("session_id", &self.ctx.session_id())
            .field("scan", &self.scan)
            .field("datasets", &lock(&self.catalog).keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ResolveDelta for Inner {
    fn resolve(&self, name: &str) -> std::result::Result<(DeltaTable, DeltaInfo), String> {
        let catalog = lock(&self.catalog);
        let entry = catalog.get(name).ok_or_else(|| {
            format!("table `{name}` is not registered; register it with kind = \"delta\"")
        })?;
        match (&entry.delta, &entry.metadata.delta) {
            (Some(table), Some(info)) => Ok((table.clone(), info.clone())),
            _ => Err(format!(
                "table `{name}` is a {} dataset, not a Delta table",
                entry.metadata.kind.as_str()
            )),
        }
    }

    fn cdf_recorder(&self) -> DiagnosticsRecorder {
        self.recorder.clone()
    }
}

/// A name split into its optional schema and table.
pub(crate) struct Name {
    pub(crate) full: String,
    schema: Option<String>,
    table: String,
}

impl Name {
    fn reference(&self) -> TableReference {
        match &self.schema {
            Some(schema) => TableReference::partial(schema.as_str(), self.table.as_str()),
            None => TableReference::bare(self.table.as_str()),
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) fn parse_name(name: &str, internal: bool) -> Result<Name> {
    let invalid = |reason: &str| Error::InvalidName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| is_identifier(p)) {
        return Err(invalid(
            "use `table` or `schema.table` of lowercase letters, digits and `_` (SQL folds unquoted names to lowercase)",
        ));
    }
    let (schema, table) = match parts[..] {
        [table] => (None, table),
        [schema, table] => (Some(schema.to_owned()), table),
        _ => unreachable!("checked above"),
    };
    if let Some(schema) = &schema
        && !internal
        && RESERVED_SCHEMAS.contains(&schema.as_str())
    {
        return Err(invalid(&format!(
            "schema `{schema}` is reserved for unifier"
        )));
    }
    Ok(Name {
        full: name.to_owned(),
        schema,
        table: table.to_owned(),
    })
}

/// What a finished (not yet committed) registration carries.
pub(crate) struct Prepared {
    pub(crate) provider: Arc<dyn TableProvider>,
    pub(crate) metadata: TableProviderMetadata,
    pub(crate) delta: Option<DeltaTable>,
    /// Options recorded in the `register` event besides the registration options.
    pub(crate) event_options: serde_json::Map<String, serde_json::Value>,
}

impl Prepared {
    pub(crate) fn new(provider: Arc<dyn TableProvider>, metadata: TableProviderMetadata) -> Self {
        Self {
            provider,
            metadata,
            delta: None,
            event_options: serde_json::Map::new(),
        }
    }
}

impl IoAdapter {
    /// An adapter over `ctx` (whose configuration should come from
    /// [`ScanPolicy::apply`]). Creates the `diagnostics` and `system` schemas and the
    /// `table_changes` table function.
    pub fn new(
        ctx: SessionContext,
        scan: ScanPolicy,
        recorder: DiagnosticsRecorder,
    ) -> Result<Self> {
        let adapter = Self {
            inner: Arc::new(Inner {
                ctx,
                recorder,
                scan,
                catalog: Mutex::new(BTreeMap::new()),
                generation: AtomicU64::new(0),
                sort_cache: std::sync::OnceLock::new(),
                write_mask: Mutex::new(WriteCapabilities::ALL),
            }),
        };
        adapter.register_live_tables()?;
        adapter.register_table_functions();
        Ok(adapter)
    }

    /// An adapter over a fresh session configured by `scan`, recording into `recorder`.
    pub fn with_defaults(scan: ScanPolicy, recorder: DiagnosticsRecorder) -> Result<Self> {
        let ctx = SessionContext::new_with_config(scan.apply(SessionConfig::new()));
        Self::new(ctx, scan, recorder)
    }

    /// Remembers verified sort orders in the JSON file at `path`: a listing dataset whose
    /// files (path, size, modification time), declared order and check are unchanged
    /// since it was last verified is not read again. Set once; returns false (and changes
    /// nothing) when a cache is already set.
    pub fn remember_sort_orders_in(&self, path: impl Into<std::path::PathBuf>) -> bool {
        self.inner
            .sort_cache
            .set(crate::sortcache::SortCache::new(path.into()))
            .is_ok()
    }

    pub(crate) fn sort_cache(&self) -> Option<&crate::sortcache::SortCache> {
        self.inner.sort_cache.get()
    }

    /// The DataFusion session the catalog registers into, for the layers above that plan
    /// and run what they have already checked (the facade, the write pipeline).
    ///
    /// It is the engine itself, with no gate: SQL run through it is not checked by any
    /// policy, writes through it skip the write check and the write pipeline (no
    /// capabilities, no contract, no `write` event), files it reads skip the file-access
    /// rule, tables it registers bypass the catalog (no metadata, no `register` event),
    /// and nothing it runs leaves an `execute` event. Applications take a `Unifier`
    /// instead, which hands this session out only through `Unifier::unchecked_io` when
    /// the policy sets `allow_unchecked`.
    pub fn session(&self) -> &SessionContext {
        &self.inner.ctx
    }

    /// The recorder every registration records into.
    pub fn recorder(&self) -> &DiagnosticsRecorder {
        &self.inner.recorder
    }

    /// The scan policy in force.
    pub fn scan_policy(&self) -> ScanPolicy {
        self.inner.scan
    }

    /// Bumped on every (re)registration and deregistration: anything cached about the
    /// catalog (schemas, plans, introspection) is stale once it changes.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Metadata of every registered dataset (system tables included), by name.
    pub fn datasets(&self) -> Vec<TableProviderMetadata> {
        lock(&self.inner.catalog)
            .values()
            .map(|e| self.inner.metadata(e))
            .collect()
    }

    /// Metadata of one dataset.
    pub fn dataset(&self, name: &str) -> Option<TableProviderMetadata> {
        lock(&self.inner.catalog)
            .get(name)
            .map(|e| self.inner.metadata(e))
    }

    /// Reports every dataset's write capabilities within `allowed`: what the caller's
    /// policy lets anyone write at all (a read-only policy: none). Metadata, the
    /// `system.datasets` table and the write check ([`TableProviderMetadata::capabilities`]
    /// is what they read) then show and accept only writes that can happen.
    pub fn limit_writes(&self, allowed: WriteCapabilities) {
        *lock(&self.inner.write_mask) = allowed;
    }

    /// The spec a dataset was registered from (`None` for batches, views, providers).
    pub fn spec(&self, name: &str) -> Option<DatasetSpec> {
        lock(&self.inner.catalog)
            .get(name)
            .and_then(|e| e.spec.clone())
    }

    /// The Delta table behind a `delta` dataset, at the snapshot registered.
    pub fn delta_table(&self, name: &str) -> Option<DeltaTable> {
        lock(&self.inner.catalog)
            .get(name)
            .and_then(|e| e.delta.clone())
    }

    fn register_table_functions(&self) {
        let weak: std::sync::Weak<dyn ResolveDelta> = Arc::downgrade(&self.inner) as _;
        self.inner
            .ctx
            .register_udtf("table_changes", Arc::new(TableChanges::new(weak)));
    }

    fn register_live_tables(&self) -> Result<()> {
        let live = |name: String, schema: SchemaRef, producer: Producer| -> Result<()> {
            let provider = Arc::new(LiveTable::new(name.clone(), schema.clone(), producer));
            let metadata = TableProviderMetadata::new(&name, DatasetKind::System, schema);
            self.commit(
                parse_name(&name, true)?,
                Prepared::new(provider, metadata),
                None,
                RegisterOptions::replace(),
                None,
            )
            .map(drop)
        };
        for kind in EventKind::ALL.iter().copied().map(Some).chain([None]) {
            let recorder = self.inner.recorder.clone();
            let table = kind.map_or(unifier_diagnostics::EVENTS_TABLE, |k| k.name());
            let schema = kind.map_or_else(unifier_diagnostics::events_schema, |k| k.schema());
            live(
                format!("{DIAGNOSTICS_SCHEMA}.{table}"),
                schema,
                Arc::new(move || {
                    let (_, batches) = recorder
                        .record_batches(kind, LIVE_BATCH_ROWS)
                        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                    Ok(batches)
                }),
            )?;
        }
        let recorder = self.inner.recorder.clone();
        live(
            format!(
                "{DIAGNOSTICS_SCHEMA}.{}",
                unifier_diagnostics::RECORDER_TABLE
            ),
            unifier_diagnostics::recorder_schema(),
            Arc::new(move || {
                let batch = recorder
                    .stats_batch()
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                Ok(vec![batch])
            }),
        )?;
        let inner = Arc::downgrade(&self.inner);
        live(
            format!("{SYSTEM_SCHEMA}.datasets"),
            datasets_schema(),
            Arc::new(move || {
                let Some(inner) = inner.upgrade() else {
                    return Ok(vec![]);
                };
                let datasets: Vec<_> = lock(&inner.catalog)
                    .values()
                    .map(|e| inner.metadata(e))
                    .collect();
                Ok(vec![datasets_batch(&datasets)?])
            }),
        )
    }

    /// Registers a dataset described by `spec` as `name`: a listing table, a Delta table
    /// or a Delta table's change feed.
    ///
    /// Listing tables: lists the files, checks every partition directory against the
    /// declared types, infers each file's schema (a file that is not the format, or two
    /// files that disagree on a column, fail naming the files), verifies the declared
    /// sort order. Delta: loads the snapshot (time travel when pinned), reads its
    /// protocol, features and constraints. Only then is the provider swapped in; on
    /// error the catalog is unchanged.
    pub async fn register(
        &self,
        name: &str,
        spec: impl Into<DatasetSpec>,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        let spec = spec.into();
        let diag = self.inner.recorder.begin("register");
        let started = Instant::now();
        let outcome = async {
            let parsed = parse_name(name, false)?;
            self.check_free(&parsed, options)?;
            let prepared = match &spec {
                DatasetSpec::Listing(listing) => {
                    self.prepare_listing(&parsed.full, listing, options).await?
                }
                DatasetSpec::Delta(delta) => self.prepare_delta(&parsed.full, delta).await?,
                DatasetSpec::DeltaCdf(cdf) => self.prepare_delta_cdf(&parsed.full, cdf).await?,
            };
            self.commit(
                parsed,
                prepared,
                Some(spec.clone()),
                options,
                Some((&diag, started)),
            )
        }
        .await;
        self.record_failure(&diag, started, name, outcome)
    }

    /// Registers `name` again from the spec it was registered with: a Delta table moves
    /// to its latest version (unless pinned), a listing table is listed and verified
    /// again. Views, batches and providers have no spec and are left as they are.
    pub async fn refresh(&self, name: &str) -> Result<TableProviderMetadata> {
        let found = lock(&self.inner.catalog)
            .get(name)
            .map(|e| (e.spec.clone(), e.options));
        match found {
            Some((Some(spec), options)) => {
                // DataFusion keeps listed files (its list-files cache, on by default): a
                // refresh must see the location as it is now, files deleted or added.
                if let Some(cache) = self
                    .inner
                    .ctx
                    .runtime_env()
                    .cache_manager
                    .get_list_files_cache()
                {
                    cache.clear();
                }
                let options = RegisterOptions::replace().with_sort_policy(options.sort_policy);
                self.register(name, spec, options).await
            }
            Some((None, _)) => self
                .dataset(name)
                .ok_or_else(|| Error::NotRegistered { name: name.into() }),
            None => Err(Error::NotRegistered { name: name.into() }),
        }
    }

    /// Runs a synchronous registration: names it, checks the name is free, commits what
    /// `prepare` built, records the event (or the failure).
    fn registered(
        &self,
        name: &str,
        options: RegisterOptions,
        prepare: impl FnOnce() -> Result<Prepared>,
    ) -> Result<TableProviderMetadata> {
        let diag = self.inner.recorder.begin("register");
        let started = Instant::now();
        let outcome = (|| {
            let parsed = parse_name(name, false)?;
            self.check_free(&parsed, options)?;
            let prepared = prepare()?;
            self.commit(parsed, prepared, None, options, Some((&diag, started)))
        })();
        self.record_failure(&diag, started, name, outcome)
    }

    /// Removes a registration; returns whether it existed.
    pub fn deregister(&self, name: &str) -> Result<bool> {
        let parsed = parse_name(name, false)?;
        let mut catalog = lock(&self.inner.catalog);
        if catalog.remove(&parsed.full).is_none() {
            return Ok(false);
        }
        let reference = parsed.reference();
        self.inner
            .ctx
            .deregister_table(reference.clone())
            .map_err(Error::datafusion(name))?;
        self.invalidate(&reference);
        Ok(true)
    }

    fn check_free(&self, name: &Name, options: RegisterOptions) -> Result<()> {
        if !options.replaces() && lock(&self.inner.catalog).contains_key(&name.full) {
            return Err(Error::AlreadyRegistered {
                name: name.full.clone(),
            });
        }
        Ok(())
    }

    fn invalidate(&self, reference: &TableReference) {
        let cache = &self.inner.ctx.runtime_env().cache_manager;
        if let Some(files) = cache.get_list_files_cache() {
            files.drop_table_entries(reference).ok();
        }
        if let Some(stats) = cache.get_file_statistic_cache() {
            stats.drop_table_entries(reference).ok();
        }
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }
}
