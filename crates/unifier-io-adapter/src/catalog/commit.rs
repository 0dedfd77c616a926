//! The one way a provider enters the session: swapped in under the catalog lock, the
//! caches for its name dropped, its `register` event recorded — or its failure.

use super::*;

impl IoAdapter {
    /// Swaps the provider in under the catalog lock, so a reader sees the old
    /// registration or the new one, never none (except for a first registration).
    pub(super) fn commit(
        &self,
        name: Name,
        prepared: Prepared,
        spec: Option<DatasetSpec>,
        options: RegisterOptions,
        diag: Option<(&DiagnosticsContext, Instant)>,
    ) -> Result<TableProviderMetadata> {
        let ctx = &self.inner.ctx;
        let mut catalog = lock(&self.inner.catalog);
        let replaced = catalog.contains_key(&name.full);
        if replaced && !options.replaces() {
            return Err(Error::AlreadyRegistered { name: name.full });
        }
        // The same unpinned Delta table loaded at an older version than the one already
        // registered: two refreshes after concurrent commits finished out of order. The
        // catalog never goes back (readers would see committed rows disappear).
        if let (Some(existing), Some(DatasetSpec::Delta(delta))) = (catalog.get(&name.full), &spec)
            && delta.version.is_none()
            && delta.timestamp.is_none()
            && existing.spec.as_ref() == spec.as_ref()
            && let (Some(have), Some(got)) = (&existing.metadata.delta, &prepared.metadata.delta)
            && have.version > got.version
        {
            return Ok(existing.metadata.clone());
        }
        if let Some(schema) = &name.schema {
            let catalog_name = ctx
                .state()
                .config()
                .options()
                .catalog
                .default_catalog
                .clone();
            let provider = ctx
                .catalog(&catalog_name)
                .ok_or_else(|| Error::InvalidName {
                    name: name.full.clone(),
                    reason: format!("catalog `{catalog_name}` is missing"),
                })?;
            if provider.schema(schema).is_none() {
                provider
                    .register_schema(schema, Arc::new(MemorySchemaProvider::new()))
                    .map_err(Error::datafusion(&name.full))?;
            }
        }
        let reference = name.reference();
        let old = ctx
            .deregister_table(reference.clone())
            .map_err(Error::datafusion(&name.full))?;
        if let Err(source) = ctx.register_table(reference.clone(), prepared.provider) {
            if let Some(old) = old {
                ctx.register_table(reference, old).ok();
            }
            return Err(Error::DataFusion {
                name: name.full,
                source: Box::new(source),
            });
        }
        self.invalidate(&reference);
        let metadata = prepared.metadata;
        catalog.insert(
            name.full.clone(),
            Entry {
                metadata: metadata.clone(),
                spec,
                options,
                delta: prepared.delta,
            },
        );
        drop(catalog);
        if let Some((diag, started)) = diag {
            let mut options_json = prepared.event_options;
            options_json.insert(
                "if_exists".into(),
                serde_json::to_value(options.if_exists).unwrap_or_default(),
            );
            options_json.insert(
                "sort_policy".into(),
                serde_json::to_value(options.sort_policy).unwrap_or_default(),
            );
            options_json.insert(
                "scan_policy".into(),
                serde_json::to_value(self.inner.scan).unwrap_or_default(),
            );
            options_json.insert(
                "options".into(),
                serde_json::to_value(&metadata.options).unwrap_or_default(),
            );
            let message = match (&metadata.warnings[..], replaced) {
                ([], false) => format!("registered `{}`", metadata.name),
                ([], true) => format!("replaced `{}`", metadata.name),
                (warnings, _) => format!(
                    "registered `{}` with warnings: {}",
                    metadata.name,
                    warnings.join("; ")
                ),
            };
            diag.record(
                Status::Ok,
                started.elapsed(),
                message,
                RegisterEvent {
                    dataset: metadata.name.clone(),
                    dataset_kind: metadata.kind.as_str().into(),
                    location: metadata.location.clone(),
                    format: metadata.format.map(|f| f.as_str().into()),
                    replaced,
                    partition_cols: metadata.partition_col_names(),
                    sort_order: metadata.sort_order_sql(),
                    sort_verification: metadata.sort_verification.state().into(),
                    files: metadata.files.unwrap_or(0),
                    capabilities: metadata.capabilities.names(),
                    delta_version: metadata
                        .delta
                        .as_ref()
                        .and_then(|d| i64::try_from(d.version).ok()),
                    options: serde_json::Value::Object(options_json).to_string(),
                },
            );
        }
        Ok(metadata)
    }

    pub(super) fn record_failure<T>(
        &self,
        diag: &DiagnosticsContext,
        started: Instant,
        name: &str,
        outcome: Result<T>,
    ) -> Result<T> {
        if let Err(error) = &outcome {
            diag.record(
                Status::Error,
                started.elapsed(),
                crate::error::chain(error),
                ErrorEvent {
                    operation: "register".into(),
                    error_kind: error.kind().into(),
                    sql_fingerprint: None,
                },
            );
            tracing::warn!(dataset = name, error = %crate::error::chain(error), "registration failed");
        }
        outcome
    }
}
