//! The event kinds: one struct per kind, its columns, its schema version.
//!
//! Every kind is declared once in [`event_kinds!`]; the struct, its Arrow columns, its
//! documentation table and the [`EventKind`]/[`EventDetail`] enums all come from that one
//! declaration, so they cannot drift apart.

use std::sync::Arc;

use arrow::array::ArrayBuilder;
use arrow::datatypes::Field;
use serde::{Deserialize, Serialize};

use crate::column::ColumnValue;

/// Outcome of the operation an event describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The operation succeeded.
    #[default]
    Ok,
    /// The policy refused the statement; nothing ran.
    Denied,
    /// The operation failed.
    Error,
}

impl Status {
    /// The lowercase name used in tables and JSON (`ok`, `denied`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Denied => "denied",
            Status::Error => "error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One column of an event table, for documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDoc {
    /// Column name.
    pub name: &'static str,
    /// What the column holds.
    pub doc: &'static str,
}

/// One recorded event: the common columns plus the kind's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Version of the kind's schema this event was written with.
    pub schema_version: u32,
    /// Sequence number of the event within its session; `(session_id, event_id)` is unique.
    pub event_id: u64,
    /// The operation (one compile, execute, register, ...) the event belongs to.
    pub operation_id: u64,
    /// The recorder's session (one per process or `Unifier`), a UUID.
    pub session_id: Arc<str>,
    /// When the event was recorded, microseconds since the Unix epoch (UTC).
    pub ts_us: i64,
    /// Outcome.
    pub status: Status,
    /// How long the step took, microseconds.
    pub duration_us: u64,
    /// Human-readable summary (an error message for `error` events).
    pub message: String,
    /// The kind and its fields.
    #[serde(flatten)]
    pub detail: EventDetail,
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.detail.kind()
    }
}

