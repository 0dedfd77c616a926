//! Capability metadata of every registered dataset, and `system.datasets`.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use serde::Serialize;

use crate::sortcheck::SortVerification;
use crate::spec::{
    DatasetKind, FileFormatKind, PartitionColumn, SortColumn, sort_order_sql, type_to_sql,
};

/// How a dataset takes filters pushed into its scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterPushdown {
    /// Filters are applied above the scan.
    Unsupported,
    /// The scan uses filters to skip data (statistics, row groups) and DataFusion
    /// re-checks them.
    Inexact,
    /// Like `Inexact`, and exact on partition columns (whole directories skipped).
    ExactOnPartitions,
}

impl FilterPushdown {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterPushdown::Unsupported => "unsupported",
            FilterPushdown::Inexact => "inexact",
            FilterPushdown::ExactOnPartitions => "exact_on_partitions",
        }
    }
}

/// A write operation, as the catalog's capabilities name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOp {
    /// `INSERT INTO`: add rows.
    Append,
    /// `INSERT OVERWRITE`: replace the rows (or those matching a predicate).
    Overwrite,
    /// `DELETE`.
    Delete,
    /// `UPDATE`.
    Update,
    /// `MERGE`.
    Merge,
}

impl WriteOp {
    /// Every operation.
    pub const ALL: &'static [WriteOp] = &[
        WriteOp::Append,
        WriteOp::Overwrite,
        WriteOp::Delete,
        WriteOp::Update,
        WriteOp::Merge,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteOp::Append => "append",
            WriteOp::Overwrite => "overwrite",
            WriteOp::Delete => "delete",
            WriteOp::Update => "update",
            WriteOp::Merge => "merge",
        }
    }
}

impl std::fmt::Display for WriteOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The write operations a dataset accepts through unifier. The facade checks every write
/// node of a plan (wherever it sits: under `EXPLAIN`, `EXPLAIN ANALYZE`, `EXECUTE`) against
/// these before anything runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct WriteCapabilities {
    /// `INSERT INTO`.
    pub append: bool,
    /// `INSERT OVERWRITE`.
    pub overwrite: bool,
    /// `DELETE`.
    pub delete: bool,
    /// `UPDATE`.
    pub update: bool,
    /// `MERGE`.
    pub merge: bool,
}

impl WriteCapabilities {
    /// Read-only.
    pub const NONE: WriteCapabilities = WriteCapabilities {
        append: false,
        overwrite: false,
        delete: false,
        update: false,
        merge: false,
    };

    /// Append and overwrite (an insert-only sink).
    pub const INSERT: WriteCapabilities = WriteCapabilities {
        append: true,
        overwrite: true,
        delete: false,
        update: false,
        merge: false,
    };

    /// Append, overwrite, delete and update (a Delta table at its latest version).
    pub const DELTA: WriteCapabilities = WriteCapabilities {
        append: true,
        overwrite: true,
        delete: true,
        update: true,
        merge: false,
    };

    /// Every operation.
    pub const ALL: WriteCapabilities = WriteCapabilities {
        append: true,
        overwrite: true,
        delete: true,
        update: true,
        merge: true,
    };

    /// The operations accepted by both.
    #[must_use]
    pub fn within(self, allowed: WriteCapabilities) -> WriteCapabilities {
        WriteCapabilities {
            append: self.append && allowed.append,
            overwrite: self.overwrite && allowed.overwrite,
            delete: self.delete && allowed.delete,
            update: self.update && allowed.update,
            merge: self.merge && allowed.merge,
        }
    }

    /// Whether `op` is accepted.
    pub fn allows(&self, op: WriteOp) -> bool {
        match op {
            WriteOp::Append => self.append,
            WriteOp::Overwrite => self.overwrite,
            WriteOp::Delete => self.delete,
            WriteOp::Update => self.update,
            WriteOp::Merge => self.merge,
        }
    }

    /// The accepted operations, in [`WriteOp::ALL`] order.
    pub fn ops(&self) -> Vec<WriteOp> {
        WriteOp::ALL
            .iter()
            .copied()
            .filter(|op| self.allows(*op))
            .collect()
    }

