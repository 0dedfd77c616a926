//! The catalog manifest (`unifier.toml`): policy, runtime, scan and diagnostics settings,
//! the datasets to register and the views to create. Documented in `docs/catalog.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use std::sync::Arc;
use toml::Spanned;
use unifier::OutputContract;
use unifier::arrow::datatypes::{Field, Schema, SchemaRef};
use unifier::io::parse_type;
use unifier::io::{
    DatasetKind, DatasetSpec, DeltaCdfSpec, DeltaSpec, DeltaTableOptions, FileFormatKind, IfExists,
    ListingSpec, PartitionColumn, ScanPolicy, SortCheck, SortColumn,
};
use unifier::policy::PolicyProfile;
use unifier::write::SchemaMode;
use unifier::{DiagnosticsProfile, RuntimeProfile, Unifier, UnifierProfile};

use crate::Exit;

/// The manifest read when `--catalog` is not given and the file exists.
pub(crate) const DEFAULT_MANIFEST: &str = "unifier.toml";

/// Where verified sort orders are remembered (relative to the manifest).
const SORT_CACHE: &str = ".unifier/sort-cache.json";

/// Where the JSON-lines events go when the manifest does not say (relative to it).
const DEFAULT_DIAGNOSTICS_DIR: &str = ".unifier/diagnostics";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    policy: Option<toml::Table>,
    #[serde(default)]
    runtime: RuntimeProfile,
    #[serde(default)]
    scan: ScanPolicy,
    diagnostics: Option<DiagnosticsSection>,
    #[serde(default)]
    datasets: Vec<Spanned<DatasetEntry>>,
    #[serde(default)]
    views: Vec<Spanned<ViewEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiagnosticsSection {
    dir: Option<PathBuf>,
    capacity: Option<usize>,
    history: Option<bool>,
    retention_days: Option<u64>,
    max_mb: Option<u64>,
    full_sql: Option<bool>,
}

/// Dataset kinds of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindName {
    Listing,
    Parquet,
    Csv,
    Json,
    Avro,
    Arrow,
    Delta,
    DeltaCdf,
}

/// One `[[datasets]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatasetEntry {
    name: String,
    kind: KindName,
    location: String,
    format: Option<FileFormatKind>,
    file_extension: Option<String>,
    #[serde(default)]
    partition_cols: Vec<PartitionColumn>,
    #[serde(default)]
    sort_order: Vec<SortColumn>,
    #[serde(default)]
    sort_check: SortCheck,
    #[serde(default)]
    overwrite: bool,
    #[serde(default)]
    options: BTreeMap<String, toml::Value>,
    /// `delta`: time travel.
    version: Option<u64>,
    timestamp: Option<String>,
    /// `delta_cdf`: the range.
    starting_version: Option<u64>,
    ending_version: Option<u64>,
    starting_timestamp: Option<String>,
    ending_timestamp: Option<String>,
    /// `delta`/`delta_cdf`: object-store options.
    #[serde(default)]
    storage_options: BTreeMap<String, String>,
    /// `delta`: the table's columns. A missing table is created with them; an existing
    /// one must have exactly them.
    columns: Option<Vec<ColumnEntry>>,
    /// `delta` with `columns`: a created table records its Change Data Feed.
    #[serde(default)]
    change_data_feed: bool,
    /// `delta` with `columns`: a created table's partition columns.
    #[serde(default)]
    partition_by: Vec<String>,
}

/// One `[[views]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewEntry {
    name: String,
    sql: String,
    schema: Option<String>,
    /// The declared output columns (a contract checked when the view is created).
    columns: Option<Vec<ColumnEntry>>,
    /// `strict` (exactly `columns`) or `additive` (`columns`, then any others).
    schema_mode: Option<SchemaModeName>,
}

/// One declared column of a view.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnEntry {
    name: String,
    #[serde(rename = "type")]
    data_type: String,
    #[serde(default = "yes")]
    nullable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SchemaModeName {
    Strict,
    Additive,
}

/// A loaded manifest: the profile, and what to register (with the line it is declared on).
#[derive(Debug)]
pub(crate) struct Manifest {
    path: PathBuf,
    base: PathBuf,
    pub(crate) profile: UnifierProfile,
    datasets: Vec<(usize, DatasetEntry)>,
    views: Vec<(usize, ViewEntry)>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Manifest {
    /// The manifest with nothing in it: the `read_only` policy, no datasets.
    pub(crate) fn empty() -> Self {
        Self {
            path: PathBuf::from("(no manifest)"),
            base: PathBuf::from("."),
            profile: UnifierProfile::default(),
            datasets: Vec::new(),
            views: Vec::new(),
        }
    }

    /// `--catalog FILE`, or `./unifier.toml` when present, or the empty manifest.
    pub(crate) fn locate(explicit: Option<&Path>) -> Result<Self, String> {
        match explicit {
            Some(path) => Self::load(path),
            None if Path::new(DEFAULT_MANIFEST).is_file() => {
                Self::load(Path::new(DEFAULT_MANIFEST))
            }
            None => Ok(Self::empty()),
        }
    }

    /// Reads and validates a manifest; errors name the file, the line and the key.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read catalog `{shown}`: {e}"))?;
        let file: ManifestFile = toml::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };

