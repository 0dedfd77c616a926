//! `unifier-io-adapter`: the only registration surface of unifier.
//!
//! Nothing else in the workspace calls DataFusion's `register_*` (`cargo xtask tidy`
//! enforces it). The [`IoAdapter`] registers listing tables (parquet, csv, json, avro,
//! arrow; typed hive partitions; a declared sort order that is verified before
//! DataFusion may rely on it), Delta tables (time travel included) and their Change
//! Data Feed (also as the SQL function `table_changes`), record batches, views and any
//! `TableProvider`, keeps
//! [`TableProviderMetadata`] for each (queryable as `system.datasets`), and exposes the
//! diagnostics recorder as live `diagnostics.*` tables. Every registration records a
//! `register` event, or an `error` event naming what was wrong; a failed registration
//! leaves the catalog unchanged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), unifier_io_adapter::Error> {
//! use unifier_diagnostics::DiagnosticsRecorder;
//! use unifier_io_adapter::{FileFormatKind, IoAdapter, ListingSpec, RegisterOptions, ScanPolicy, SortColumn};
//!
//! let adapter = IoAdapter::with_defaults(ScanPolicy::default(), DiagnosticsRecorder::default())?;
//! let spec = ListingSpec::new("data/trips", FileFormatKind::Parquet)
//!     .with_sort_order(vec![SortColumn::asc("pickup_at")]);
//! let metadata = adapter.register("trips", spec, RegisterOptions::default()).await?;
//! assert!(metadata.sort_verification.is_verified());
//! # Ok(()) }
//! ```

mod catalog;
mod cdf;
mod columns;
pub mod contract;
mod cursor;
mod delta;
mod delta_spec;
mod error;
mod listing;
mod live;
mod metadata;
mod order;
mod sortcache;
mod sortcheck;
mod spec;

pub use catalog::{DIAGNOSTICS_SCHEMA, IoAdapter, RESERVED_SCHEMAS, SYSTEM_SCHEMA};
pub use contract::SchemaMode;
pub use cursor::{CdfCursor, CdfRange};
pub use error::{Error, Result, SchemaConflict};
pub use metadata::{
    Constraint, DATASETS_SCHEMA_VERSION, DeltaInfo, FilterPushdown, TableProviderMetadata,
    WriteCapabilities, WriteOp, datasets_schema,
};
pub use sortcheck::{SortVerification, VerifiedBy};
pub use spec::{
    DatasetKind, DatasetSpec, DeltaCdfSpec, DeltaSpec, DeltaTableOptions, FileFormatKind, IfExists,
    ListingSpec, NullsOrder, PartitionColumn, RegisterOptions, ScanPolicy, SortCheck, SortColumn,
    SortDirection, SortPolicy, parse_type, sort_order_sql, type_to_sql,
};