    /// The accepted operations' names.
    pub fn names(&self) -> Vec<String> {
        self.ops().iter().map(|op| op.as_str().to_owned()).collect()
    }

    /// Whether any write is accepted.
    pub fn any(&self) -> bool {
        !self.ops().is_empty()
    }
}

/// A Delta check constraint: every row must make `expr` true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    /// Its name (`positive_id`).
    pub name: String,
    /// The SQL expression (`id > 0`).
    pub expr: String,
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.expr)
    }
}

/// What the catalog knows of a Delta table (or the table behind a change feed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeltaInfo {
    /// The table's root URL.
    pub table_url: String,
    /// The version registered (the snapshot read).
    pub version: u64,
    /// The latest version when registered (differs from `version` under time travel).
    pub latest_version: u64,
    /// The earliest version whose commit is still in the log (older ones were cleaned up).
    pub earliest_version: u64,
    /// Whether the registration pins a version or a timestamp.
    pub pinned: bool,
    /// Protocol minimum reader version.
    pub min_reader_version: i32,
    /// Protocol minimum writer version.
    pub min_writer_version: i32,
    /// Table features in use: `change_data_feed`, `deletion_vectors`, `column_mapping`,
    /// `check_constraints`, and any reader/writer feature the protocol lists.
    pub features: Vec<String>,
    /// Whether the Change Data Feed is enabled (`delta.enableChangeDataFeed`).
    pub change_data_feed: bool,
    /// Check constraints (`delta.constraints.<name>` table properties).
    pub constraints: Vec<Constraint>,
    /// Partition columns, in order.
    pub partition_columns: Vec<String>,
}

/// What the catalog knows about one registered name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableProviderMetadata {
    /// Registered name (`schema.table` outside the default schema).
    pub name: String,
    /// Dataset kind.
    pub kind: DatasetKind,
    /// Location, for file-backed datasets (as given).
    pub location: Option<String>,
    /// File format, for listing tables.
    pub format: Option<FileFormatKind>,
    /// Typed partition columns.
    pub partition_cols: Vec<PartitionColumn>,
    /// The declared sort order (whether or not it was verified).
    pub sort_order: Vec<SortColumn>,
    /// The outcome of verifying `sort_order`; DataFusion has the ordering only when verified.
    pub sort_verification: SortVerification,
    /// The write operations accepted through unifier.
    pub capabilities: WriteCapabilities,
    /// Delta table facts, for `delta` and `delta_cdf` datasets.
    pub delta: Option<DeltaInfo>,
    /// Filter pushdown support of the scan.
    pub filter_pushdown: FilterPushdown,
    /// Files at the location when registered.
    pub files: Option<u64>,
    /// Bytes of those files.
    pub bytes: Option<u64>,
    /// Rows, when known without reading data (parquet footers, batches).
    pub rows: Option<u64>,
    /// Registration and format options.
    pub options: BTreeMap<String, String>,
    /// The table's schema (partition columns last).
    #[serde(skip)]
    pub schema: SchemaRef,
    /// Warnings raised while registering (a dropped ordering under the lenient policy).
    pub warnings: Vec<String>,
    /// Why the dataset could not be registered; `None` when it is queryable. A failed
    /// dataset stays in the catalog (so `system.datasets` says why) but has no table:
    /// a statement that reads it is refused naming it and this cause.
    pub error: Option<String>,
}

impl TableProviderMetadata {
    pub(crate) fn new(name: &str, kind: DatasetKind, schema: SchemaRef) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            location: None,
            format: None,
            partition_cols: Vec::new(),
            sort_order: Vec::new(),
            sort_verification: SortVerification::None,
            capabilities: WriteCapabilities::NONE,
            delta: None,
            filter_pushdown: FilterPushdown::Unsupported,
            files: None,
            bytes: None,
            rows: None,
            options: BTreeMap::new(),
            schema,
            warnings: Vec::new(),
            error: None,
        }
    }

    /// Partition columns as `name:type`.
    pub fn partition_col_names(&self) -> Vec<String> {
        self.partition_cols
            .iter()
            .map(|c| format!("{}:{}", c.name, type_to_sql(&c.data_type)))
            .collect()
    }

    /// The declared order as SQL, when there is one.
    pub fn sort_order_sql(&self) -> Option<String> {
        (!self.sort_order.is_empty()).then(|| sort_order_sql(&self.sort_order))
    }
}

