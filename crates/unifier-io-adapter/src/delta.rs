//! Delta tables and their Change Data Feed: opening a snapshot (time travel included),
//! reading its protocol, features and constraints, and the change-feed provider.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::table::config::TablePropertiesExt as _;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use futures::TryStreamExt;
use url::Url;

use crate::catalog::{IoAdapter, Prepared};
use crate::cdf::{CdfBounds, RecordedCdf};
use crate::contract::{self, NullCheck, SchemaMode};
use crate::error::{Error, Result};
use crate::metadata::{
    Constraint, DeltaInfo, FilterPushdown, TableProviderMetadata, WriteCapabilities,
};
use crate::spec::{
    DatasetKind, DeltaCdfSpec, DeltaSpec, DeltaTableOptions, PartitionColumn, RegisterOptions,
};

/// The table root of `location`: an existing local directory (made absolute) or a URL.
pub(crate) fn table_url(name: &str, location: &str) -> Result<Url> {
    let invalid = |reason: String| Error::InvalidOption {
        option: format!("location of `{name}`"),
        value: location.to_owned(),
        expected: reason,
    };
    if location.contains("://") {
        return Url::parse(location).map_err(|e| invalid(format!("a valid URL ({e})")));
    }
    let path = std::path::Path::new(location);
    let absolute = std::fs::canonicalize(path).map_err(|_| Error::MissingLocation {
        name: name.into(),
        location: location.into(),
    })?;
    Url::from_directory_path(&absolute).map_err(|()| invalid("an absolute directory".into()))
}

/// Opens the Delta table at `location`: the latest version, or the one pinned.
pub(crate) async fn open_table(
    name: &str,
    location: &str,
    storage_options: &std::collections::BTreeMap<String, String>,
    version: Option<u64>,
    timestamp: Option<&str>,
) -> Result<DeltaTable> {
    let url = table_url(name, location)?;
    let delta_err =
        |source: DeltaTableError| match url.to_file_path().ok().and_then(|dir| damaged_log(&dir)) {
            Some(problem) => Error::DeltaLog {
                name: name.into(),
                location: location.into(),
                problem,
                source: Box::new(source),
            },
            None => Error::Delta {
                name: name.into(),
                location: location.into(),
                source: Box::new(source),
            },
        };
    let options: HashMap<String, String> = storage_options
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let builder = || {
        DeltaTableBuilder::from_url(url.clone())
            .map(|b| b.with_storage_options(options.clone()))
            .map_err(delta_err)
    };
    let mut pinned = builder()?;
    if let Some(v) = version {
        pinned = pinned.with_version(v);
    }
    if let Some(ts) = timestamp {
        pinned = pinned
            .with_datestring(ts)
            .map_err(|_| Error::InvalidOption {
                option: format!("timestamp of `{name}`"),
                value: ts.into(),
                expected: "an RFC 3339 time such as 2024-01-31T12:00:00Z".into(),
            })?;
    }
    match pinned.load().await {
        Ok(table) => Ok(table),
        Err(error) if version.is_some() || timestamp.is_some() => {
            // Say which versions exist, when the table itself opens.
            match builder()?.load().await {
                Ok(latest) => {
                    let (earliest, latest) = log_range(&latest).await?;
                    Err(Error::VersionRange {
                        name: name.into(),
                        what: match (version, timestamp) {
                            (Some(v), _) => format!("version {v}"),
                            (None, Some(ts)) => format!("timestamp {ts}"),
                            (None, None) => unreachable!("guarded"),
                        },
                        earliest,
                        latest,
                    })
                }
                Err(_) => Err(delta_err(error)),
            }
        }
        Err(error) => Err(delta_err(error)),
    }
}

