//! Load through the facade: concurrent writers appending to one Delta table (every row
//! once, conflicts retried), readers running TPC-H queries and reading the table while
//! they do (no error, never a half-committed version), a query over lineitem under a
//! memory limit (spills or fails with "resources exhausted"), and the diagnostics
//! recorder under contention (drops counted exactly, the query path not held up).
//!
//! The tests run small numbers in CI; `cargo xtask load` runs the numbers in
//! release through `examples/load.rs`, which includes this file. Figures go to stderr.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use serde_json::Value;
use unifier::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use unifier::io::{DeltaSpec, DeltaTableOptions, FileFormatKind, IfExists, ListingSpec};
use unifier::policy::{PolicyProfile, Preset};
use unifier::write::{CommitOptions, Transaction, WriteRequest, WriteSource, WriteTarget};
use unifier::{ExecutionResult, Params, Unifier, UnifierProfile};

use crate::tpch_data::{TABLES, answers_match, cells, json_cells, query_text};

/// How much load.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// Concurrent writers.
    pub writers: i64,
    /// Appends per writer.
    pub appends: i64,
    /// Rows per append.
    pub rows: i64,
    /// Concurrent readers while the writers run.
    pub readers: usize,
}

/// What a load run measured.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub commits: u64,
    pub elapsed: Duration,
    pub conflicts_retried: u64,
    pub reader_queries: u64,
    pub tpch_queries: u64,
    pub versions_seen: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} commits in {:.2} s ({:.1} commits/s), {} conflicts retried; readers ran {} queries \
             ({} TPC-H, answers equal DuckDB's), saw {} distinct table versions, none partial",
            self.commits,
            self.elapsed.as_secs_f64(),
            self.commits as f64 / self.elapsed.as_secs_f64(),
            self.conflicts_retried,
            self.reader_queries,
            self.tpch_queries,
            self.versions_seen
        )
    }
}

fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("writer", DataType::Int64, false),
        Field::new("seq", DataType::Int64, false),
        Field::new("row", DataType::Int64, false),
    ]))
}

/// The `rows` rows of append `seq` of `writer`.
fn append_rows(writer: i64, seq: i64, rows: i64) -> RecordBatch {
    let n = rows as usize;
    RecordBatch::try_new(
        events_schema(),
        vec![
            Arc::new(Int64Array::from(vec![writer; n])),
            Arc::new(Int64Array::from(vec![seq; n])),
            Arc::new(Int64Array::from((0..rows).collect::<Vec<_>>())),
        ],
    )
    .unwrap()
}

/// A Unifier under the writer preset (reads and writes), with the `events` Delta table
/// created in `dir`.
pub(crate) async fn events_table(dir: &Path) -> Arc<Unifier> {
    let mut profile = UnifierProfile {
        policy: PolicyProfile::preset(Preset::Writer),
        ..UnifierProfile::default()
    };
    profile.scan.target_partitions = 2;
    let u = Arc::new(Unifier::new(profile).unwrap());
    u.create_table(
        "events",
        events_schema(),
        DeltaTableOptions::new(dir.to_str().unwrap()),
        IfExists::Fail,
    )
    .await
    .unwrap();
    u
}

/// The version of `events` in `u`'s catalog.
fn events_version(u: &Unifier) -> u64 {
    u.catalog()
        .dataset("events")
        .unwrap()
        .delta
        .unwrap()
        .version
}

