//! Capability metadata of every registered dataset, and `system.datasets`.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, ListBuilder, StringArray, StringBuilder, UInt64Array};
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
    /// Whether unifier writes into this dataset through its INSERT path.
    pub supports_insert: bool,
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
            supports_insert: false,
            filter_pushdown: FilterPushdown::Unsupported,
            files: None,
            bytes: None,
            rows: None,
            options: BTreeMap::new(),
            schema,
            warnings: Vec::new(),
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
pub const DATASETS_SCHEMA_VERSION: u32 = 1;

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
            Field::new("partition_cols", list, false),
            Field::new("sort_order", DataType::Utf8, true),
            Field::new("sort_verification", DataType::Utf8, false),
            Field::new("supports_insert", DataType::Boolean, false),
            Field::new("filter_pushdown", DataType::Utf8, false),
            Field::new("files", DataType::UInt64, true),
            Field::new("bytes", DataType::UInt64, true),
            Field::new("rows", DataType::UInt64, true),
            Field::new("columns", DataType::UInt64, false),
            Field::new("options", DataType::Utf8, false),
            Field::new("warnings", DataType::Utf8, true),
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
    let mut partitions = ListBuilder::new(StringBuilder::new());
    for d in datasets {
        for p in d.partition_col_names() {
            partitions.values().append_value(p);
        }
        partitions.append(true);
    }
    RecordBatch::try_new(
        datasets_schema(),
        vec![
            strings(&|d| Some(d.name.clone())),
            strings(&|d| Some(d.kind.as_str().to_owned())),
            strings(&|d| d.location.clone()),
            strings(&|d| d.format.map(|f| f.as_str().to_owned())),
            Arc::new(partitions.finish()),
            strings(&|d| d.sort_order_sql()),
            strings(&|d| Some(d.sort_verification.state().to_owned())),
            Arc::new(
                datasets
                    .iter()
                    .map(|d| Some(d.supports_insert))
                    .collect::<BooleanArray>(),
            ),
            strings(&|d| Some(d.filter_pushdown.as_str().to_owned())),
            counts(&|d| d.files),
            counts(&|d| d.bytes),
            counts(&|d| d.rows),
            counts(&|d| Some(d.schema.fields().len() as u64)),
            strings(&|d| Some(serde_json::to_string(&d.options).unwrap_or_default())),
            strings(&|d| (!d.warnings.is_empty()).then(|| d.warnings.join("; "))),
        ],
    )
}
