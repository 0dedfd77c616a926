//! The table a write goes into: a registered Delta dataset at its latest version, or a
//! table at a location (created with its declared schema when there is none).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use deltalake::delta_datafusion::planner::DeltaPlanner;
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryFromArrow as _;
use deltalake::{DeltaTable, DeltaTableError};
use unifier_io_adapter::{DatasetKind, TableProviderMetadata};

use crate::error::{Error, Result};
use crate::pipeline::WritePipeline;

/// A Delta table resolved for writing.
pub(crate) struct Target {
    /// The registered name, or the location.
    pub(crate) name: String,
    /// Where it is.
    pub(crate) location: String,
    /// The loaded table.
    pub(crate) table: DeltaTable,
    /// The catalog's entry (`None` for a table written at a location).
    pub(crate) metadata: Option<TableProviderMetadata>,
}

impl Target {
    /// The version loaded (`None` before the first commit).
    pub(crate) fn version(&self) -> Option<u64> {
        self.table.version()
    }

    /// The latest version in the log, which a commit since loading may have moved.
    pub(crate) async fn latest_version(&self) -> Option<u64> {
        self.table
            .log_store()
            .get_latest_version(self.version().unwrap_or(0))
            .await
            .ok()
    }

    /// The table's own schema, from its Delta log: the logical types the table stores
    /// (a partition column is a string, not the dictionary DataFusion's scan makes of
    /// it), with the table's nullability.
    pub(crate) fn schema(&self) -> Option<SchemaRef> {
        let state = self.table.snapshot().ok()?;
        Some(state.snapshot().arrow_schema())
    }
}

impl WritePipeline {
    /// The registered Delta dataset `name`, writable at its latest version.
    pub(crate) fn target(&self, name: &str) -> Result<Target> {
        let metadata = self
            .io()
            .dataset(name)
            .ok_or_else(|| Error::NotRegistered { table: name.into() })?;
        if metadata.kind != DatasetKind::Delta {
            return Err(Error::NotWritable {
                table: name.into(),
                reason: format!("it is a {} dataset", metadata.kind.as_str()),
            });
        }
        if metadata.delta.as_ref().is_some_and(|d| d.pinned) {
            return Err(Error::NotWritable {
                table: name.into(),
                reason:
                    "it is registered at a pinned version or timestamp (time travel is read-only)"
                        .into(),
            });
        }
        let table = self
            .io()
            .delta_table(name)
            .ok_or_else(|| Error::NotWritable {
                table: name.into(),
                reason: "no Delta table is loaded for it".into(),
            })?;
        Ok(Target {
            name: name.into(),
            location: metadata.location.clone().unwrap_or_default(),
            table,
            metadata: Some(metadata),
        })
    }
}

/// Opens the table at `location`, creating it with `schema` when there is none.
pub(crate) async fn open_or_create(
    location: &str,
    schema: &SchemaRef,
    partition_by: &[String],
) -> Result<DeltaTable> {
    let delta_err = |source| Error::Delta {
        table: location.into(),
        operation: "create",
        source: Box::new(source),
    };
    if !location.contains("://") {
        std::fs::create_dir_all(location).map_err(|source| Error::Location {
            location: location.into(),
            source,
        })?;
    }
    let url = deltalake::ensure_table_uri(location).map_err(delta_err)?;
    let table = DeltaTable::try_from_url(url).await.map_err(delta_err)?;
    if table.version().is_some() {
        return Ok(table);
    }
    let columns = StructType::try_from_arrow(schema.as_ref())
        .map_err(|e| delta_err(DeltaTableError::from(e)))?;
    table
        .create()
        .with_columns(columns.fields().cloned())
        .with_partition_columns(partition_by.to_vec())
        .await
        .map_err(delta_err)
}

/// `state` with deltalake's query planner, which plans the custom nodes its operations
/// build (metrics observers, change-feed capture); configuration, runtime (memory pool)
/// and object stores stay the session's.
pub(crate) fn delta_state(state: &SessionState) -> Arc<SessionState> {
    Arc::new(
        SessionStateBuilder::new_from_existing(state.clone())
            .with_query_planner(DeltaPlanner::new())
            .build(),
    )
}
