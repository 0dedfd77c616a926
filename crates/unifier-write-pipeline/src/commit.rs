//! The end of every write: what the commit did (read back from the log), the catalog
//! refreshed, and the `write` event recorded — for a commit, a no-op and a failure alike.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deltalake::DeltaTable;
use deltalake::kernel::Action;
use deltalake::kernel::transaction::CommitProperties;
use unifier_diagnostics::{ErrorEvent, Status, WriteEvent};
use unifier_io_adapter::WriteOp;

use crate::error::{Error, Result};
use crate::path::PathChoice;
use crate::pipeline::WritePipeline;
use crate::request::{CommitOptions, WriteMode};
use crate::summary::{CommitOutcome, WriteSummary, mode_name};
use crate::target::Target;

/// What the commit of one operation did, read back from the log.
#[derive(Debug, Default)]
struct CommitStats {
    files_added: u64,
    files_removed: u64,
    bytes_added: u64,
    rows_added: u64,
}

/// Adds, removes, bytes and rows of the commit at `version`.
async fn commit_stats(table: &DeltaTable, version: u64) -> CommitStats {
    let mut stats = CommitStats::default();
    let log_store = table.log_store();
    let Ok(Some(bytes)) = log_store.read_commit_entry(version).await else {
        return stats;
    };
    let Ok(actions) = deltalake::logstore::get_actions(version, &bytes) else {
        return stats;
    };
    for action in actions {
        match action {
            Action::Add(add) => {
                stats.files_added += 1;
                stats.bytes_added += u64::try_from(add.size).unwrap_or(0);
                stats.rows_added += add
                    .stats
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                    .and_then(|v| v.get("numRecords").and_then(serde_json::Value::as_u64))
                    .unwrap_or(0);
            }
            Action::Remove(_) => stats.files_removed += 1,
            _ => {}
        }
    }
    stats
}

/// deltalake's commit properties for the request's metadata and transaction.
pub(crate) fn commit_properties(commit: &CommitOptions) -> CommitProperties {
    let mut properties = CommitProperties::default();
    if !commit.metadata.is_empty() {
        let metadata: HashMap<String, serde_json::Value> = commit
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        properties = properties.with_metadata(metadata);
    }
    if let Some(txn) = &commit.transaction {
        properties = properties.with_application_transaction(deltalake::kernel::Transaction::new(
            &txn.app_id,
            txn.version,
        ));
    }
    properties
}

/// A version as the event's signed column holds it.
fn signed(version: Option<u64>) -> Option<i64> {
    version.and_then(|v| i64::try_from(v).ok())
}

/// What an operation on a table achieved: the version it committed (`None` for none)
/// and the rows it wrote (`None`: count them from the commit's files).
pub(crate) type Outcome = Result<(Option<u64>, Option<u64>)>;

/// One write under way: everything its event records besides the outcome.
pub(crate) struct Attempt {
    /// The table.
    pub(crate) target: Target,
    /// The operation on it.
    pub(crate) op: WriteOp,
    /// The request's mode (`None` for a statement).
    pub(crate) mode: Option<WriteMode>,
    /// The path taken, and why.
    pub(crate) choice: PathChoice,
    /// The version before the write.
    pub(crate) before: Option<u64>,
    /// When the write began.
    pub(crate) started: Instant,
    /// The application id of an idempotent write.
    pub(crate) app_id: Option<String>,
}

impl Attempt {
    /// A write of `op` into `target` along `choice`, begun at `started`.
    pub(crate) fn new(target: Target, op: WriteOp, choice: PathChoice, started: Instant) -> Self {
        let before = target.version();
        Self {
            target,
            op,
            mode: None,
            choice,
            before,
            started,
            app_id: None,
        }
    }
}

