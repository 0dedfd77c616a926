//! What a caller asks to register: typed options, no strings where a type fits.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use arrow::datatypes::{DataType, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

/// Direction of a declared sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// Where nulls sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullsOrder {
    /// Nulls before every value.
    First,
    /// Nulls after every value.
    Last,
}

/// One column of a declared sort order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortColumn {
    /// Column name.
    pub column: String,
    /// Direction (default ascending).
    #[serde(default)]
    pub direction: SortDirection,
    /// Null placement; defaults as in SQL: last for ascending, first for descending.
    #[serde(default)]
    pub nulls: Option<NullsOrder>,
}

impl SortColumn {
    /// Ascending, nulls last.
    pub fn asc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            direction: SortDirection::Asc,
            nulls: None,
        }
    }

    /// Descending, nulls first.
    pub fn desc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            direction: SortDirection::Desc,
            nulls: None,
        }
    }

    /// With explicit null placement.
    #[must_use]
    pub fn with_nulls(mut self, nulls: NullsOrder) -> Self {
        self.nulls = Some(nulls);
        self
    }

    /// Whether nulls come first, after applying the default.
    pub fn nulls_first(&self) -> bool {
        match self.nulls {
            Some(nulls) => nulls == NullsOrder::First,
            None => self.direction == SortDirection::Desc,
        }
    }

    /// Whether the direction is descending.
    pub fn descending(&self) -> bool {
        self.direction == SortDirection::Desc
    }
}

impl fmt::Display for SortColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = if self.descending() { "DESC" } else { "ASC" };
        let nulls = if self.nulls_first() { "FIRST" } else { "LAST" };
        write!(f, "{} {dir} NULLS {nulls}", self.column)
    }
}

/// Renders a sort order as SQL (`a ASC NULLS LAST, b DESC NULLS FIRST`).
pub fn sort_order_sql(order: &[SortColumn]) -> String {
    order
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a declared sort order is checked before DataFusion may rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortCheck {
    /// Parquet row-group statistics: row groups inside each file and the files
    /// themselves must not overlap in the declared order. Other formats have no
    /// statistics and are read in full.
    #[default]
    Statistics,
    /// Read the sort columns of every file and check every row.
    Full,
}

/// What happens when a declared sort order is contradicted or cannot be proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortPolicy {
    /// Registration fails, naming the file and row group.
    #[default]
    Strict,
    /// The dataset is registered without the ordering and a warning is recorded.
    Lenient,
}

/// A typed hive-style partition column (`<location>/<name>=<value>/...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionColumn {
    /// Column name, as in the directory names.
    pub name: String,
    /// The declared type; every directory value must parse as it (`type` in TOML/JSON).
    #[serde(with = "type_name", rename = "type")]
    pub data_type: DataType,
}

impl PartitionColumn {
    /// A partition column of the given type.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Self {
            name: name.into(),
            data_type,
        }
    }
}

mod type_name {
    use arrow::datatypes::DataType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &DataType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::type_to_sql(t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DataType, D::Error> {
        let name = String::deserialize(d)?;
        super::parse_type(&name).map_err(serde::de::Error::custom)
    }
}

/// SQL type names accepted for partition columns, and the Arrow type of each.
const TYPES: &[(&str, DataType)] = &[
    ("string", DataType::Utf8),
    ("varchar", DataType::Utf8),
    ("boolean", DataType::Boolean),
    ("tinyint", DataType::Int8),
    ("smallint", DataType::Int16),
    ("int", DataType::Int32),
    ("integer", DataType::Int32),
    ("bigint", DataType::Int64),
    ("float", DataType::Float32),
    ("double", DataType::Float64),
    ("date", DataType::Date32),
    (
        "timestamp",
        DataType::Timestamp(TimeUnit::Microsecond, None),
    ),
];

/// Parses a column type (`string`, `int`, `bigint`, `date`, `decimal(15, 2)`, ...).
pub fn parse_type(name: &str) -> Result<DataType> {
    let invalid = || Error::InvalidOption {
        option: "column type".into(),
        value: name.into(),
        expected: format!(
            "{}, decimal(precision, scale)",
            TYPES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ),
    };
    let trimmed = name.trim();
    if let Some(args) = trimmed
        .get(..8)
        .filter(|head| head.eq_ignore_ascii_case("decimal("))
        .and_then(|_| trimmed[8..].strip_suffix(')'))
    {
        let (precision, scale) = args.split_once(',').ok_or_else(invalid)?;
        let precision: u8 = precision.trim().parse().map_err(|_| invalid())?;
        let scale: i8 = scale.trim().parse().map_err(|_| invalid())?;
        if precision == 0 || precision > 38 || scale < 0 || scale as u8 > precision {
            return Err(invalid());
        }
        return Ok(DataType::Decimal128(precision, scale));
    }
    TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(trimmed))
        .map(|(_, t)| t.clone())
        .ok_or_else(invalid)
}

