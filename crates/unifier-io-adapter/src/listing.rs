//! Listing tables: files of one format under a location, typed hive partitions, and a
//! declared sort order verified before DataFusion may rely on it.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::{Column, ScalarValue};
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
use datafusion::datasource::provider_as_source;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, SortExpr};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore};

use crate::catalog::{IoAdapter, Prepared};
use crate::error::{Error, Result};
use crate::metadata::{FilterPushdown, TableProviderMetadata};
use crate::sortcheck::{self, Finding, ParquetFooter, SortVerification, VerifiedBy};
use crate::spec::{
    DatasetKind, FileFormatKind, ListingSpec, RegisterOptions, SortCheck, SortPolicy,
    sort_order_sql,
};

impl IoAdapter {
    /// A plan that reads the files of `spec` — listed, typed and verified as a
    /// registration would be — without registering anything (a write's source file).
    pub async fn scan_files(&self, spec: ListingSpec) -> Result<LogicalPlan> {
        let prepared = self
            .prepare_listing("source", &spec, RegisterOptions::default())
            .await?;
        LogicalPlanBuilder::scan("source", provider_as_source(prepared.provider), None)
            .and_then(LogicalPlanBuilder::build)
            .map_err(Error::datafusion("source"))
    }

    pub(crate) async fn prepare_listing(
        &self,
        name: &str,
        spec: &ListingSpec,
        options: RegisterOptions,
    ) -> Result<Prepared> {
        let state = self.session().state();
        let url = resolve_location(name, &spec.location)?;
        let store = state
            .runtime_env()
            .object_store(&url)
            .map_err(Error::datafusion(name))?;
        let extension = listed_extension(spec);
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

        let format = make_format(spec, &state)?;
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
            let cache = self.sort_cache().map(|cache| {
                let fingerprint = crate::sortcache::fingerprint(spec, &shown);
                (cache, fingerprint)
            });
            let remembered = cache.as_ref().and_then(|(cache, fp)| cache.get(name, fp));
            let (finding, by, footer_rows) = match remembered {
                Some(remembered) => (None, remembered.by, remembered.rows),
                None => {
                    let checked = self
                        .verify_order(spec, &state, &store, format.clone(), &file_schema, &shown)
                        .await;
                    if let Some((cache, fingerprint)) = cache {
                        let kept = match &checked.0 {
                            None => cache.put(name, fingerprint, checked.1, checked.2),
                            Some(_) => cache.forget(name),
                        };
                        if let Err(e) = kept {
                            tracing::warn!(dataset = name, error = %e, "cannot keep the sort verification");
                        }
                    }
                    checked
                }
            };
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
        Ok(Prepared::new(Arc::new(table), metadata))
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
        let extension = listed_extension(spec);
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

/// The extension listed: a location that names one file is read whatever its extension
/// (`clicks.ndjson` as json); `file_extension` filters directories and globs.
fn listed_extension(spec: &ListingSpec) -> String {
    let one_file = !spec.location.contains("://")
        && !spec.location.contains(['*', '?', '['])
        && std::path::Path::new(&spec.location).is_file();
    if one_file && spec.file_extension.is_none() {
        String::new()
    } else {
        spec.extension().to_owned()
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
/// The file format of `spec`. Parquet takes the session's parquet options (pruning,
/// page index, filter pushdown and reordering, metadata): DataFusion's parquet scan
/// reads the format object's own options, not the session's, so a default
/// `ParquetFormat` would ignore `[scan]`.
fn make_format(spec: &ListingSpec, state: &SessionState) -> Result<Arc<dyn FileFormat>> {
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
        FileFormatKind::Parquet => {
            Arc::new(ParquetFormat::default().with_options(state.table_options().parquet.clone()))
        }
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
    // The files' schema metadata (kept by parquet with `skip_metadata = false`; the
    // first file to give a key decides its value).
    let mut metadata = std::collections::HashMap::new();
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
        for (key, value) in schema.metadata() {
            metadata.entry(key.clone()).or_insert_with(|| value.clone());
        }
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
    Ok(Arc::new(Schema::new_with_metadata(fields, metadata)))
}