impl WritePipeline {
    /// Reads the commit back, refreshes the catalog, records the event.
    pub(crate) async fn finish(&self, attempt: Attempt, outcome: Outcome) -> Result<WriteSummary> {
        let Attempt {
            target,
            op,
            mode,
            choice,
            before,
            started,
            app_id,
        } = attempt;
        let name = mode_name(op, mode.as_ref());
        let (after, rows) = match outcome {
            Ok(done) => done,
            Err(error) => {
                let event = WriteEvent {
                    table: target.name.clone(),
                    location: Some(target.location.clone()),
                    mode: name.into(),
                    path: choice.path.as_str().into(),
                    path_reason: choice.reason.clone(),
                    version_before: signed(before),
                    commit: CommitOutcome::Failed.as_str().into(),
                    app_id,
                    ..Default::default()
                };
                self.record_failure(event, started.elapsed(), &error);
                return Err(error);
            }
        };
        let stats = match after {
            Some(version) => commit_stats(&target.table, version).await,
            None => CommitStats::default(),
        };
        if after.is_some() && target.metadata.is_some() {
            self.io().refresh(&target.name).await?;
        }
        let summary = WriteSummary {
            table: target.name.clone(),
            location: Some(target.location.clone()),
            path: choice.path,
            path_reason: choice.reason,
            op,
            mode,
            rows: rows.unwrap_or(stats.rows_added),
            files_added: stats.files_added,
            files_removed: stats.files_removed,
            bytes_added: stats.bytes_added,
            version_before: before,
            version_after: after,
            commit: if after.is_some() {
                CommitOutcome::Committed
            } else {
                CommitOutcome::Noop
            },
            duration: started.elapsed(),
        };
        let rows = summary.rows;
        let message = match summary.version_after {
            Some(v) => format!(
                "{name} `{}`: {rows} row{}, version {v}",
                summary.table,
                if rows == 1 { "" } else { "s" }
            ),
            None => format!("{name} `{}`: nothing committed", summary.table),
        };
        self.io().recorder().begin("write").record(
            Status::Ok,
            summary.duration,
            message,
            WriteEvent {
                table: summary.table.clone(),
                location: summary.location.clone(),
                mode: name.into(),
                path: summary.path.as_str().into(),
                path_reason: summary.path_reason.clone(),
                rows: summary.rows,
                files_added: summary.files_added,
                files_removed: summary.files_removed,
                bytes_added: summary.bytes_added,
                version_before: signed(before),
                version_after: signed(after),
                commit: summary.commit.as_str().into(),
                app_id,
            },
        );
        Ok(summary)
    }

    /// Records a write refused before it began (the table is missing or not writable,
    /// the rows break its contract, it exists under `error_if_exists`, its source cannot
    /// be planned): a failed `write` event and an `error` event, as for a failed commit.
    pub(crate) fn refused(
        &self,
        table: &str,
        op: WriteOp,
        mode: Option<&WriteMode>,
        started: Instant,
        error: Error,
    ) -> Error {
        let dataset = self.io().dataset(table);
        let version = dataset
            .as_ref()
            .and_then(|m| m.delta.as_ref())
            .map(|d| d.version);
        let event = WriteEvent {
            table: table.into(),
            location: dataset.and_then(|m| m.location),
            version_before: signed(version),
            mode: mode_name(op, mode).into(),
            path: "none".into(),
            path_reason: "refused before writing".into(),
            commit: CommitOutcome::Failed.as_str().into(),
            ..Default::default()
        };
        self.record_failure(event, started.elapsed(), &error);
        error
    }

    /// The `write` event of a failed write and its `error` event.
    fn record_failure(&self, event: WriteEvent, elapsed: Duration, error: &Error) {
        let diag = self.io().recorder().begin("write");
        let message = unifier_diagnostics::error_chain(error);
        diag.record(Status::Error, elapsed, message.clone(), event);
        diag.record(
            Status::Error,
            elapsed,
            message,
            ErrorEvent {
                operation: "write".into(),
                error_kind: error.kind().into(),
                sql_fingerprint: None,
            },
        );
    }

    /// Records a write cut by a timeout: whether the commit landed is read from the
    /// log (a Delta commit is atomic: it happened or it did not).
    pub async fn record_interrupted(
        &self,
        table: &str,
        op: WriteOp,
        elapsed: Duration,
    ) -> CommitOutcome {
        let Ok(target) = self.target(table) else {
            return CommitOutcome::Failed;
        };
        let before = target.version();
        let latest = target.latest_version().await;
        let committed = latest.is_some() && latest != before;
        let outcome = if committed {
            CommitOutcome::Committed
        } else {
            CommitOutcome::Failed
        };
        if committed {
            self.io().refresh(table).await.ok();
        }
        self.io().recorder().begin("write").record(
            Status::Error,
            elapsed,
            format!(
                "{op} into `{table}` interrupted by the timeout: {}",
                outcome.as_str()
            ),
            WriteEvent {
                table: table.into(),
                location: Some(target.location.clone()),
                mode: op.as_str().into(),
                path: "unknown".into(),
                path_reason: "interrupted by the query timeout".into(),
                version_before: signed(before),
                version_after: if committed { signed(latest) } else { None },
                commit: outcome.as_str().into(),
                ..Default::default()
            },
        );
        outcome
    }
}