        let policy = match &file.policy {
            Some(table) => {
                // The section as written, at its own lines, so an error points into the
                // file; re-serialized only when it is not a `[policy]` table of its own.
                let text = match policy_section(&text) {
                    Some(section) => section,
                    None => {
                        toml::to_string(table).map_err(|e| format!("{shown}: [policy]: {e}"))?
                    }
                };
                PolicyProfile::from_toml(&text, &format!("{shown} [policy]"))
                    .map_err(|e| crate::chain(&e))?
            }
            None => PolicyProfile::default(),
        };
        let mut diagnostics = DiagnosticsProfile {
            dir: Some(base.join(DEFAULT_DIAGNOSTICS_DIR)),
            ..Default::default()
        };
        if let Some(section) = file.diagnostics {
            if let Some(dir) = section.dir {
                diagnostics.dir = Some(if dir.is_absolute() {
                    dir
                } else {
                    base.join(dir)
                });
            }
            if let Some(capacity) = section.capacity {
                diagnostics.capacity = capacity;
            }
            if let Some(history) = section.history {
                diagnostics.history = history;
            }
            diagnostics.retention_days = section.retention_days;
            diagnostics.max_mb = section.max_mb;
            if let Some(full_sql) = section.full_sql {
                diagnostics.full_sql = full_sql;
            }
        }

        let mut datasets = Vec::new();
        let mut seen = BTreeMap::new();
        for entry in file.datasets {
            let line = line_of(&text, entry.span().start);
            let mut dataset = entry.into_inner();
            if let Some(first) = seen.insert(dataset.name.clone(), line) {
                return Err(format!(
                    "{shown}:{line}: datasets: `{}` is declared twice (first on line {first}); names must be unique",
                    dataset.name
                ));
            }
            if !dataset.location.contains("://") && Path::new(&dataset.location).is_relative() {
                dataset.location = base.join(&dataset.location).display().to_string();
            }
            spec_of(&dataset)
                .map_err(|e| format!("{shown}:{line}: dataset `{}`: {e}", dataset.name))?;
            datasets.push((line, dataset));
        }
        let views = file
            .views
            .into_iter()
            .map(|v| (line_of(&text, v.span().start), v.into_inner()))
            .collect();
        Ok(Self {
            path: path.to_owned(),
            base: base.clone(),
            profile: UnifierProfile {
                policy,
                runtime: RuntimeProfile {
                    spill_dir: file.runtime.spill_dir.as_ref().map(|dir| base.join(dir)),
                    ..file.runtime
                },
                scan: file.scan,
                diagnostics,
            },
            datasets,
            views,
        })
    }

    /// The directory of the manifest file; `None` without a manifest.
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.path.is_file().then_some(self.base.as_path())
    }

    /// The manifest's path as given.
    pub(crate) fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// Where change-feed cursors are kept: `.unifier/cursors` next to the manifest.
    pub(crate) fn cursor_dir(&self) -> PathBuf {
        self.base.join(".unifier/cursors")
    }

    /// Builds the `Unifier` and registers every dataset and view, in order. A setting
    /// that is wrong is a usage error (exit 2); a dataset whose data is missing or wrong
    /// is a runtime error (exit 1).
    pub(crate) async fn open(&self) -> Result<Unifier, OpenError> {
        let shown = self.path.display();
        let unifier = Unifier::new(self.profile.clone())
            .map_err(|e| OpenError::usage(format!("{shown}: {}", crate::chain(&e))))?;
        if self.path.is_file() {
            // Verified sort orders are remembered next to the manifest.
            unifier
                .catalog()
                .remember_sort_orders_in(self.base.join(SORT_CACHE));
        }
        for (line, dataset) in &self.datasets {
            let spec = spec_of(dataset).map_err(|e| {
                OpenError::usage(format!("{shown}:{line}: dataset `{}`: {e}", dataset.name))
            })?;
            let if_exists = if dataset.overwrite {
                IfExists::Replace
            } else {
                IfExists::Fail
            };
            let (kind, location) = (spec.kind(), spec.location().to_owned());
            let registered = match &dataset.columns {
                Some(columns) => {
                    let schema = schema_of(columns).map_err(|e| {
                        OpenError::usage(format!("{shown}:{line}: dataset `{}`: {e}", dataset.name))
                    })?;
                    let options = DeltaTableOptions {
                        location: location.clone(),
                        partition_by: dataset.partition_by.clone(),
                        change_data_feed: dataset.change_data_feed,
                        storage_options: dataset.storage_options.clone(),
                        ..Default::default()
                    };
                    unifier
                        .create_table(&dataset.name, schema, options, if_exists)
                        .await
                        .map(drop)
                }
                None => unifier
                    .register(&dataset.name, spec, if_exists)
                    .await
                    .map(drop),
            };
            if let Err(e) = registered {
                // The others stay queryable; this one is listed with its cause.
                eprintln!(
                    "warning: {shown}:{line}: dataset `{}` is unavailable: {}",
                    dataset.name,
                    crate::chain(&e)
                );
                unifier
                    .catalog()
                    .register_failed(&dataset.name, kind, Some(location), &e)
                    .map_err(|e| {
                        OpenError::data(format!("{shown}:{line}: {}", crate::chain(&e)))
                    })?;
            }
        }
        for (line, view) in &self.views {
            let name = match &view.schema {
                Some(schema) => format!("{schema}.{}", view.name),
                None => view.name.clone(),
            };
            let contract = match &view.columns {
                Some(columns) => Some(contract_of(columns, view.schema_mode).map_err(|e| {
                    OpenError::usage(format!("{shown}:{line}: view `{name}`: {e}"))
                })?),
                None => None,
            };
            if let Err(e) = unifier
                .create_view(&name, &view.sql, contract, IfExists::Fail)
                .await
            {
                eprintln!(
                    "warning: {shown}:{line}: view `{name}` is unavailable: {}",
                    crate::chain(&e)
                );
                unifier
                    .catalog()
                    .register_failed(&name, DatasetKind::View, None, &e)
                    .map_err(|e| {
                        OpenError::data(format!("{shown}:{line}: {}", crate::chain(&e)))
                    })?;
            }
        }
        Ok(unifier)
    }
}

