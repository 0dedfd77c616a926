//! [`Catalog`]: the catalog as the facade hands it out — what is registered, and
//! registration — and the one explicit escape hatch, [`Unifier::unchecked_io`].
//!
//! The IO adapter underneath owns the DataFusion session and the Delta table handles;
//! either would run plans or commit writes without the policy, the write check or an
//! event. The facade never hands them out through `Catalog`: SQL goes through
//! [`Unifier::compile`], writes through [`Unifier::write`], and rows of files through
//! [`Unifier::read_files`].

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::datasource::TableProvider;
use unifier_diagnostics::{PolicyEvent, Status};
use unifier_io_adapter::{
    DatasetKind, DatasetSpec, IoAdapter, RegisterOptions, ScanPolicy, TableProviderMetadata,
    WriteCapabilities,
};

use crate::error::{Error, Result};
use crate::unifier::Unifier;

/// What is registered, and registration; nothing here plans, runs or writes.
///
/// ```
/// fn count(u: &unifier::Unifier) -> usize {
///     u.catalog().datasets().len()
/// }
/// ```
///
/// The session and the Delta table handles are not reachable through it:
///
/// ```compile_fail
/// fn session(u: &unifier::Unifier) {
///     let _ = u.catalog().session();
/// }
/// ```
///
/// ```compile_fail
/// fn table(u: &unifier::Unifier) {
///     let _ = u.catalog().delta_table("t");
/// }
/// ```
///
/// nor is a compiled statement's plan, which holds the catalog's table providers:
///
/// ```compile_fail
/// fn plan(q: unifier::CompiledQuery) -> unifier::datafusion::logical_expr::LogicalPlan {
///     q.plan
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    io: &'a IoAdapter,
}

impl<'a> Catalog<'a> {
    pub(crate) fn new(io: &'a IoAdapter) -> Self {
        Self { io }
    }

    /// Metadata of every registered dataset (system tables included).
    pub fn datasets(&self) -> Vec<TableProviderMetadata> {
        self.io.datasets()
    }

    /// Metadata of one dataset.
    pub fn dataset(&self, name: &str) -> Option<TableProviderMetadata> {
        self.io.dataset(name)
    }

    /// The spec a dataset was registered from (`None` for batches, views, providers).
    pub fn spec(&self, name: &str) -> Option<DatasetSpec> {
        self.io.spec(name)
    }

    /// Bumped on every (re)registration and deregistration.
    pub fn generation(&self) -> u64 {
        self.io.generation()
    }

    /// The scan policy in force.
    pub fn scan_policy(&self) -> ScanPolicy {
        self.io.scan_policy()
    }

    /// Registers in-memory batches (recorded like every registration).
    pub fn register_batches(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        Ok(self.io.register_batches(name, schema, batches, options)?)
    }

    /// Registers a table provider with the write operations it accepts through unifier.
    pub fn register_provider(
        &self,
        name: &str,
        provider: Arc<dyn TableProvider>,
        capabilities: WriteCapabilities,
        options: RegisterOptions,
    ) -> Result<TableProviderMetadata> {
        Ok(self
            .io
            .register_provider(name, provider, capabilities, options)?)
    }

    /// Records a dataset that could not be registered: listed as unavailable with the
    /// cause, and a statement reading it fails naming it.
    pub fn register_failed(
        &self,
        name: &str,
        kind: DatasetKind,
        location: Option<String>,
        error: &(dyn std::error::Error + 'static),
    ) -> Result<TableProviderMetadata> {
        Ok(self.io.register_failed(name, kind, location, error)?)
    }

    /// Removes a dataset; false when there was none.
    pub fn deregister(&self, name: &str) -> Result<bool> {
        Ok(self.io.deregister(name)?)
    }

    /// Re-reads a dataset (a Delta table's latest version, a listing's files).
    pub async fn refresh(&self, name: &str) -> Result<TableProviderMetadata> {
        Ok(self.io.refresh(name).await?)
    }

    /// Remembers verified sort orders in `path` across runs (see
    /// [`IoAdapter::remember_sort_orders_in`]).
    pub fn remember_sort_orders_in(&self, path: impl Into<PathBuf>) -> bool {
        self.io.remember_sort_orders_in(path)
    }
}

impl Unifier {
    /// The catalog: what is registered, and registration.
    pub fn catalog(&self) -> Catalog<'_> {
        Catalog::new(&self.io)
    }

    /// The IO adapter itself, with the DataFusion session and the Delta table handles it
    /// owns: plans run and writes committed through it bypass the policy, the write
    /// check and the events. Refused unless the policy profile sets `allow_unchecked`
    /// (every preset leaves it off); each call, granted or refused, records a `policy`
    /// event with verdict `unchecked` or `deny` and code `unchecked_api`.
    pub fn unchecked_io(&self) -> Result<&IoAdapter> {
        let granted = self.policy.profile().allow_unchecked;
        let diag = self.recorder().begin("unchecked");
        let message = if granted {
            "unchecked access to the session granted (allow_unchecked)"
        } else {
            "unchecked access to the session refused: the policy does not set allow_unchecked"
        };
        diag.record(
            if granted { Status::Ok } else { Status::Denied },
            diag.elapsed(),
            message,
            PolicyEvent {
                verdict: if granted { "unchecked" } else { "deny" }.into(),
                codes: vec!["unchecked_api".into()],
                dialect: self.policy.profile().read_dialect.to_string(),
                profile_fingerprint: self.policy.fingerprint().into(),
                ..Default::default()
            },
        );
        if granted {
            Ok(&self.io)
        } else {
            Err(Error::Unchecked {
                reason: message.into(),
            })
        }
    }
}