/// What is wrong with a local table's `_delta_log`, naming the file, when something
/// is: a gap in the commit versions, a commit line that is not JSON, a checkpoint that
/// `_last_checkpoint` names but that is not there. `None` when the log looks whole (or is
/// not a local directory): deltalake's own error then says what it found.
pub(crate) fn damaged_log(table: &std::path::Path) -> Option<String> {
    let log = table.join("_delta_log");
    let entries = std::fs::read_dir(&log).ok()?;
    let mut commits: Vec<(u64, std::path::PathBuf)> = Vec::new();
    // Each checkpoint version and the file names of its parts.
    let mut checkpoints: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let Some((digits, rest)) = file.split_at_checked(20) else {
            continue;
        };
        let Ok(version) = digits.parse::<u64>() else {
            continue;
        };
        match rest {
            ".json" => commits.push((version, entry.path())),
            r if r.starts_with(".checkpoint") && r.ends_with(".parquet") => {
                checkpoints
                    .entry(version)
                    .or_default()
                    .push(file.to_owned());
            }
            _ => {}
        }
    }
    commits.sort();
    let shown = |path: &std::path::Path| {
        path.strip_prefix(table)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    // Versions must follow each other (after a checkpoint, earlier commits may be gone).
    for pair in commits.windows(2) {
        let ((a, before), (b, after)) = (&pair[0], &pair[1]);
        if b - a > 1 && !checkpoints.range(a..b).any(|(c, _)| c + 1 == *b) {
            return Some(format!(
                "commit {} is missing: `{}` is followed by `{}`",
                a + 1,
                shown(before),
                shown(after)
            ));
        }
    }
    for (_, path) in &commits {
        let text = std::fs::read_to_string(path).ok()?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
                return Some(format!(
                    "`{}` line {} is not JSON ({e})",
                    shown(path),
                    i + 1
                ));
            }
        }
    }
    // A multi-part checkpoint (`V.checkpoint.I.N.parquet`) needs all of its N parts.
    let part = |name: &str| -> Option<(u64, u64)> {
        let mut fields = name.split('.').skip(2);
        let i = fields.next()?.parse().ok()?;
        let n = fields.next()?.parse().ok()?;
        Some((i, n))
    };
    let missing_part = |version: u64, n: u64, names: &[String]| {
        (1..=n)
            .map(|i| format!("{version:020}.checkpoint.{i:010}.{n:010}.parquet"))
            .find(|name| !names.contains(name))
    };
    for (version, names) in &checkpoints {
        if let Some(n) = names
            .iter()
            .filter_map(|name| part(name))
            .map(|(_, n)| n)
            .max()
            && let Some(name) = missing_part(*version, n, names)
        {
            return Some(format!(
                "the checkpoint of version {version} has {n} parts, but `_delta_log/{name}` is not there"
            ));
        }
    }
    let last = log.join("_last_checkpoint");
    if let Ok(text) = std::fs::read_to_string(&last) {
        let pointer = serde_json::from_str::<serde_json::Value>(&text).ok();
        let version = pointer.as_ref().and_then(|v| v["version"].as_u64());
        let parts = pointer.as_ref().and_then(|v| v["parts"].as_u64());
        let Some(v) = version else {
            return Some(format!("`{}` is not a checkpoint pointer", shown(&last)));
        };
        let names = checkpoints.get(&v).map(Vec::as_slice).unwrap_or_default();
        let wanted = match parts {
            Some(n) if n > 1 => missing_part(v, n, names),
            _ => {
                let single = format!("{v:020}.checkpoint.parquet");
                (!names.contains(&single)).then_some(single)
            }
        };
        if let Some(name) = wanted {
            let what = match parts {
                Some(n) if n > 1 => format!("the {n}-part checkpoint of version {v}"),
                _ => format!("the checkpoint of version {v}"),
            };
            return Some(format!(
                "`{}` names {what}, but `_delta_log/{name}` is not there",
                shown(&last)
            ));
        }
    }
    None
}

/// The earliest and latest versions whose commit files are in the log.
pub(crate) async fn log_range(table: &DeltaTable) -> Result<(u64, u64)> {
    let latest = table.get_latest_version().await.unwrap_or_default();
    let store = table.log_store().object_store(None);
    let log = deltalake::Path::from("_delta_log");
    let listed: Vec<_> = store
        .list(Some(&log))
        .try_collect()
        .await
        .unwrap_or_default();
    let earliest = listed
        .iter()
        .filter_map(|m| {
            let file = m.location.filename()?;
            file.strip_suffix(".json")?.parse::<u64>().ok()
        })
        .min()
        .unwrap_or(latest);
    Ok((earliest, latest.max(earliest)))
}

