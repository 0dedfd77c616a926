//! What a caller asks to register: typed options, no strings where a type fits.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use crate::columns::{PartitionColumn, parse_type, type_to_sql};
pub use crate::delta_spec::{DeltaCdfSpec, DeltaSpec, DeltaTableOptions};
use crate::error::{Error, Result};
pub use crate::order::{
    NullsOrder, SortCheck, SortColumn, SortDirection, SortPolicy, sort_order_sql,
};

/// The kinds of dataset the catalog holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DatasetKind {
    /// Files of one format under a location (a directory, a file or a glob).
    Listing,
    /// A Delta table (its latest version, or one pinned by version or timestamp).
    Delta,
    /// The Change Data Feed of a Delta table over a version or timestamp range.
    DeltaCdf,
    /// In-memory record batches.
    Batches,
    /// A view over a logical plan.
    View,
    /// Any `TableProvider` handed in by the caller.
    Provider,
    /// A live diagnostics or system table.
    System,
}

impl DatasetKind {
    /// The lowercase name (`listing`, `batches`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Listing => "listing",
            DatasetKind::Delta => "delta",
            DatasetKind::DeltaCdf => "delta_cdf",
            DatasetKind::Batches => "batches",
            DatasetKind::View => "view",
            DatasetKind::Provider => "provider",
            DatasetKind::System => "system",
        }
    }
}

/// File formats of listing tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormatKind {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values (header row by default).
    Csv,
    /// Newline-delimited JSON.
    Json,
    /// Apache Avro.
    Avro,
    /// Arrow IPC files.
    Arrow,
}

impl FileFormatKind {
    /// Every format.
    pub const ALL: &'static [FileFormatKind] = &[
        FileFormatKind::Parquet,
        FileFormatKind::Csv,
        FileFormatKind::Json,
        FileFormatKind::Avro,
        FileFormatKind::Arrow,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormatKind::Parquet => "parquet",
            FileFormatKind::Csv => "csv",
            FileFormatKind::Json => "json",
            FileFormatKind::Avro => "avro",
            FileFormatKind::Arrow => "arrow",
        }
    }

    /// The file extension listed by default (with its dot).
    pub fn default_extension(self) -> &'static str {
        match self {
            FileFormatKind::Parquet => ".parquet",
            FileFormatKind::Csv => ".csv",
            FileFormatKind::Json => ".json",
            FileFormatKind::Avro => ".avro",
            FileFormatKind::Arrow => ".arrow",
        }
    }
}

impl fmt::Display for FileFormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileFormatKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        FileFormatKind::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidOption {
                option: "format".into(),
                value: s.into(),
                expected: "parquet, csv, json, avro or arrow".into(),
            })
    }
}

/// Files of one format under a location, registered as one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListingSpec {
    /// A directory, a single file or a glob; a local path or an object-store URL.
    pub location: String,
    /// The file format.
    pub format: FileFormatKind,
    /// Files listed; defaults to the format's extension.
    #[serde(default)]
    pub file_extension: Option<String>,
    /// Hive-style partition columns.
    #[serde(default)]
    pub partition_cols: Vec<PartitionColumn>,
    /// The order the files are sorted in; verified before DataFusion relies on it.
    #[serde(default)]
    pub sort_order: Vec<SortColumn>,
    /// How the order is verified.
    #[serde(default)]
    pub sort_check: SortCheck,
    /// Format options (`has_header`, `delimiter` for csv; `compression`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl ListingSpec {
    /// Files of `format` at `location`.
    pub fn new(location: impl Into<String>, format: FileFormatKind) -> Self {
        Self {
            location: location.into(),
            format,
            file_extension: None,
            partition_cols: Vec::new(),
            sort_order: Vec::new(),
            sort_check: SortCheck::default(),
            options: BTreeMap::new(),
        }
    }

    /// Lists files with this extension instead of the format's.
    #[must_use]
    pub fn with_file_extension(mut self, extension: impl Into<String>) -> Self {
        self.file_extension = Some(extension.into());
        self
    }

    /// Declares hive-style partition columns.
    #[must_use]
    pub fn with_partition_cols(mut self, cols: Vec<PartitionColumn>) -> Self {
        self.partition_cols = cols;
        self
    }

    /// Declares the sort order of the files.
    #[must_use]
    pub fn with_sort_order(mut self, order: Vec<SortColumn>) -> Self {
        self.sort_order = order;
        self
    }

    /// How the sort order is verified.
    #[must_use]
    pub fn with_sort_check(mut self, check: SortCheck) -> Self {
        self.sort_check = check;
        self
    }

    /// Sets a format option.
    #[must_use]
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// The extension listed.
    pub fn extension(&self) -> &str {
        self.file_extension
            .as_deref()
            .unwrap_or(self.format.default_extension())
    }
}

