//! Live tables: a schema plus a function that produces the current rows at scan time
//! (`diagnostics.*`, `system.datasets`).

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

/// Produces the rows of a live table.
pub(crate) type Producer = Arc<dyn Fn() -> Result<Vec<RecordBatch>> + Send + Sync>;

/// A table whose rows are produced fresh at every scan.
pub(crate) struct LiveTable {
    name: String,
    schema: SchemaRef,
    producer: Producer,
}

impl LiveTable {
    pub(crate) fn new(name: impl Into<String>, schema: SchemaRef, producer: Producer) -> Self {
        Self {
            name: name.into(),
            schema,
            producer,
        }
    }
}

impl fmt::Debug for LiveTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveTable")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TableProvider for LiveTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batches = (self.producer)()?;
        Ok(MemorySourceConfig::try_new_exec(
            &[batches],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}