/// Declares the event kinds. See the module documentation.
macro_rules! event_kinds {
    ($(
        $(#[doc = $kdoc:literal])*
        $variant:ident($ty:ident) = $name:literal, version $version:literal {
            $( $(#[doc = $fdoc:literal])* $field:ident : $fty:ty, )*
        }
    )*) => {
        $(
            $(#[doc = $kdoc])*
            #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
            #[serde(default)]
            pub struct $ty {
                $( $(#[doc = $fdoc])* pub $field: $fty, )*
            }

            impl From<$ty> for EventDetail {
                fn from(value: $ty) -> Self {
                    EventDetail::$variant(value)
                }
            }

            impl $ty {
                fn fields() -> Vec<Field> {
                    vec![$( Field::new(stringify!($field), <$fty as ColumnValue>::data_type(), <$fty as ColumnValue>::NULLABLE), )*]
                }

                fn builders(capacity: usize) -> Vec<Box<dyn ArrayBuilder>> {
                    vec![$( <$fty as ColumnValue>::builder(capacity), )*]
                }

                #[allow(unused_variables, unused_mut)]
                fn append(&self, builders: &mut [Box<dyn ArrayBuilder>]) {
                    let mut columns = builders.iter_mut();
                    $( self.$field.append_to(columns.next().expect("one builder per field").as_mut()); )*
                }

                const COLUMNS: &'static [ColumnDoc] = &[
                    $( ColumnDoc { name: stringify!($field), doc: concat!($($fdoc),*) }, )*
                ];
            }
        )*

        /// The kinds of events, one table each under `diagnostics.`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EventKind {
            $( $(#[doc = $kdoc])* $variant, )*
        }

        impl EventKind {
            /// Every kind, in table order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The kind's name: its table name and its `kind` column value.
            pub fn name(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// The version of the kind's schema; bumped whenever its columns change.
            pub fn schema_version(self) -> u32 {
                match self { $(EventKind::$variant => $version,)* }
            }

            /// What the kind records (its doc comment).
            pub fn doc(self) -> &'static str {
                match self { $(EventKind::$variant => concat!($($kdoc),*),)* }
            }

            /// The kind's own columns (after the common ones).
            pub fn fields(self) -> Vec<Field> {
                match self { $(EventKind::$variant => $ty::fields(),)* }
            }

            /// Documentation of the kind's own columns.
            pub fn column_docs(self) -> &'static [ColumnDoc] {
                match self { $(EventKind::$variant => $ty::COLUMNS,)* }
            }

            pub(crate) fn builders(self, capacity: usize) -> Vec<Box<dyn ArrayBuilder>> {
                match self { $(EventKind::$variant => $ty::builders(capacity),)* }
            }
        }

        /// The fields of one event, by kind.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
        pub enum EventDetail {
            $( $(#[doc = $kdoc])* $variant($ty), )*
        }

        impl EventDetail {
            /// The kind of this detail.
            pub fn kind(&self) -> EventKind {
                match self { $(EventDetail::$variant(_) => EventKind::$variant,)* }
            }

            pub(crate) fn append(&self, builders: &mut [Box<dyn ArrayBuilder>]) {
                match self { $(EventDetail::$variant(detail) => detail.append(builders),)* }
            }
        }
    };
}

event_kinds! {
    /// Every policy verdict, allow and deny.
    Policy(PolicyEvent) = "policy", version 2 {
        /// `allow` or `deny`.
        verdict: String,
        /// Violation codes of a denial (`class_denied`, `external_access`, ...); empty when allowed.
        codes: Vec<String>,
        /// Statement classes found (`query`, `dml`, `ddl`, ...), one per statement.
        classes: Vec<String>,
        /// Number of statements in the text.
        statements: u64,
        /// The read dialect.
        dialect: String,
        /// sha256 of the canonical SQL, case-normalized outside quotes (literals kept); null when not parsed.
        sql_fingerprint: Option<String>,
        /// Error code when the SQL could not be checked (`parse_error`, `too_long`, `too_deep`).
        error_code: Option<String>,
        /// Fingerprint of the policy profile that decided.
        profile_fingerprint: String,
        /// The statement text with its literals replaced by `$1`, `$2`, … (the profile's `full_sql` keeps them); null when it could not be parsed.
        sql: Option<String>,
    }

    /// Planning of an allowed statement.
    Compile(CompileEvent) = "compile", version 1 {
        /// Fingerprint of the statement's canonical SQL.
        sql_fingerprint: String,
        /// Hash of the optimized logical plan.
        plan_hash: String,
        /// Statement class.
        class: String,
        /// Datasets the plan reads, as registered names.
        inputs: Vec<String>,
        /// Time to parse and gate, microseconds.
        policy_us: u64,
        /// Time to plan and verify, microseconds.
        plan_us: u64,
        /// Number of bound parameters.
        params: u64,
    }

    /// Execution of a compiled plan, with the scan metrics of its physical plan.
    Execute(ExecuteEvent) = "execute", version 2 {
        /// Hash of the logical plan that ran.
        plan_hash: String,
        /// Datasets read.
        inputs: Vec<String>,
        /// Rows returned.
        rows: u64,
        /// Record batches returned.
        batches: u64,
        /// Files opened by the scans.
        files_scanned: u64,
        /// Files skipped by statistics or partition values before opening.
        files_pruned: u64,
        /// Parquet row groups skipped by statistics.
        row_groups_pruned: u64,
        /// Parquet row groups read after statistics pruning.
        row_groups_matched: u64,
        /// Bytes read by the scans.
        bytes_scanned: u64,
        /// True when the plan sorts by a declared (verified) order without a SortExec.
        sort_elided: bool,
        /// Number of SortExec nodes in the physical plan.
        sort_execs: u64,
        /// Spill files written by operators short of memory (sorts, aggregations, joins).
        spill_count: u64,
        /// Bytes written to spill files.
        spilled_bytes: u64,
    }

    /// A registration (or re-registration) in the catalog.
    Register(RegisterEvent) = "register", version 2 {
        /// Registered name (`schema.table` when not in the default schema).
        dataset: String,
        /// Dataset kind (`listing`, `delta`, `delta_cdf`, `batches`, `view`, ...).
        dataset_kind: String,
        /// Location, when the dataset has one.
        location: Option<String>,
        /// File format, when the dataset has one.
        format: Option<String>,
        /// True when an existing registration was replaced.
        replaced: bool,
        /// Partition columns as `name:type`.
        partition_cols: Vec<String>,
        /// Declared sort order as SQL (`a ASC NULLS LAST, ...`); null when none.
        sort_order: Option<String>,
        /// `verified`, `contradicted`, `unchecked` or `none`.
        sort_verification: String,
        /// Files found at the location (for Delta: files of the snapshot).
        files: u64,
        /// Write operations the dataset accepts (`append`, `overwrite`, `delete`, `update`).
        capabilities: Vec<String>,
        /// Delta table version registered (the snapshot read), when the dataset is Delta.
        delta_version: Option<i64>,
        /// The registration options (CDF range, time travel, ...) and the scan policy, as JSON.
        options: String,
    }

    /// A write into a table: one commit (or none, for a no-op or a failure).
    Write(WriteEvent) = "write", version 2 {
        /// Target table, as registered (or the location, for a table created by the write).
        table: String,
        /// The table's location.
        location: Option<String>,
        /// Write mode (`append`, `overwrite`, `replace_where`, `error_if_exists`, `ignore`, `delete`, `update`).
        mode: String,
        /// How the write ran: `insert` (DataFusion's insert into the provider), `streaming` (deltalake's write operation), `operation` (deltalake's delete/update), `none` (refused before writing) or `unknown` (cut by a timeout).
        path: String,
        /// Why that path was chosen.
        path_reason: String,
        /// Rows written (for delete/update: rows deleted/updated).
        rows: u64,
        /// Files added by the commit.
        files_added: u64,
        /// Files removed by the commit.
        files_removed: u64,
        /// Bytes of the files added.
        bytes_added: u64,
        /// Table version before the write, when versioned.
        version_before: Option<i64>,
        /// Table version committed by the write; null when nothing was committed.
        version_after: Option<i64>,
        /// `committed`, `noop` (idempotent retry, nothing to do) or `failed` (nothing committed).
        commit: String,
        /// Application id of an idempotent write, when given.
        app_id: Option<String>,
    }

    /// A change-data-feed read.
    Cdf(CdfEvent) = "cdf", version 2 {
        /// Source table.
        table: String,
        /// How it was read: `dataset` (a `delta_cdf` registration), `table_changes` (the SQL function) or `cursor`.
        source: String,
        /// First version read.
        starting_version: Option<i64>,
        /// Last version read.
        ending_version: Option<i64>,
        /// Start of the range by timestamp (RFC 3339), when bounded by time.
        starting_timestamp: Option<String>,
        /// End of the range by timestamp (RFC 3339), when bounded by time.
        ending_timestamp: Option<String>,
        /// Rows of changes read.
        rows: u64,
        /// The cursor's consumer name, for cursor reads.
        cursor: Option<String>,
    }

    /// A failed operation.
    Error(ErrorEvent) = "error", version 1 {
        /// The operation that failed (`compile`, `execute`, `register`, ...).
        operation: String,
        /// Error category (`parse_error`, `plan`, `timeout`, `resources_exhausted`, ...).
        error_kind: String,
        /// Fingerprint of the statement involved, when there was one.
        sql_fingerprint: Option<String>,
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EventKind {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| crate::Error::UnknownKind {
                name: s.to_owned(),
                known: EventKind::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}