/// What a registration does when the name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfExists {
    /// Fail with [`Error::AlreadyRegistered`].
    #[default]
    Fail,
    /// Replace the registration (atomically: a failed replacement keeps the old one).
    Replace,
}

/// Options of every registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RegisterOptions {
    /// What happens when the name is already registered.
    pub if_exists: IfExists,
    /// Whether a contradicted or unprovable sort order fails the registration.
    pub sort_policy: SortPolicy,
}

impl RegisterOptions {
    /// Options that replace an existing registration.
    pub fn replace() -> Self {
        Self {
            if_exists: IfExists::Replace,
            ..Self::default()
        }
    }

    /// With this sort policy.
    #[must_use]
    pub fn with_sort_policy(mut self, sort_policy: SortPolicy) -> Self {
        self.sort_policy = sort_policy;
        self
    }

    /// Whether an existing registration is replaced.
    pub fn replaces(&self) -> bool {
        self.if_exists == IfExists::Replace
    }
}

/// What to register: one tagged spec for the manifest, the facade and the adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DatasetSpec {
    /// Files of one format under a location.
    Listing(ListingSpec),
    /// A Delta table.
    Delta(DeltaSpec),
    /// A Delta table's Change Data Feed.
    DeltaCdf(DeltaCdfSpec),
}

impl DatasetSpec {
    /// The kind of dataset the spec registers.
    pub fn kind(&self) -> DatasetKind {
        match self {
            DatasetSpec::Listing(_) => DatasetKind::Listing,
            DatasetSpec::Delta(_) => DatasetKind::Delta,
            DatasetSpec::DeltaCdf(_) => DatasetKind::DeltaCdf,
        }
    }

    /// The location the spec reads.
    pub fn location(&self) -> &str {
        match self {
            DatasetSpec::Listing(s) => &s.location,
            DatasetSpec::Delta(s) => &s.location,
            DatasetSpec::DeltaCdf(s) => &s.location,
        }
    }
}

impl From<ListingSpec> for DatasetSpec {
    fn from(spec: ListingSpec) -> Self {
        DatasetSpec::Listing(spec)
    }
}

impl From<DeltaSpec> for DatasetSpec {
    fn from(spec: DeltaSpec) -> Self {
        DatasetSpec::Delta(spec)
    }
}

impl From<DeltaCdfSpec> for DatasetSpec {
    fn from(spec: DeltaCdfSpec) -> Self {
        DatasetSpec::DeltaCdf(spec)
    }
}

/// How scans read files; applied to the session and recorded with every registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanPolicy {
    /// Skip parquet row groups by their statistics.
    pub parquet_pruning: bool,
    /// Ignore the metadata embedded in parquet files (avoids schema conflicts).
    pub skip_metadata: bool,
    /// Evaluate filters while decoding parquet.
    pub pushdown_filters: bool,
    /// Reorder pushed-down filters by cost.
    pub reorder_filters: bool,
    /// Use the parquet page index to skip pages.
    pub page_index: bool,
    /// Partitions of a scan (0: the number of cores).
    pub target_partitions: usize,
    /// Collect file statistics when listing (needed for pruning and sort checks).
    pub collect_statistics: bool,
}

impl Default for ScanPolicy {
    fn default() -> Self {
        Self {
            parquet_pruning: true,
            skip_metadata: true,
            pushdown_filters: false,
            reorder_filters: false,
            page_index: true,
            target_partitions: 0,
            collect_statistics: true,
        }
    }
}