/// Appends once, as application `writer-N` at version `seq`: a retry after a lost
/// commit race cannot commit twice. Returns the conflicts retried.
async fn append(u: &Unifier, writer: i64, seq: i64, rows: i64) -> u64 {
    let mut conflicts = 0;
    loop {
        let batch = append_rows(writer, seq, rows);
        let stream =
            RecordBatchStreamAdapter::new(batch.schema(), futures::stream::iter([Ok(batch)]));
        let request = WriteRequest::new(
            WriteTarget::Dataset("events".into()),
            WriteSource::Stream(Box::pin(stream)),
        )
        .with_commit(CommitOptions {
            transaction: Some(Transaction {
                app_id: format!("writer-{writer}"),
                version: seq,
            }),
            ..CommitOptions::default()
        });
        match u.write(request).await {
            Ok(_) => return conflicts,
            Err(e) if e.kind() == "conflict" && conflicts < 50 => conflicts += 1,
            Err(e) => panic!("writer {writer} append {seq}: {}", unifier::error_chain(&e)),
        }
    }
}

async fn batches(u: &Unifier, sql: &str) -> Vec<RecordBatch> {
    match u.sql(sql, Params::None).await {
        Ok(ExecutionResult::Table { batches, .. }) => batches,
        Ok(other) => panic!("`{sql}`: not rows: {other:?}"),
        Err(e) => panic!("`{sql}`: {}", unifier::error_chain(&e)),
    }
}