/// Version of the `system.datasets` table.
pub const DATASETS_SCHEMA_VERSION: u32 = 2;

/// Schema of `system.datasets`.
pub fn datasets_schema() -> SchemaRef {
    let list = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    let metadata = [(
        "schema_version".to_owned(),
        DATASETS_SCHEMA_VERSION.to_string(),
    )]
    .into();
    Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("location", DataType::Utf8, true),
            Field::new("format", DataType::Utf8, true),
            Field::new("partition_cols", list.clone(), false),
            Field::new("sort_order", DataType::Utf8, true),
            Field::new("sort_verification", DataType::Utf8, false),
            Field::new("capabilities", list.clone(), false),
            Field::new("filter_pushdown", DataType::Utf8, false),
            Field::new("files", DataType::UInt64, true),
            Field::new("bytes", DataType::UInt64, true),
            Field::new("rows", DataType::UInt64, true),
            Field::new("columns", DataType::UInt64, false),
            Field::new("options", DataType::Utf8, false),
            Field::new("warnings", DataType::Utf8, true),
            Field::new("delta_version", DataType::Int64, true),
            Field::new("delta_protocol", DataType::Utf8, true),
            Field::new("delta_features", list, true),
            Field::new("error", DataType::Utf8, true),
        ],
        metadata,
    ))
}

/// The rows of `system.datasets`.
pub(crate) fn datasets_batch(
    datasets: &[TableProviderMetadata],
) -> Result<RecordBatch, ArrowError> {
    let strings = |f: &dyn Fn(&TableProviderMetadata) -> Option<String>| -> ArrayRef {
        Arc::new(datasets.iter().map(f).collect::<StringArray>())
    };
    let counts = |f: &dyn Fn(&TableProviderMetadata) -> Option<u64>| -> ArrayRef {
        Arc::new(datasets.iter().map(f).collect::<UInt64Array>())
    };
    let lists = |f: &dyn Fn(&TableProviderMetadata) -> Option<Vec<String>>| -> ArrayRef {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for d in datasets {
            match f(d) {
                Some(values) => {
                    for v in values {
                        builder.values().append_value(v);
                    }
                    builder.append(true);
                }
                None => builder.append(false),
            }
        }
        Arc::new(builder.finish())
    };
    RecordBatch::try_new(
        datasets_schema(),
        vec![
            strings(&|d| Some(d.name.clone())),
            strings(&|d| Some(d.kind.as_str().to_owned())),
            strings(&|d| d.location.clone()),
            strings(&|d| d.format.map(|f| f.as_str().to_owned())),
            lists(&|d| Some(d.partition_col_names())),
            strings(&|d| d.sort_order_sql()),
            strings(&|d| Some(d.sort_verification.state().to_owned())),
            lists(&|d| Some(d.capabilities.names())),
            strings(&|d| Some(d.filter_pushdown.as_str().to_owned())),
            counts(&|d| d.files),
            counts(&|d| d.bytes),
            counts(&|d| d.rows),
            counts(&|d| Some(d.schema.fields().len() as u64)),
            strings(&|d| Some(serde_json::to_string(&d.options).unwrap_or_default())),
            strings(&|d| (!d.warnings.is_empty()).then(|| d.warnings.join("; "))),
            Arc::new(
                datasets
                    .iter()
                    .map(|d| d.delta.as_ref().and_then(|x| i64::try_from(x.version).ok()))
                    .collect::<Int64Array>(),
            ),
            strings(&|d| {
                d.delta.as_ref().map(|x| {
                    format!(
                        "reader {}, writer {}",
                        x.min_reader_version, x.min_writer_version
                    )
                })
            }),
            lists(&|d| d.delta.as_ref().map(|x| x.features.clone())),
            strings(&|d| d.error.clone()),
        ],
    )
}
