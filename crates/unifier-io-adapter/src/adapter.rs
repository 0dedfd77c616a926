//! The adapter: owns the session's catalog; every registration goes through here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemorySchemaProvider, TableProvider};
use datafusion::common::{Column, ScalarValue, TableReference};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::file_format::avro::AvroFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::{MemTable, ViewTable};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan, SortExpr};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore};
use unifier_diagnostics::{
    DiagnosticsContext, DiagnosticsRecorder, ErrorEvent, EventKind, RegisterEvent, Status,
};

use crate::error::{Error, Result};
use crate::live::{LiveTable, Producer};
use crate::metadata::{FilterPushdown, TableProviderMetadata, datasets_batch, datasets_schema};
use crate::sortcheck::{self, Finding, ParquetFooter, SortVerification, VerifiedBy};
use crate::spec::{
    DatasetKind, FileFormatKind, ListingSpec, RegisterOptions, ScanPolicy, SortCheck, SortPolicy,
    sort_order_sql,
};

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

/// The catalog of one DataFusion session: registers listing tables, batches, views and
/// providers with typed options, verifies declared orderings, keeps capability metadata
/// and exposes `diagnostics.*` and `system.datasets` as live tables.
#[derive(Debug, Clone)]
pub struct IoAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: SessionContext,
    recorder: DiagnosticsRecorder,
    scan: ScanPolicy,
    catalog: Mutex<BTreeMap<String, TableProviderMetadata>>,
    generation: AtomicU64,
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