fn int(batches: &[RecordBatch], column: usize) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let array = b.column(column).as_primitive::<Int64Type>();
            (0..array.len()).map(|i| array.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

/// What one read of `events` shows: the appends it holds, each whole (all `rows` rows,
/// each row once) or the read fails. Returns the number of appends seen.
async fn whole_appends(u: &Unifier, rows: i64) -> i64 {
    // One statement: one snapshot of the table.
    let found = batches(
        u,
        "SELECT count(*) AS appends, coalesce(sum(n), 0) AS total, \
                coalesce(sum(CASE WHEN n = d AND n = r THEN 0 ELSE 1 END), 0) AS broken \
         FROM (SELECT writer, seq, count(*) AS n, count(DISTINCT \"row\") AS d, max(\"row\") + 1 AS r \
               FROM events GROUP BY writer, seq)",
    )
    .await;
    let (appends, total, broken) = (int(&found, 0)[0], int(&found, 1)[0], int(&found, 2)[0]);
    assert_eq!(broken, 0, "a reader saw a partial append");
    assert!(
        total == appends * rows,
        "{total} rows for {appends} appends of {rows}: a partial or doubled append"
    );
    appends
}

/// The TPC-H tables of `dir` (parquet at SF 0.01) registered in `u`.
pub(crate) async fn register_tpch(u: &Unifier, dir: &Path) {
    crate::tpch_data::generate(dir, 0.01).unwrap();
    for table in TABLES {
        let path = dir.join(format!("{table}.parquet"));
        u.register(
            table,
            ListingSpec::new(path.display().to_string(), FileFormatKind::Parquet),
            IfExists::Fail,
        )
        .await
        .unwrap();
    }
}

fn recorded_answers() -> Value {
    let path = crate::tpch_data::manifest_dir().join("../../testdata/tpch/answers-sf0.01.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Writers append while readers alternate between a TPC-H query (answer compared with
/// DuckDB's, when `tpch` is given) and a read of `events` that must show only whole
/// appends, never fewer than the reader saw before. Then every append is checked there
/// exactly once, in this Unifier and in a fresh one.
pub(crate) async fn writers_and_readers(dir: &Path, tpch: Option<&Path>, load: Load) -> Report {
    let u = events_table(dir).await;
    if let Some(tpch) = tpch {
        register_tpch(&u, tpch).await;
    }
    let answers = Arc::new(recorded_answers());
    let created = events_version(&u);
    let conflicts = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let readers: Vec<_> = (0..load.readers)
        .map(|reader| {
            let (u, done, answers) = (u.clone(), done.clone(), answers.clone());
            let with_tpch = tpch.is_some();
            tokio::spawn(async move {
                let (mut queries, mut tpch_queries, mut seen) = (0u64, 0u64, Vec::new());
                let mut last = 0;
                let mut i = reader;
                while !done.load(Ordering::Relaxed) {
                    if with_tpch {
                        let q = (i % 22) as u32 + 1;
                        let got = batches(&u, &query_text(q).unwrap()).await;
                        let expected = json_cells(&answers["queries"][q.to_string()]["rows"]);
                        assert!(
                            answers_match(&cells(&got).unwrap(), &expected),
                            "reader {reader}: q{q} differs from DuckDB's answer"
                        );
                        tpch_queries += 1;
                    }
                    let appends = whole_appends(&u, load.rows).await;
                    assert!(
                        appends >= last,
                        "reader {reader}: {appends} appends after {last}"
                    );
                    last = appends;
                    seen.push(appends);
                    queries += 1;
                    i += 1;
                }
                (queries, tpch_queries, seen)
            })
        })
        .collect();
    let writers: Vec<_> = (0..load.writers)
        .map(|w| {
            let (u, conflicts) = (u.clone(), conflicts.clone());
            tokio::spawn(async move {
                for seq in 0..load.appends {
                    let retried = append(&u, w, seq, load.rows).await;
                    conflicts.fetch_add(retried, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let mut report = Report {
        commits: (load.writers * load.appends) as u64,
        elapsed,
        conflicts_retried: conflicts.load(Ordering::Relaxed),
        ..Report::default()
    };
    let mut versions = std::collections::BTreeSet::new();
    for reader in readers {
        let (queries, tpch_queries, seen) = reader.await.unwrap();
        report.reader_queries += queries;
        report.tpch_queries += tpch_queries;
        versions.extend(seen);
    }
    report.versions_seen = versions.len() as u64;

    // Every append exactly once; one commit each, none lost, none doubled.
    let all = load.writers * load.appends;
    assert_eq!(whole_appends(&u, load.rows).await, all);
    let per_writer = batches(
        &u,
        "SELECT writer, count(DISTINCT seq), min(seq), max(seq) FROM events GROUP BY writer ORDER BY writer",
    )
    .await;
    assert_eq!(int(&per_writer, 0), (0..load.writers).collect::<Vec<_>>());
    assert!(int(&per_writer, 1).iter().all(|n| *n == load.appends));
    let version = events_version(&u);
    assert_eq!(version, created + report.commits);
    let commit_files = std::fs::read_dir(dir.join("_delta_log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".json")
        })
        .count() as u64;
    assert_eq!(commit_files, created + report.commits + 1);
    // A fresh Unifier opening the table sees the same.
    let fresh = Unifier::new(UnifierProfile::default()).unwrap();
    fresh
        .register(
            "events",
            DeltaSpec::new(dir.to_str().unwrap()),
            IfExists::Fail,
        )
        .await
        .unwrap();
    assert_eq!(whole_appends(&fresh, load.rows).await, all);
    report
}

/// What one run under a memory limit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spilled {
    /// lineitem rows that came out, in order.
    pub rows: u64,
    /// Spill files written.
    pub spill_count: u64,
    /// Bytes spilled.
    pub spilled_bytes: u64,
}

/// A sort of lineitem by a text column that needs more memory than `limit_mb` unless
/// it spills. Returns what it counted (checking the order as the rows come) and spilled,
/// or the error text.
pub(crate) async fn under_memory_limit(tpch: &Path, limit_mb: u64) -> Result<Spilled, String> {
    let mut profile = UnifierProfile::default();
    profile.runtime.memory_limit_mb = Some(limit_mb);
    let u = Unifier::new(profile).unwrap();
    let path = tpch.join("lineitem.parquet");
    u.register(
        "lineitem",
        ListingSpec::new(path.display().to_string(), FileFormatKind::Parquet),
        IfExists::Fail,
    )
    .await
    .unwrap();
    let sql = "SELECT l_comment, l_orderkey, l_partkey FROM lineitem ORDER BY l_comment";
    let compiled = match u.compile(sql, Params::None).await {
        Ok(unifier::Compiled::Allowed(query)) => query,
        other => return Err(format!("not compiled: {other:?}")),
    };
    match u.execute_stream(&compiled).await {
        Ok(ExecutionResult::Reader { mut stream, .. }) => {
            use futures::StreamExt;
            let (mut rows, mut last) = (0u64, String::new());
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| unifier::diagnostics::error_chain(&e))?;
                let comments = arrow::compute::cast(batch.column(0), &DataType::Utf8)
                    .map_err(|e| e.to_string())?;
                for comment in comments.as_string::<i32>().iter().flatten() {
                    assert!(comment >= last.as_str(), "out of order after {rows} rows");
                    last.clear();
                    last.push_str(comment);
                    rows += 1;
                }
            }
            drop(stream);
            // The execute event, recorded when the stream ended, has the spill figures.
            let events = u
                .recorder()
                .events(Some(unifier::diagnostics::EventKind::Execute));
            let Some(unifier::diagnostics::EventDetail::Execute(run)) =
                events.last().map(|e| &e.detail)
            else {
                return Err("no execute event".into());
            };
            Ok(Spilled {
                rows,
                spill_count: run.spill_count,
                spilled_bytes: run.spilled_bytes,
            })
        }
        Ok(other) => Err(format!("not a reader: {other:?}")),
        Err(e) => Err(unifier::error_chain(&e)),
    }
}

/// Peak resident set of this process, MiB (Linux `VmHWM`).
pub(crate) fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn select_1(u: &Unifier) -> Duration {
    let started = Instant::now();
    batches(u, "SELECT 1").await;
    started.elapsed()
}

/// `threads` threads record into `u`'s recorder as fast as they can for `duration`
/// while this task runs `SELECT 1` through the facade. Checks that the drop counter is
/// exactly the number of events missing from the buffer; returns a line of figures.
pub(crate) async fn diagnostics_contention(threads: usize, duration: Duration) -> String {
    let mut profile = UnifierProfile::default();
    profile.diagnostics.capacity = 4_096;
    let u = Unifier::new(profile).unwrap();
    // The query path alone first.
    let quiet_until = Instant::now() + duration / 4;
    let mut quiet = Vec::new();
    while Instant::now() < quiet_until {
        quiet.push(select_1(&u).await);
    }
    let recorder = u.recorder().clone();
    // Then with `threads` threads only spinning: the cost of sharing two cores, which
    // the recording phase must be compared with.
    let spin = |record: bool| {
        let stop = Arc::new(AtomicBool::new(false));
        let hammers: Vec<_> = (0..threads)
            .map(|t| {
                let (recorder, stop) = (recorder.clone(), stop.clone());
                std::thread::spawn(move || {
                    let ctx = recorder.begin("execute");
                    let (mut n, mut x) = (0u64, t as u64 + 1);
                    while !stop.load(Ordering::Relaxed) {
                        if record {
                            ctx.record(
                                unifier::diagnostics::Status::Ok,
                                Duration::ZERO,
                                "",
                                unifier::diagnostics::ExecuteEvent {
                                    rows: t as u64,
                                    ..Default::default()
                                },
                            );
                        } else {
                            x = std::hint::black_box(x.wrapping_mul(6364136223846793005) + 1);
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect::<Vec<_>>();
        (stop, hammers)
    };
    let (stop, spinners) = spin(false);
    let spin_until = Instant::now() + duration / 4;
    let mut spinning = Vec::new();
    while Instant::now() < spin_until {
        spinning.push(select_1(&u).await);
    }
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
    let before = recorder.stats();
    let (stop, hammers) = spin(true);
    let busy_until = Instant::now() + duration;
    let mut busy = Vec::new();
    while Instant::now() < busy_until {
        busy.push(select_1(&u).await);
    }
    stop.store(true, Ordering::Relaxed);
    let hammered: u64 = hammers.into_iter().map(|h| h.join().unwrap()).sum();
    let stats = recorder.stats();
    // Everything recorded is either buffered or counted as dropped: nothing vanishes.
    assert_eq!(stats.recorded, stats.buffered + stats.dropped);
    let events = recorder.events(None);
    assert_eq!(events.len() as u64, stats.buffered);
    // What is buffered is the newest events, ids contiguous up to the last one.
    let last = events.last().unwrap().event_id;
    assert!(
        events
            .iter()
            .map(|e| e.event_id)
            .eq(last + 1 - stats.buffered..=last)
    );
    assert_eq!(last, stats.recorded, "ids are 1..=recorded");
    assert!(stats.recorded - before.recorded >= hammered);
    let p = |v: &mut Vec<Duration>, q: f64| {
        v.sort();
        v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6
    };
    format!(
        "{threads} threads recorded {hammered} events in {:.1} s ({:.0}/s) into a buffer of {}: \
         {} dropped = recorded {} - buffered {}; SELECT 1 alone p50 {:.0} µs p99 {:.0} µs ({} runs), \
         beside {threads} threads only spinning p50 {:.0} µs p99 {:.0} µs max {:.0} µs ({} runs), \
         beside them recording p50 {:.0} µs p99 {:.0} µs max {:.0} µs ({} runs)",
        duration.as_secs_f64(),
        hammered as f64 / duration.as_secs_f64(),
        stats.capacity,
        stats.dropped,
        stats.recorded,
        stats.buffered,
        p(&mut quiet, 0.5),
        p(&mut quiet, 0.99),
        quiet.len(),
        p(&mut spinning, 0.5),
        p(&mut spinning, 0.99),
        p(&mut spinning, 1.0),
        spinning.len(),
        p(&mut busy, 0.5),
        p(&mut busy, 0.99),
        p(&mut busy, 1.0),
        busy.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn writers_append_while_readers_query_and_every_row_is_there_once() {
        let tmp = tempfile::tempdir().unwrap();
        let tpch = tempfile::tempdir().unwrap();
        let load = Load {
            writers: 8,
            appends: 4,
            rows: 10,
            readers: 4,
        };
        let report = writers_and_readers(tmp.path(), Some(tpch.path()), load).await;
        eprintln!("{load:?}: {report}");
        assert!(report.reader_queries > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_under_a_memory_limit_spills_and_finishes() {
        let tpch = tempfile::tempdir().unwrap();
        crate::tpch_data::generate(tpch.path(), 0.1).unwrap();
        let roomy = under_memory_limit(tpch.path(), 1024).await.unwrap();
        assert_eq!(roomy.rows, 600_572, "lineitem rows at SF 0.1");
        assert_eq!((roomy.spill_count, roomy.spilled_bytes), (0, 0));
        // Limits below the sort's ~40 MiB of rows: each run spills and finishes with the
        // same rows in order, or fails saying resources are exhausted; never more.
        let mut spilled = Vec::new();
        for limit in [24, 48] {
            match under_memory_limit(tpch.path(), limit).await {
                Ok(tight) => {
                    assert_eq!(tight.rows, roomy.rows);
                    assert!(
                        tight.spill_count > 0 && tight.spilled_bytes > 0,
                        "{tight:?}"
                    );
                    eprintln!("{limit} MiB: {tight:?}");
                    spilled.push(limit);
                }
                Err(e) => {
                    assert!(e.to_lowercase().contains("resources exhausted"), "{e}");
                    assert!(
                        e.contains(&format!("(memory_limit_mb = {limit}); raise the limit")),
                        "{e}"
                    );
                    eprintln!("{limit} MiB: {e}");
                }
            }
        }
        assert!(
            !spilled.is_empty(),
            "no limit let the sort spill and finish"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn diagnostics_under_contention_count_every_drop() {
        let line = diagnostics_contention(8, Duration::from_secs(2)).await;
        eprintln!("{line}");
    }
}