/// Protocol, features, constraints and partitioning of the loaded snapshot.
pub(crate) fn delta_info(
    table: &DeltaTable,
    (earliest, latest): (u64, u64),
    pinned: bool,
) -> Result<DeltaInfo> {
    let state = table.snapshot().map_err(|source| Error::Delta {
        name: table.table_url().to_string(),
        location: table.table_url().to_string(),
        source: Box::new(source),
    })?;
    let protocol = state.protocol();
    let config = state.table_config();
    let constraints: Vec<Constraint> = config
        .get_constraints()
        .iter()
        .map(|c| Constraint {
            name: c.name.clone(),
            expr: c.expr.clone(),
        })
        .collect();
    let mut features: Vec<String> = protocol
        .reader_features()
        .into_iter()
        .flatten()
        .chain(protocol.writer_features().into_iter().flatten())
        .map(|f| f.to_string())
        .collect();
    let change_data_feed = config.enable_change_data_feed();
    let named = [
        (change_data_feed, "changeDataFeed"),
        (!constraints.is_empty(), "checkConstraints"),
        (
            config.enable_deletion_vectors.unwrap_or(false),
            "deletionVectors",
        ),
        (
            // The mode's type lives in delta_kernel, which deltalake does not re-export.
            config
                .column_mapping_mode
                .is_some_and(|m| format!("{m:?}") != "None"),
            "columnMapping",
        ),
    ];
    for (present, feature) in named {
        if present && !features.iter().any(|f| f == feature) {
            features.push(feature.to_owned());
        }
    }
    features.sort();
    features.dedup();
    Ok(DeltaInfo {
        table_url: table.table_url().to_string(),
        version: table.version().unwrap_or_default(),
        latest_version: latest,
        earliest_version: earliest,
        pinned,
        min_reader_version: protocol.min_reader_version(),
        min_writer_version: protocol.min_writer_version(),
        features,
        change_data_feed,
        constraints,
        partition_columns: state.metadata().partition_columns().to_vec(),
    })
}

fn delta_metadata(
    name: &str,
    kind: DatasetKind,
    location: &str,
    table: &DeltaTable,
    schema: arrow::datatypes::SchemaRef,
    info: DeltaInfo,
) -> TableProviderMetadata {
    let mut metadata = TableProviderMetadata::new(name, kind, schema.clone());
    metadata.location = Some(location.to_owned());
    metadata.partition_cols = info
        .partition_columns
        .iter()
        .filter_map(|c| {
            schema
                .field_with_name(c)
                .ok()
                .map(|f| PartitionColumn::new(c.clone(), f.data_type().clone()))
        })
        .collect();
    metadata.filter_pushdown = if info.partition_columns.is_empty() {
        FilterPushdown::Inexact
    } else {
        FilterPushdown::ExactOnPartitions
    };
    if let Ok(state) = table.snapshot() {
        metadata.files = Some(state.log_data().num_files() as u64);
    }
    metadata.delta = Some(info);
    metadata
}

impl IoAdapter {
    /// Creates a Delta table with exactly `schema` (nothing is inferred) and registers
    /// it as `name`. When a table already exists at the location, its schema must equal
    /// the declared one (every differing column is named); it is then registered as it
    /// is, so creating twice is harmless.
    pub async fn create_delta(
        &self,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        options: DeltaTableOptions,
        register: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        self.declared_delta(name, schema, options, register, true)
            .await
    }

    /// Registers the Delta table at `options.location` as `name` when its schema is
    /// exactly `schema`, as [`create_delta`](Self::create_delta) does, but never writes:
    /// no directory and no table is created where there is none
    /// ([`Error::MissingLocation`]). For callers whose policy allows no writes.
    pub async fn open_declared_delta(
        &self,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        options: DeltaTableOptions,
        register: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        self.declared_delta(name, schema, options, register, false)
            .await
    }

    async fn declared_delta(
        &self,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        options: DeltaTableOptions,
        register: RegisterOptions,
        may_create: bool,
    ) -> Result<TableProviderMetadata> {
        let location = options.location.clone();
        let delta_err = |source: DeltaTableError| Error::Delta {
            name: name.into(),
            location: location.clone(),
            source: Box::new(source),
        };
        let missing = || Error::MissingLocation {
            name: name.into(),
            location: location.clone(),
        };
        if !may_create && !location.contains("://") && !std::path::Path::new(&location).exists() {
            return Err(missing());
        }
        if may_create && !location.contains("://") {
            std::fs::create_dir_all(&location).map_err(|e| Error::InvalidOption {
                option: format!("location of `{name}`"),
                value: location.clone(),
                expected: format!("a directory that can be created ({e})"),
            })?;
        }
        let url = table_url(name, &location)?;
        let storage: HashMap<String, String> = options
            .storage_options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let table = DeltaTable::try_from_url_with_storage_options(url, storage)
            .await
            .map_err(delta_err)?;
        if table.version().is_some() {
            let found = table
                .snapshot()
                .map_err(delta_err)?
                .snapshot()
                .arrow_schema();
            let differences =
                contract::differences(&schema, &found, SchemaMode::Strict, NullCheck::Schema);
            if !differences.is_empty() {
                return Err(Error::DeclaredSchema {
                    name: name.into(),
                    location,
                    differences,
                });
            }
        } else if !may_create {
            return Err(missing());
        } else {
            use deltalake::kernel::engine::arrow_conversion::TryFromArrow as _;
            let columns = deltalake::kernel::StructType::try_from_arrow(schema.as_ref())
                .map_err(|e| delta_err(DeltaTableError::from(e)))?;
            let mut configuration: Vec<(String, Option<String>)> = options
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect();
            if options.change_data_feed {
                configuration.push(("delta.enableChangeDataFeed".into(), Some("true".into())));
            }
            let mut created = table
                .create()
                .with_columns(columns.fields().cloned())
                .with_partition_columns(options.partition_by.clone())
                .with_configuration(configuration)
                .await
                .map_err(delta_err)?;
            if !options.constraints.is_empty() {
                created = created
                    .add_constraint()
                    .with_constraints(options.constraints.clone().into_iter().collect())
                    .await
                    .map_err(delta_err)?;
            }
            drop(created);
        }
        let spec = DeltaSpec {
            location: options.location.clone(),
            storage_options: options.storage_options.clone(),
            ..DeltaSpec::default()
        };
        self.register(name, spec, register).await
    }