/// `--catalog FILE` (or the default manifest) opened: every dataset and view
/// registered. On failure the error is printed and its exit code returned.
pub(crate) async fn open_catalog(catalog: Option<&Path>) -> Result<(Manifest, Unifier), Exit> {
    let manifest = Manifest::locate(catalog).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Usage
    })?;
    let unifier = manifest.open().await.map_err(|e| e.report())?;
    Ok((manifest, unifier))
}

/// Why a catalog could not be opened, and the exit code that says so.
#[derive(Debug)]
pub(crate) struct OpenError {
    exit: Exit,
    message: String,
}

impl OpenError {
    fn usage(message: String) -> Self {
        Self {
            exit: Exit::Usage,
            message,
        }
    }

    fn data(message: String) -> Self {
        Self {
            exit: Exit::Runtime,
            message,
        }
    }

    /// Prints the error; returns its exit code.
    pub(crate) fn report(&self) -> Exit {
        eprintln!("error: {}", self.message);
        self.exit
    }
}

/// The schema of declared columns.
fn schema_of(columns: &[ColumnEntry]) -> Result<SchemaRef, String> {
    let fields = columns
        .iter()
        .map(|c| {
            parse_type(&c.data_type)
                .map(|t| Field::new(&c.name, t, c.nullable))
                .map_err(|e| format!("column `{}`: {e}", c.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The contract of a view's declared columns.
fn contract_of(
    columns: &[ColumnEntry],
    mode: Option<SchemaModeName>,
) -> Result<OutputContract, String> {
    Ok(OutputContract {
        schema: schema_of(columns)?,
        mode: match mode {
            Some(SchemaModeName::Additive) => SchemaMode::Additive,
            _ => SchemaMode::Strict,
        },
    })
}

/// Options that belong to other kinds than `kind`, given anyway.
fn misplaced(d: &DatasetEntry) -> Option<&'static str> {
    let listing = [
        ("format", d.format.is_some()),
        ("file_extension", d.file_extension.is_some()),
        ("partition_cols", !d.partition_cols.is_empty()),
        ("sort_order", !d.sort_order.is_empty()),
        ("options", !d.options.is_empty()),
    ];
    let delta = [
        ("version", d.version.is_some()),
        ("timestamp", d.timestamp.is_some()),
        ("columns", d.columns.is_some()),
        ("change_data_feed", d.change_data_feed),
        ("partition_by", !d.partition_by.is_empty()),
    ];
    let cdf = [
        ("starting_version", d.starting_version.is_some()),
        ("ending_version", d.ending_version.is_some()),
        ("starting_timestamp", d.starting_timestamp.is_some()),
        ("ending_timestamp", d.ending_timestamp.is_some()),
    ];
    let storage = [("storage_options", !d.storage_options.is_empty())];
    let not_for: Vec<&[(&'static str, bool)]> = match d.kind {
        KindName::Delta => vec![&listing, &cdf],
        KindName::DeltaCdf => vec![&listing, &delta],
        _ => vec![&delta, &cdf, &storage],
    };
    not_for
        .into_iter()
        .flatten()
        .find(|(_, given)| *given)
        .map(|(key, _)| *key)
}

/// The dataset spec of a dataset entry.
fn spec_of(d: &DatasetEntry) -> Result<DatasetSpec, String> {
    if let Some(key) = misplaced(d) {
        return Err(format!(
            "`{key}` does not apply to kind = \"{}\"",
            kind_name(d.kind)
        ));
    }
    match d.kind {
        KindName::Delta if d.columns.is_none() && (d.change_data_feed || !d.partition_by.is_empty()) => {
            Err("`change_data_feed` and `partition_by` describe the table to create: declare its `columns` too".into())
        }
        KindName::Delta if d.columns.is_some() && (d.version.is_some() || d.timestamp.is_some()) => {
            Err("`columns` creates the table when it is missing; a pinned `version` or `timestamp` cannot be created: drop one".into())
        }
        KindName::Delta => Ok(DatasetSpec::Delta(DeltaSpec {
            location: d.location.clone(),
            version: d.version,
            timestamp: d.timestamp.clone(),
            storage_options: d.storage_options.clone(),
        })),
        KindName::DeltaCdf => Ok(DatasetSpec::DeltaCdf(DeltaCdfSpec {
            location: d.location.clone(),
            starting_version: d.starting_version,
            ending_version: d.ending_version,
            starting_timestamp: d.starting_timestamp.clone(),
            ending_timestamp: d.ending_timestamp.clone(),
            storage_options: d.storage_options.clone(),
        })),
        _ => listing_spec_of(d).map(DatasetSpec::Listing),
    }
}

fn kind_name(kind: KindName) -> &'static str {
    match kind {
        KindName::Listing => "listing",
        KindName::Parquet => "parquet",
        KindName::Csv => "csv",
        KindName::Json => "json",
        KindName::Avro => "avro",
        KindName::Arrow => "arrow",
        KindName::Delta => "delta",
        KindName::DeltaCdf => "delta_cdf",
    }
}

/// The listing spec of a dataset entry.
fn listing_spec_of(d: &DatasetEntry) -> Result<ListingSpec, String> {
    let implied = match d.kind {
        KindName::Listing => None,
        KindName::Parquet => Some(FileFormatKind::Parquet),
        KindName::Csv => Some(FileFormatKind::Csv),
        KindName::Json => Some(FileFormatKind::Json),
        KindName::Avro => Some(FileFormatKind::Avro),
        KindName::Arrow => Some(FileFormatKind::Arrow),
        KindName::Delta | KindName::DeltaCdf => unreachable!("handled by spec_of"),
    };
    let format = match (implied, d.format) {
        (Some(kind), Some(format)) if kind != format => {
            return Err(format!(
                "kind `{kind}` and format `{format}` disagree; drop `format` or use kind = \"listing\""
            ));
        }
        (Some(kind), _) => kind,
        (None, Some(format)) => format,
        (None, None) => {
            return Err(
                "kind = \"listing\" needs `format` (parquet, csv, json, avro or arrow)".into(),
            );
        }
    };
    let mut spec = ListingSpec::new(d.location.clone(), format)
        .with_partition_cols(d.partition_cols.clone())
        .with_sort_order(d.sort_order.clone())
        .with_sort_check(d.sort_check);
    if let Some(ext) = &d.file_extension {
        spec = spec.with_file_extension(ext.clone());
    }
    for (key, value) in &d.options {
        let value = match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        spec = spec.with_option(key.clone(), value);
    }
    Ok(spec)
}

/// The body of the manifest's `[policy]` table, preceded by as many empty lines as come
/// before it, so a TOML error in it names the line of the manifest; `None` when the
/// policy is not written as a `[policy]` table.
fn policy_section(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|line| {
        let line = line.trim();
        line.strip_prefix("[policy]")
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    })?;
    let body: Vec<&str> = lines[header + 1..]
        .iter()
        .take_while(|line| !line.trim_start().starts_with('['))
        .copied()
        .collect();
    Some("\n".repeat(header + 1) + &body.join("\n"))
}
