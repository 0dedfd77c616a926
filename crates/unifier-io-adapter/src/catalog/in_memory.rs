//! Registrations of what has no files to list: record batches, views over gated plans,
//! tables DataFusion built (`CREATE [EXTERNAL] TABLE`), any provider, and datasets kept
//! as unavailable with their cause.

use super::*;

impl IoAdapter {
    /// Registers in-memory record batches as table `name` (read-only: DataFusion's
    /// memory table changes rows while a DELETE or UPDATE is being planned).
    pub fn register_batches(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        self.registered(name, options, || {
            let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
            let bytes = batches
                .iter()
                .map(|b| b.get_array_memory_size() as u64)
                .sum();
            let table = MemTable::try_new(schema.clone(), vec![batches])
                .map_err(Error::datafusion(name))?;
            let mut metadata = TableProviderMetadata::new(name, DatasetKind::Batches, schema);
            metadata.rows = Some(rows);
            metadata.bytes = Some(bytes);
            Ok(Prepared::new(Arc::new(table), metadata))
        })
    }

    /// Registers a view over an already planned (and gated) logical plan.
    pub fn register_view(
        &self,
        name: &str,
        plan: LogicalPlan,
        definition: Option<String>,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        self.registered(name, options, || {
            let schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
            let mut metadata = TableProviderMetadata::new(name, DatasetKind::View, schema);
            if let Some(sql) = &definition {
                metadata.options.insert("sql".into(), sql.clone());
            }
            Ok(Prepared::new(
                Arc::new(ViewTable::new(plan, definition)),
                metadata,
            ))
        })
    }

    /// Takes a table that DataFusion itself created in the session (a `CREATE [EXTERNAL]
    /// TABLE` the facade let DataFusion build) out of the session and registers it like a
    /// provider: recorded, listed, and writable only as `capabilities` say.
    pub async fn adopt_session_table(
        &self,
        name: &str,
        capabilities: WriteCapabilities,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        let ctx = &self.inner.ctx;
        let provider = ctx
            .table_provider(name)
            .await
            .map_err(Error::datafusion(name))?;
        ctx.deregister_table(name)
            .map_err(Error::datafusion(name))?;
        self.register_provider(name, provider, capabilities, options)
    }

    /// Registers any `TableProvider` with the write capabilities the caller vouches for.
    pub fn register_provider(
        &self,
        name: &str,
        provider: Arc<dyn TableProvider>,
        capabilities: WriteCapabilities,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        self.registered(name, options, || {
            let mut metadata =
                TableProviderMetadata::new(name, DatasetKind::Provider, provider.schema());
            metadata.capabilities = capabilities;
            metadata.filter_pushdown = FilterPushdown::Inexact;
            Ok(Prepared::new(provider, metadata))
        })
    }

    /// Keeps `name` in the catalog as a dataset that failed to register with `error`:
    /// listed (with the cause) in `system.datasets`, but with no table, so other datasets
    /// stay queryable and a statement that reads this one can be refused naming it.
    /// Replaces an earlier registration of the name.
    pub fn register_failed(
        &self,
        name: &str,
        kind: DatasetKind,
        location: Option<String>,
        error: &(dyn std::error::Error + 'static),
    ) -> Result<TableProviderMetadata> {
        let parsed = parse_name(name, false)?;
        let mut metadata =
            TableProviderMetadata::new(name, kind, Arc::new(arrow::datatypes::Schema::empty()));
        metadata.location = location;
        metadata.error = Some(unifier_diagnostics::error_chain(error));
        let mut catalog = lock(&self.inner.catalog);
        let reference = parsed.reference();
        if catalog.contains_key(&parsed.full) {
            self.inner
                .ctx
                .deregister_table(reference.clone())
                .map_err(Error::datafusion(name))?;
        }
        catalog.insert(
            parsed.full,
            Entry {
                metadata: metadata.clone(),
                spec: None,
                options: RegisterOptions::default(),
                delta: None,
            },
        );
        drop(catalog);
        self.invalidate(&reference);
        Ok(metadata)
    }
}
