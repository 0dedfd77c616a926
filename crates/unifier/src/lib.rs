//! `unifier`: one governed entry point in front of DataFusion and Delta Lake.
//!
//! A [`Unifier`] holds a policy, a catalog (the IO adapter over one DataFusion session),
//! a diagnostics recorder and runtime limits. [`Unifier::compile`] checks SQL with the
//! policy, plans *the same AST* with DataFusion and verifies the plan again;
//! [`Unifier::execute`] runs it within the memory limit and timeout and returns one
//! envelope, [`ExecutionResult`], with provenance and scan metrics. Every step records
//! a typed event, queryable as `diagnostics.*`.
//!
//! Each layer is re-exported as a module, with the engines at matching versions.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), unifier::Error> {
//! use unifier::{Compiled, Params, Unifier, UnifierProfile};
//!
//! let unifier = Unifier::new(UnifierProfile::default())?;
//! let result = unifier.sql("SELECT 1 + 1 AS two", Params::None).await?;
//! assert_eq!(result.rows(), 1);
//!
//! // A refusal is data, and nothing ran.
//! let compiled = unifier.compile("DROP TABLE t", Params::None).await?;
//! assert!(matches!(compiled, Compiled::Denied(_)));
//! # Ok(()) }
//! ```

mod audit;
mod catalog;
mod compile;
mod convert;
mod define;
mod error;
mod execute;
mod explain;
mod files;
mod memory;
mod metrics;
mod params;
pub mod physical;
mod prepared;
mod profile;
mod result;
mod route;
mod stream;
mod unifier;
mod writes;

pub use catalog::Catalog;
pub use define::OutputContract;
pub use error::{Error, Result, error_chain};
pub use memory::MemoryBounds;
pub use metrics::ScanMetrics;
pub use params::Params;
pub use profile::{DiagnosticsProfile, RuntimeProfile, UnifierProfile};
pub use result::{
    Compiled, CompiledQuery, DeniedQuery, ExecutionResult, Explained, Provenance, WriteSummary,
};
pub use stream::{PhysicalPlan, RecordedStream};
pub use unifier::{MAX_BATCH_SIZE, MAX_TARGET_PARTITIONS, Unifier};

/// The policy layer: strict parsing, the statement-class gate, canonical SQL and
/// fingerprints (`unifier-policy`).
pub mod policy {
    pub use unifier_policy::*;
}

/// The diagnostics layer: typed events, schemas, recorder, sinks (`unifier-diagnostics`).
pub mod diagnostics {
    pub use unifier_diagnostics::*;
}

/// The catalog: registration, verified orderings, capability metadata (`unifier-io-adapter`).
pub mod io {
    pub use unifier_io_adapter::*;
}

/// Writes into Delta tables: requests, modes, schema contracts, summaries
/// (`unifier-write-pipeline`).
pub mod write {
    pub use unifier_write_pipeline::*;
}

pub use arrow;
pub use datafusion;
pub use deltalake;

/// The DataFusion statement the facade plans for one checked statement: the policy's
/// AST converted field for field (exposed so tests can compare it with `DFParser`'s).
pub fn datafusion_statement(
    statement: &policy::PolicyStatement,
) -> datafusion::error::Result<datafusion::sql::parser::Statement> {
    convert::to_datafusion(statement)
}

/// Checks `sql` against `policy` without running anything: the first step of every
/// statement unifier accepts.
pub fn check(policy: &policy::Policy, sql: &str) -> Result<policy::PolicyReport, policy::Error> {
    policy.check(sql)
}