/// The SQL name of a column type (the first name [`parse_type`] accepts for it).
pub fn type_to_sql(data_type: &DataType) -> String {
    if let DataType::Decimal128(precision, scale) = data_type {
        return format!("decimal({precision}, {scale})");
    }
    TYPES
        .iter()
        .find(|(_, t)| t == data_type)
        .map_or_else(|| data_type.to_string(), |(n, _)| (*n).to_owned())
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

/// A Delta table: its latest version, or one pinned by `version` or `timestamp`
/// (time travel; a pinned table is read-only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaSpec {
    /// The table's root: a local directory or an object-store URL.
    pub location: String,
    /// Read this version.
    #[serde(default)]
    pub version: Option<u64>,
    /// Read the version current at this time (RFC 3339, e.g. `2024-01-31T12:00:00Z`).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Object-store options (credentials, endpoints), passed to deltalake.
    #[serde(default)]
    pub storage_options: BTreeMap<String, String>,
}

impl DeltaSpec {
    /// The latest version of the table at `location`.
    pub fn new(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            ..Self::default()
        }
    }

    /// Pins a version (time travel).
    #[must_use]
    pub fn with_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// Pins the version current at `timestamp` (RFC 3339).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.timestamp = Some(timestamp.into());
        self
    }

    /// Sets an object-store option.
    #[must_use]
    pub fn with_storage_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.storage_options.insert(key.into(), value.into());
        self
    }

    /// Whether the spec pins a version (by number or time).
    pub fn is_pinned(&self) -> bool {
        self.version.is_some() || self.timestamp.is_some()
    }
}

/// The Change Data Feed of a Delta table over a range of versions or timestamps: the
/// table's columns plus `_change_type`, `_commit_version` and `_commit_timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaCdfSpec {
    /// The table's root: a local directory or an object-store URL.
    pub location: String,
    /// First version (inclusive); defaults to the earliest version in the log when no
    /// starting timestamp is given.
    #[serde(default)]
    pub starting_version: Option<u64>,
    /// Last version (inclusive); defaults to the latest.
    #[serde(default)]
    pub ending_version: Option<u64>,
    /// First commit time (RFC 3339), instead of `starting_version`.
    #[serde(default)]
    pub starting_timestamp: Option<String>,
    /// Last commit time (RFC 3339), instead of `ending_version`.
    #[serde(default)]
    pub ending_timestamp: Option<String>,
    /// Object-store options, passed to deltalake.
    #[serde(default)]
    pub storage_options: BTreeMap<String, String>,
}

impl DeltaCdfSpec {
    /// Every change of the table at `location`, from version 0 to the latest.
    pub fn new(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            ..Self::default()
        }
    }

    /// Starts at `version` (inclusive).
    #[must_use]
    pub fn with_starting_version(mut self, version: u64) -> Self {
        self.starting_version = Some(version);
        self
    }

    /// Ends at `version` (inclusive).
    #[must_use]
    pub fn with_ending_version(mut self, version: u64) -> Self {
        self.ending_version = Some(version);
        self
    }

    /// Starts at the first commit at or after `timestamp` (RFC 3339).
    #[must_use]
    pub fn with_starting_timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.starting_timestamp = Some(timestamp.into());
        self
    }

    /// Ends at the last commit at or before `timestamp` (RFC 3339).
    #[must_use]
    pub fn with_ending_timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.ending_timestamp = Some(timestamp.into());
        self
    }
}

/// How [`crate::IoAdapter::create_delta`] creates a Delta table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaTableOptions {
    /// Where: a local directory (created) or an object-store URL.
    pub location: String,
    /// Partition columns, in order.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// Record the Change Data Feed (`delta.enableChangeDataFeed = true`).
    #[serde(default)]
    pub change_data_feed: bool,
    /// Check constraints: name and SQL expression every row must satisfy.
    #[serde(default)]
    pub constraints: BTreeMap<String, String>,
    /// Other table properties (`delta.*`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Object-store options.
    #[serde(default)]
    pub storage_options: BTreeMap<String, String>,
}

impl DeltaTableOptions {
    /// A table at `location`, unpartitioned, without the change feed.
    pub fn new(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            ..Self::default()
        }
    }

    /// Partitioned by `columns`.
    #[must_use]
    pub fn with_partition_by(mut self, columns: Vec<String>) -> Self {
        self.partition_by = columns;
        self
    }

    /// With the Change Data Feed on.
    #[must_use]
    pub fn with_change_data_feed(mut self) -> Self {
        self.change_data_feed = true;
        self
    }

    /// With a check constraint.
    #[must_use]
    pub fn with_constraint(mut self, name: impl Into<String>, expr: impl Into<String>) -> Self {
        self.constraints.insert(name.into(), expr.into());
        self
    }

    /// With a table property.
    #[must_use]
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
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