/// A name split into its optional schema and table.
struct Name {
    full: String,
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

fn parse_name(name: &str, internal: bool) -> Result<Name> {
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
struct Prepared {
    provider: Arc<dyn TableProvider>,
    metadata: TableProviderMetadata,
}

impl IoAdapter {
    /// An adapter over `ctx` (whose configuration should come from
    /// [`ScanPolicy::apply`]). Creates the `diagnostics` and `system` schemas.
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
            }),
        };
        adapter.register_live_tables()?;
        Ok(adapter)
    }

    /// An adapter over a fresh session configured by `scan`, recording into `recorder`.
    pub fn with_defaults(scan: ScanPolicy, recorder: DiagnosticsRecorder) -> Result<Self> {
        let ctx = SessionContext::new_with_config(scan.apply(SessionConfig::new()));
        Self::new(ctx, scan, recorder)
    }

    /// The DataFusion session (for planning and execution; register through the adapter).
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
        lock(&self.inner.catalog).values().cloned().collect()
    }

    /// Metadata of one dataset.
    pub fn dataset(&self, name: &str) -> Option<TableProviderMetadata> {
        lock(&self.inner.catalog).get(name).cloned()
    }

    fn register_live_tables(&self) -> Result<()> {
        let live = |name: String, schema: SchemaRef, producer: Producer| -> Result<()> {
            let provider = Arc::new(LiveTable::new(name.clone(), schema.clone(), producer));
            let metadata = TableProviderMetadata::new(&name, DatasetKind::System, schema);
            self.commit(
                parse_name(&name, true)?,
                Prepared { provider, metadata },
                RegisterOptions::overwrite(),
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
                let datasets: Vec<_> = lock(&inner.catalog).values().cloned().collect();
                Ok(vec![datasets_batch(&datasets)?])
            }),
        )
    }

    /// Registers files of one format under a location as table `name`.
    ///
    /// Lists the files, checks every partition directory against the declared types,
    /// infers each file's schema (a file that is not `format`, or two files that
    /// disagree on a column, fail naming the files), verifies the declared sort order,
    /// and only then registers. On error the catalog is unchanged.
    pub async fn register_listing(
        &self,
        name: &str,
        spec: ListingSpec,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        let diag = self.inner.recorder.begin("register");
        let started = Instant::now();
        let outcome = async {
            let parsed = parse_name(name, false)?;
            self.check_free(&parsed, options)?;
            let prepared = self.prepare_listing(&parsed.full, &spec, options).await?;
            self.commit(parsed, prepared, options, Some((&diag, started)))
        }
        .await;
        self.record_failure(&diag, started, name, outcome)
    }

    /// Registers in-memory record batches as table `name`.
    pub fn register_batches(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        let diag = self.inner.recorder.begin("register");
        let started = Instant::now();
        let outcome = (|| {
            let parsed = parse_name(name, false)?;
            self.check_free(&parsed, options)?;
            let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
            let bytes = batches
                .iter()
                .map(|b| b.get_array_memory_size() as u64)
                .sum();
            let table = MemTable::try_new(schema.clone(), vec![batches])
                .map_err(Error::datafusion(name))?;
            let mut metadata = TableProviderMetadata::new(name, DatasetKind::Batches, schema);
            metadata.rows = Some(rows);
            metadata.bytes = Some(bytes);
            metadata.supports_insert = false;
            self.commit(
                parsed,
                Prepared {
                    provider: Arc::new(table),
                    metadata,
                },
                options,
                Some((&diag, started)),
            )
        })();
        self.record_failure(&diag, started, name, outcome)
    }

    /// Registers a view over an already planned (and gated) logical plan.
    pub fn register_view(
        &self,
        name: &str,
        plan: LogicalPlan,
        definition: Option<String>,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        let diag = self.inner.recorder.begin("register");
        let started = Instant::now();
        let outcome = (|| {
            let parsed = parse_name(name, false)?;
            self.check_free(&parsed, options)?;
            let schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
            let mut metadata = TableProviderMetadata::new(name, DatasetKind::View, schema);
            if let Some(sql) = &definition {
                metadata.options.insert("sql".into(), sql.clone());
            }
            let view = ViewTable::new(plan, definition);
            self.commit(
                parsed,
                Prepared {
                    provider: Arc::new(view),
                    metadata,
                },
                options,
                Some((&diag, started)),
            )
        })();
        self.record_failure(&diag, started, name, outcome)
    }

    /// Registers any `TableProvider` with the capabilities the caller vouches for.
    pub fn register_provider(
        &self,
        name: &str,
        provider: Arc<dyn TableProvider>,
        supports_insert: bool,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        let diag = self.inner.recorder.begin("register");
        let started = Instant::now();
        let outcome = (|| {
            let parsed = parse_name(name, false)?;
            self.check_free(&parsed, options)?;
            let mut metadata =
                TableProviderMetadata::new(name, DatasetKind::Provider, provider.schema());
            metadata.supports_insert = supports_insert;
            metadata.filter_pushdown = FilterPushdown::Inexact;
            self.commit(
                parsed,
                Prepared { provider, metadata },
                options,
                Some((&diag, started)),
            )
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
        if !options.overwrite && lock(&self.inner.catalog).contains_key(&name.full) {
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

    /// Swaps the provider in under the catalog lock, so a reader sees the old
    /// registration or the new one, never none (except for a first registration).
    fn commit(
        &self,
        name: Name,
        prepared: Prepared,
        options: RegisterOptions,
        diag: Option<(&DiagnosticsContext, Instant)>,
    ) -> Result<TableProviderMetadata> {
        let ctx = &self.inner.ctx;
        let mut catalog = lock(&self.inner.catalog);
        let replaced = catalog.contains_key(&name.full);
        if replaced && !options.overwrite {
            return Err(Error::AlreadyRegistered { name: name.full });
        }
        if let Some(schema) = &name.schema {
            let catalog_name = ctx
                .state()
                .config()
                .options()
                .catalog
                .default_catalog
                .clone();
            let provider = ctx
                .catalog(&catalog_name)
                .ok_or_else(|| Error::InvalidName {
                    name: name.full.clone(),
                    reason: format!("catalog `{catalog_name}` is missing"),
                })?;
            if provider.schema(schema).is_none() {
                provider
                    .register_schema(schema, Arc::new(MemorySchemaProvider::new()))
                    .map_err(Error::datafusion(&name.full))?;
            }
        }
        let reference = name.reference();
        let old = ctx
            .deregister_table(reference.clone())
            .map_err(Error::datafusion(&name.full))?;
        if let Err(source) = ctx.register_table(reference.clone(), prepared.provider) {
            if let Some(old) = old {
                ctx.register_table(reference, old).ok();
            }
            return Err(Error::DataFusion {
                name: name.full,
                source: Box::new(source),
            });
        }
        self.invalidate(&reference);
        let metadata = prepared.metadata;
        catalog.insert(name.full.clone(), metadata.clone());
        drop(catalog);
        if let Some((diag, started)) = diag {
            let mut options_json = serde_json::Map::new();
            options_json.insert("overwrite".into(), options.overwrite.into());
            options_json.insert(
                "sort_policy".into(),
                serde_json::to_value(options.sort_policy).unwrap_or_default(),
            );
            options_json.insert(
                "scan_policy".into(),
                serde_json::to_value(self.inner.scan).unwrap_or_default(),
            );
            options_json.insert(
                "options".into(),
                serde_json::to_value(&metadata.options).unwrap_or_default(),
            );
            let message = match (&metadata.warnings[..], replaced) {
                ([], false) => format!("registered `{}`", metadata.name),
                ([], true) => format!("replaced `{}`", metadata.name),
                (warnings, _) => format!(
                    "registered `{}` with warnings: {}",
                    metadata.name,
                    warnings.join("; ")
                ),
            };
            diag.record(
                Status::Ok,
                started.elapsed(),
                message,
                RegisterEvent {
                    dataset: metadata.name.clone(),
                    dataset_kind: metadata.kind.as_str().into(),
                    location: metadata.location.clone(),
                    format: metadata.format.map(|f| f.as_str().into()),
                    replaced,
                    partition_cols: metadata.partition_col_names(),
                    sort_order: metadata.sort_order_sql(),
                    sort_verification: metadata.sort_verification.state().into(),
                    files: metadata.files.unwrap_or(0),
                    options: serde_json::Value::Object(options_json).to_string(),
                },
            );
        }
        Ok(metadata)
    }

    fn record_failure<T>(
        &self,
        diag: &DiagnosticsContext,
        started: Instant,
        name: &str,
        outcome: Result<T>,
    ) -> Result<T> {
        if let Err(error) = &outcome {
            diag.record(
                Status::Error,
                started.elapsed(),
                error.to_string(),
                ErrorEvent {
                    operation: "register".into(),
                    error_kind: error_kind(error).into(),
                    sql_fingerprint: None,
                },
            );
            tracing::warn!(dataset = name, %error, "registration failed");
        }
        outcome
    }

    async fn prepare_listing(
        &self,
        name: &str,
        spec: &ListingSpec,
        options: RegisterOptions,
    ) -> Result<Prepared> {
        let state = self.inner.ctx.state();
        let url = resolve_location(name, &spec.location)?;
        let store = state
            .runtime_env()
            .object_store(&url)
            .map_err(Error::datafusion(name))?;
        let extension = spec.extension().to_owned();
        let mut files: Vec<ObjectMeta> = url
            .list_all_files(&state, store.as_ref(), &extension)
            .await
            .map_err(Error::datafusion(name))?
            .try_collect()
            .await
            .map_err(Error::datafusion(name))?;
        files.sort_by(|a, b| a.location.cmp(&b.location));
        if files.is_empty() {
            return Err(Error::NoFiles {
                name: name.into(),
                location: spec.location.clone(),
                extension,
            });
        }
        let shown: Vec<(String, ObjectMeta)> = files
            .iter()
            .map(|m| (show_path(&url, m), m.clone()))
            .collect();
        check_partitions(name, &url, spec, &shown)?;

        let format = make_format(spec)?;
        let file_schema = infer_schema(name, spec, &state, &store, format.as_ref(), &shown).await?;
        let columns = || {
            file_schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        for p in &spec.partition_cols {
            if file_schema.field_with_name(&p.name).is_ok() {
                return Err(Error::InvalidOption {
                    option: format!("partition column of `{name}`"),
                    value: p.name.clone(),
                    expected: "a name that is not also a column in the files".into(),
                });
            }
        }
        for s in &spec.sort_order {
            if file_schema.field_with_name(&s.column).is_err() {
                return Err(Error::UnknownColumn {
                    name: name.into(),
                    what: "sort",
                    column: s.column.clone(),
                    columns: columns(),
                });
            }
        }

        let mut warnings = Vec::new();
        let mut rows = None;
        let verification = if spec.sort_order.is_empty() {
            SortVerification::None
        } else {
            let order_sql = sort_order_sql(&spec.sort_order);
            let (finding, by, footer_rows) = self
                .verify_order(spec, &state, &store, format.clone(), &file_schema, &shown)
                .await;
            rows = footer_rows;
            match (finding, options.sort_policy) {
                (None, _) => SortVerification::Verified { by },
                (Some(Finding::Contradicted(detail)), SortPolicy::Strict) => {
                    return Err(Error::SortContradicted {
                        name: name.into(),
                        order: order_sql,
                        detail,
                    });
                }
                (Some(Finding::Unverified(detail)), SortPolicy::Strict) => {
                    return Err(Error::SortUnverified {
                        name: name.into(),
                        order: order_sql,
                        detail,
                    });
                }
                (Some(Finding::Contradicted(detail)), SortPolicy::Lenient) => {
                    warnings.push(format!(
                        "declared order `{order_sql}` dropped: contradicted: {detail}"
                    ));
                    SortVerification::Contradicted { detail }
                }
                (Some(Finding::Unverified(detail)), SortPolicy::Lenient) => {
                    warnings.push(format!(
                        "declared order `{order_sql}` dropped: cannot be verified: {detail}"
                    ));
                    SortVerification::Unverified { detail }
                }
            }
        };

        let ordering: Vec<Vec<SortExpr>> = if verification.is_verified() {
            vec![
                spec.sort_order
                    .iter()
                    .map(|s| {
                        Expr::Column(Column::new_unqualified(&s.column))
                            .sort(!s.descending(), s.nulls_first())
                    })
                    .collect(),
            ]
        } else {
            vec![]
        };
        let listing = ListingOptions::new(format)
            .with_file_extension(extension.clone())
            .with_table_partition_cols(
                spec.partition_cols
                    .iter()
                    .map(|p| (p.name.clone(), p.data_type.clone()))
                    .collect(),
            )
            .with_file_sort_order(ordering);
        let config = ListingTableConfig::new(url)
            .with_listing_options(listing)
            .with_schema(file_schema.clone());
        let table = ListingTable::try_new(config).map_err(Error::datafusion(name))?;

        let mut metadata = TableProviderMetadata::new(name, DatasetKind::Listing, table.schema());
        metadata.location = Some(spec.location.clone());
        metadata.format = Some(spec.format);
        metadata.partition_cols = spec.partition_cols.clone();
        metadata.sort_order = spec.sort_order.clone();
        metadata.sort_verification = verification;
        metadata.filter_pushdown = match (spec.partition_cols.is_empty(), spec.format) {
            (false, _) => FilterPushdown::ExactOnPartitions,
            (true, FileFormatKind::Parquet) => FilterPushdown::Inexact,
            (true, _) => FilterPushdown::Unsupported,
        };
        metadata.files = Some(files.len() as u64);
        metadata.bytes = Some(files.iter().map(|f| f.size).sum());
        metadata.rows = rows;
        metadata.options = spec.options.clone();
        metadata.options.insert("file_extension".into(), extension);
        if !spec.sort_order.is_empty() {
            let check = match spec.sort_check {
                SortCheck::Statistics => "statistics",
                SortCheck::Full => "full",
            };
            metadata.options.insert("sort_check".into(), check.into());
        }
        metadata.warnings = warnings;
        Ok(Prepared {
            provider: Arc::new(table),
            metadata,
        })
    }

    /// Runs the sort check; returns the finding (none when verified), how it was
    /// checked, and the row count when parquet footers were read.
    async fn verify_order(
        &self,
        spec: &ListingSpec,
        state: &SessionState,
        store: &Arc<dyn ObjectStore>,
        format: Arc<dyn FileFormat>,
        file_schema: &SchemaRef,
        files: &[(String, ObjectMeta)],
    ) -> (Option<Finding>, VerifiedBy, Option<u64>) {
        if spec.format == FileFormatKind::Parquet && spec.sort_check == SortCheck::Statistics {
            let mut footers = Vec::with_capacity(files.len());
            for (shown, meta) in files {
                let reader = DFParquetMetadata::new(store.as_ref(), meta);
                let footer = match reader.fetch_metadata().await {
                    Ok(metadata) => parquet::arrow::parquet_to_arrow_schema(
                        metadata.file_metadata().schema_descr(),
                        metadata.file_metadata().key_value_metadata(),
                    )
                    .map(|schema| (metadata, schema))
                    .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match footer {
                    Ok((metadata, schema)) => footers.push(ParquetFooter {
                        file: shown.clone(),
                        metadata,
                        schema: Arc::new(schema),
                    }),
                    Err(e) => {
                        let detail = format!("file `{shown}`: cannot read the parquet footer: {e}");
                        return (
                            Some(Finding::Unverified(detail)),
                            VerifiedBy::Statistics,
                            None,
                        );
                    }
                }
            }
            let rows = footers
                .iter()
                .map(|f| f.metadata.file_metadata().num_rows() as u64)
                .sum();
            let finding = sortcheck::check_statistics(&spec.sort_order, &footers).err();
            return (finding, VerifiedBy::Statistics, Some(rows));
        }
        // Read each file alone, in one partition, so batches come in file order.
        let config = SessionConfig::new()
            .with_target_partitions(1)
            .with_repartition_file_scans(false);
        let ctx = SessionContext::new_with_config_rt(config, state.runtime_env().clone());
        let projection: Vec<usize> = spec
            .sort_order
            .iter()
            .filter_map(|s| file_schema.index_of(&s.column).ok())
            .collect();
        let base = spec.location.clone();
        let extension = spec.extension().to_owned();
        let read = |ctx: SessionContext, meta: ObjectMeta| {
            let format = format.clone();
            let schema = file_schema.clone();
            let projection = projection.clone();
            let extension = extension.clone();
            let base = base.clone();
            async move {
                let url = ListingTableUrl::parse(object_url(&base, &meta))?;
                let options = ListingOptions::new(format).with_file_extension(extension);
                let config = ListingTableConfig::new(url)
                    .with_listing_options(options)
                    .with_schema(schema);
                let table = ListingTable::try_new(config)?;
                let state = ctx.state();
                let plan = table.scan(&state, Some(&projection), &[], None).await?;
                datafusion::physical_plan::execute_stream(plan, ctx.task_ctx())
            }
        };
        let finding = sortcheck::check_full(&spec.sort_order, &ctx, files, read)
            .await
            .err();
        (finding, VerifiedBy::Full, None)
    }
}

/// The URL of one listed object, for reading it alone.
fn object_url(base: &str, meta: &ObjectMeta) -> String {
    if base.contains("://") {
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let host_end = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |i| scheme_end + i);
        format!("{}/{}", &base[..host_end], meta.location)
    } else {
        format!("/{}", meta.location)
    }
}

fn error_kind(error: &Error) -> &'static str {
    match error {
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
        Error::DataFusion { .. } => "datafusion",
        Error::Diagnostics(_) => "diagnostics",
    }
}

/// A local path (must exist; directories get a trailing `/`) or a URL.
fn resolve_location(name: &str, location: &str) -> Result<ListingTableUrl> {
    let parse = |s: &str| ListingTableUrl::parse(s).map_err(Error::datafusion(name));
    if location.contains("://") {
        return parse(location);
    }
    let has_glob = location.contains(['*', '?', '[']);
    let path = std::path::Path::new(location);
    if !has_glob && !path.exists() {
        return Err(Error::MissingLocation {
            name: name.into(),
            location: location.into(),
        });
    }
    if path.is_dir() && !location.ends_with('/') {
        return parse(&format!("{location}/"));
    }
    parse(location)
}

/// The path of a listed file as a user recognizes it.
fn show_path(url: &ListingTableUrl, meta: &ObjectMeta) -> String {
    if url.scheme() == "file" {
        format!("/{}", meta.location)
    } else {
        format!("{}://{}", url.scheme(), meta.location)
    }
}

/// Every file must sit under `col=value` directories of the declared columns, in order,
/// and every value must parse as the declared type.
fn check_partitions(
    name: &str,
    url: &ListingTableUrl,
    spec: &ListingSpec,
    files: &[(String, ObjectMeta)],
) -> Result<()> {
    if spec.partition_cols.is_empty() {
        return Ok(());
    }
    let prefix = url.prefix().as_ref();
    let declared = || {
        spec.partition_cols
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (_, meta) in files {
        let relative = meta
            .location
            .as_ref()
            .strip_prefix(prefix)
            .unwrap_or(meta.location.as_ref());
        let relative = relative.trim_start_matches('/');
        let mut dirs: Vec<&str> = relative.split('/').collect();
        dirs.pop();
        let mut at = 0;
        for column in &spec.partition_cols {
            let found = dirs[at..]
                .iter()
                .position(|d| d.split_once('=').is_some_and(|(k, _)| k == column.name));
            let Some(offset) = found else {
                return Err(Error::MissingPartition {
                    name: name.into(),
                    file: relative.into(),
                    column: column.name.clone(),
                    declared: declared(),
                });
            };
            at += offset;
            let value = dirs[at].split_once('=').map_or("", |(_, v)| v);
            if value != "__HIVE_DEFAULT_PARTITION__"
                && ScalarValue::try_from_string(value.to_owned(), &column.data_type).is_err()
            {
                return Err(Error::BadPartitionValue {
                    name: name.into(),
                    directory: dirs[..=at].join("/"),
                    column: column.name.clone(),
                    value: value.into(),
                    data_type: crate::spec::type_to_sql(&column.data_type),
                });
            }
            at += 1;
        }
    }
    Ok(())
}

/// Options accepted per format.
fn make_format(spec: &ListingSpec) -> Result<Arc<dyn FileFormat>> {
    let allowed: &[&str] = match spec.format {
        FileFormatKind::Csv => &["has_header", "delimiter"],
        _ => &[],
    };
    for key in spec.options.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(Error::InvalidOption {
                option: format!("{} option", spec.format),
                value: key.clone(),
                expected: if allowed.is_empty() {
                    "no options".into()
                } else {
                    allowed.join(", ")
                },
            });
        }
    }
    Ok(match spec.format {
        FileFormatKind::Parquet => Arc::new(ParquetFormat::default()),
        FileFormatKind::Csv => {
            let mut csv = CsvFormat::default().with_has_header(true);
            if let Some(v) = spec.options.get("has_header") {
                let has_header = v.parse::<bool>().map_err(|_| Error::InvalidOption {
                    option: "csv has_header".into(),
                    value: v.clone(),
                    expected: "true or false".into(),
                })?;
                csv = csv.with_has_header(has_header);
            }
            if let Some(v) = spec.options.get("delimiter") {
                let [byte] = v.as_bytes() else {
                    return Err(Error::InvalidOption {
                        option: "csv delimiter".into(),
                        value: v.clone(),
                        expected: "one ASCII character".into(),
                    });
                };
                csv = csv.with_delimiter(*byte);
            }
            Arc::new(csv)
        }
        FileFormatKind::Json => Arc::new(JsonFormat::default()),
        FileFormatKind::Avro => Arc::new(AvroFormat),
        FileFormatKind::Arrow => Arc::new(ArrowFormat),
    })
}

/// Infers every file's schema on its own, so a bad file or a conflict names the files.
async fn infer_schema(
    name: &str,
    spec: &ListingSpec,
    state: &SessionState,
    store: &Arc<dyn ObjectStore>,
    format: &dyn FileFormat,
    files: &[(String, ObjectMeta)],
) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = Vec::new();
    let mut first_seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (shown, meta) in files.iter().filter(|(_, m)| m.size > 0) {
        let schema = format
            .infer_schema(state, store, std::slice::from_ref(meta))
            .await
            .map_err(|source| Error::NotFormat {
                name: name.into(),
                file: shown.clone(),
                format: spec.format.as_str().into(),
                source: Box::new(source),
            })?;
        for field in schema.fields() {
            match first_seen.get(field.name()) {
                Some((index, file)) => {
                    let known = &fields[*index];
                    if known.data_type() != field.data_type() {
                        return Err(Error::SchemaConflict(Box::new(
                            crate::error::SchemaConflict {
                                name: name.into(),
                                column: field.name().clone(),
                                left: file.clone(),
                                left_type: known.data_type().to_string(),
                                right: shown.clone(),
                                right_type: field.data_type().to_string(),
                            },
                        )));
                    }
                }
                None => {
                    first_seen.insert(field.name().clone(), (fields.len(), shown.clone()));
                    fields.push(field.as_ref().clone().with_nullable(true));
                }
            }
        }
    }
    if fields.is_empty() {
        return Err(Error::NoFiles {
            name: name.into(),
            location: spec.location.clone(),
            extension: spec.extension().into(),
        });
    }
    Ok(Arc::new(Schema::new(fields)))
}
