//! What a caller asks of a Delta table: a snapshot (latest, or pinned by version or
//! timestamp), a change feed over a range, or a table created with a declared schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