    pub(crate) async fn prepare_delta(&self, name: &str, spec: &DeltaSpec) -> Result<Prepared> {
        if spec.version.is_some() && spec.timestamp.is_some() {
            return Err(Error::InvalidOption {
                option: format!("time travel of `{name}`"),
                value: "version and timestamp".into(),
                expected: "one of `version` or `timestamp`".into(),
            });
        }
        let table = open_table(
            name,
            &spec.location,
            &spec.storage_options,
            spec.version,
            spec.timestamp.as_deref(),
        )
        .await?;
        let info = delta_info(&table, log_range(&table).await?, spec.is_pinned())?;
        table
            .update_datafusion_session(&self.session().state())
            .map_err(|source| Error::Delta {
                name: name.into(),
                location: spec.location.clone(),
                source: Box::new(source),
            })?;
        let provider = table
            .table_provider()
            .await
            .map_err(Error::datafusion(name))?;
        let mut metadata = delta_metadata(
            name,
            DatasetKind::Delta,
            &spec.location,
            &table,
            provider.schema(),
            info,
        );
        // A pinned snapshot is history: writing through it would commit on top of a
        // version the caller did not mean to change.
        metadata.capabilities = if spec.is_pinned() {
            WriteCapabilities::NONE
        } else {
            WriteCapabilities::DELTA
        };
        if let Some(v) = spec.version {
            metadata.options.insert("version".into(), v.to_string());
        }
        if let Some(ts) = &spec.timestamp {
            metadata.options.insert("timestamp".into(), ts.clone());
        }
        let mut prepared = Prepared::new(provider, metadata);
        prepared.delta = Some(table);
        Ok(prepared)
    }

    pub(crate) async fn prepare_delta_cdf(
        &self,
        name: &str,
        spec: &DeltaCdfSpec,
    ) -> Result<Prepared> {
        if spec.starting_version.is_some() && spec.starting_timestamp.is_some()
            || spec.ending_version.is_some() && spec.ending_timestamp.is_some()
        {
            return Err(Error::InvalidOption {
                option: format!("change feed range of `{name}`"),
                value: "a version and a timestamp for the same bound".into(),
                expected: "a version or a timestamp for each bound".into(),
            });
        }
        let table = open_table(name, &spec.location, &spec.storage_options, None, None).await?;
        let range = CdfBounds {
            starting_version: spec.starting_version,
            ending_version: spec.ending_version,
            starting_timestamp: spec.starting_timestamp.clone(),
            ending_timestamp: spec.ending_timestamp.clone(),
        };
        let info = delta_info(&table, log_range(&table).await?, false)?;
        let provider = RecordedCdf::try_new(
            name,
            &table,
            &info,
            range,
            "dataset",
            self.recorder().clone(),
        )?;
        let mut metadata = delta_metadata(
            name,
            DatasetKind::DeltaCdf,
            &spec.location,
            &table,
            datafusion::catalog::TableProvider::schema(&provider),
            info,
        );
        let mut event_options = serde_json::Map::new();
        for (key, value) in [
            (
                "starting_version",
                spec.starting_version.map(|v| v.to_string()),
            ),
            ("ending_version", spec.ending_version.map(|v| v.to_string())),
            ("starting_timestamp", spec.starting_timestamp.clone()),
            ("ending_timestamp", spec.ending_timestamp.clone()),
        ] {
            if let Some(value) = value {
                metadata.options.insert(key.into(), value.clone());
                event_options.insert(key.into(), value.into());
            }
        }
        let mut prepared = Prepared::new(Arc::new(provider), metadata);
        prepared.event_options = event_options;
        Ok(prepared)
    }
}
