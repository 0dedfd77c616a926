//! `unifier-write-pipeline`: writes into Delta tables.
//!
//! A [`WritePipeline`] over the catalog ([`unifier_io_adapter::IoAdapter`]) decides how
//! each write happens and reports what it did:
//!
//! - `INSERT INTO` / `INSERT OVERWRITE` planned by DataFusion run through the Delta
//!   provider's insert when the table has nothing that insert would skip, otherwise
//!   through deltalake's write operation, which enforces check constraints and NOT NULL
//!   ([`WritePipeline::choose_insert_path`]).
//! - A [`WriteRequest`] (modes, replace-where, partitioning, a strict or additive schema
//!   contract, writer and commit options, idempotent transactions) streams its source
//!   into deltalake's write operation; the contract is checked before any row is written.
//! - `DELETE` and `UPDATE` use deltalake's operations, so the change feed records them.
//!
//! Neither path collects the source in memory. Every write — committed, a no-op, or
//! failed — records a `write` event with the versions before and after, files, bytes
//! and the path taken and why; after a commit the catalog entry moves to the new version.
//!
//! ```no_run
//! # async fn demo(io: unifier_io_adapter::IoAdapter) -> Result<(), unifier_write_pipeline::Error> {
//! use unifier_write_pipeline::{WriteMode, WritePipeline, WriteRequest, WriteSource, WriteTarget};
//!
//! let pipeline = WritePipeline::new(io.clone());
//! let state = io.session().state();
//! let source = io.session().sql("SELECT 1 AS id").await.unwrap().into_unoptimized_plan();
//! let request = WriteRequest::new(WriteTarget::Dataset("events".into()), WriteSource::Plan(source))
//!     .with_mode(WriteMode::Append);
//! let summary = pipeline.write(&state, request).await?;
//! println!("version {:?} -> {:?}", summary.version_before, summary.version_after);
//! # Ok(()) }
//! ```

mod commit;
mod error;
mod insert;
mod operations;
mod path;
mod pipeline;
mod request;
mod source;
mod summary;
mod target;
mod violation;
mod write;

pub use error::{Error, Result};
pub use path::PathChoice;
pub use pipeline::WritePipeline;
pub use request::{
    CommitOptions, Transaction, WriteMode, WriteRequest, WriteSource, WriteTarget, WriterOptions,
};
pub use summary::{CommitOutcome, WritePath, WriteSummary};
pub use unifier_io_adapter::SchemaMode;
pub use unifier_io_adapter::contract::{Difference, Why};
