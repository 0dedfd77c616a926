//! execute: envelope, provenance, scan metrics in diagnostics, limits.

use unifier::policy::Preset;
use unifier::{Compiled, Error, ExecutionResult, Params, Unifier};

use crate::{profile, rows, sorted_table, unifier};

#[tokio::test]
async fn pruning_and_sort_elision_are_visible_in_diagnostics_execute() {
    let tmp = tempfile::tempdir().unwrap();
    let u = unifier(Preset::ReadOnly);
    sorted_table(&u, tmp.path()).await;

    let result = u
        .sql("SELECT name FROM t WHERE id = 512", Params::None)
        .await
        .unwrap();
    let provenance = result.provenance().clone();
    assert_eq!(result.rows(), 1);
    assert_eq!(provenance.inputs, ["t"]);
    assert!(
        provenance.metrics.files_scanned <= 1,
        "{:?}",
        provenance.metrics
    );
    assert!(
        provenance.metrics.row_groups_pruned >= 3,
        "{:?}",
        provenance.metrics
    );

    let ordered = u
        .sql("SELECT id FROM t ORDER BY id", Params::None)
        .await
        .unwrap();
    assert!(ordered.provenance().metrics.sort_elided);
    let ExecutionResult::Table { batches, .. } = ordered else {
        panic!()
    };
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(ids, (0..1000).collect::<Vec<_>>());

    let out = rows(
        &u,
        "SELECT rows, files_scanned, row_groups_pruned > 0 AS pruned, sort_elided FROM diagnostics.execute ORDER BY event_id",
    )
    .await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[3].starts_with("| 1    | 1             | true   | false       |"),
        "{out}"
    );
    assert!(
        lines[4].starts_with("| 1000 | 10            | false  | true        |"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_its_timeout_is_cancelled_and_recorded() {
    let mut p = profile(Preset::ReadOnly);
    p.runtime.query_timeout_ms = Some(50);
    let u = Unifier::new(p).unwrap();
    // Ten billion rows: minutes of work, in small batches (each a point to cancel at).
    let sql = "SELECT count(*) FROM generate_series(1, 10000000000)";
    let Compiled::Allowed(q) = u.compile(sql, Params::None).await.unwrap() else {
        panic!()
    };
    let err = u.execute(&q).await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { timeout_ms: 50, .. }),
        "{err}"
    );
    let out = rows(&u, "SELECT operation, error_kind FROM diagnostics.error").await;
    assert!(out.contains("| execute   | timeout    |"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_over_its_timeout_ends_with_the_timeout_and_is_recorded() {
    use futures::StreamExt;
    let mut p = profile(Preset::ReadOnly);
    p.runtime.query_timeout_ms = Some(200);
    // A producer that waits (an aggregate of ten billion rows: nothing until the end),
    // and one that never waits (rows as fast as they are read, the reader slow).
    for sql in [
        "SELECT count(*) FROM generate_series(1, 10000000000)",
        "SELECT value FROM generate_series(1, 10000000000)",
    ] {
        let u = Unifier::new(p.clone()).unwrap();
        let Compiled::Allowed(q) = u.compile(sql, Params::None).await.unwrap() else {
            panic!()
        };
        let Ok(ExecutionResult::Reader { mut stream, .. }) = u.execute_stream(&q).await else {
            panic!("a query streams")
        };
        let mut batches = 0u64;
        let error = loop {
            match stream.next().await {
                Some(Ok(_)) => {
                    batches += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Some(Err(error)) => break error,
                None => panic!("{sql}: ended without the timeout after {batches} batches"),
            }
        };
        assert!(
            stream.next().await.is_none(),
            "{sql}: the stream ends after the timeout"
        );
        let error = Error::from_stream(error, q.canonical_sql());
        assert!(
            matches!(
                error,
                Error::Timeout {
                    timeout_ms: 200,
                    ..
                }
            ),
            "{sql}: {error}"
        );
        drop(stream);
        let out = rows(&u, "SELECT operation, error_kind FROM diagnostics.error").await;
        assert!(out.contains("| execute   | timeout    |"), "{sql}: {out}");
    }
}

#[tokio::test]
async fn a_memory_limit_breach_is_resources_exhausted() {
    let mut p = profile(Preset::ReadOnly);
    p.runtime.memory_limit_mb = Some(1);
    let u = Unifier::new(p).unwrap();
    let err = u
        .sql(
            "SELECT array_agg(value ORDER BY value DESC) FROM generate_series(1, 2000000)",
            Params::None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResourcesExhausted { limit_mb: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("resources exhausted running `SELECT array_agg"),
        "{err}"
    );
    assert_eq!(err.kind(), "resources_exhausted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_pool_spills_into_spill_dir_and_leaves_nothing_there() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    fn files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => files(&e.path()),
                    _ => 1,
                })
                .sum()
        })
    }
    let tmp = tempfile::tempdir().unwrap();
    let spill = tmp.path().join("spill");
    let mut p = profile(Preset::ReadOnly);
    p.runtime.memory_limit_mb = Some(8);
    p.runtime.spill_dir = Some(spill.clone());
    let u = Unifier::new(p).unwrap();
    assert_eq!(u.memory_limit_mb(), Some(8));
    // Watch the directory while the query runs: its sort must write files there.
    let (stop, seen) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let watcher = {
        let (stop, seen, spill) = (stop.clone(), seen.clone(), spill.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                seen.fetch_max(files(&spill), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let out = rows(
        &u,
        "SELECT max(r) AS n FROM (SELECT row_number() OVER (ORDER BY value DESC) AS r \
         FROM generate_series(1, 3000000))",
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(out.contains("| 3000000 |"), "{out}");
    assert!(
        seen.load(Ordering::Relaxed) > 0,
        "the sort spilled nothing into spill_dir"
    );
    assert_eq!(files(&spill), 0, "spill files left behind");
    drop(u);
    assert_eq!(
        std::fs::read_dir(&spill).unwrap().count(),
        0,
        "the session's spill directory outlived it"
    );
}

#[tokio::test]
async fn memory_limit_zero_is_unlimited_and_unset_is_bounded_by_the_machine() {
    let mut p = profile(Preset::ReadOnly);
    p.runtime.memory_limit_mb = Some(0);
    assert_eq!(Unifier::new(p.clone()).unwrap().memory_limit_mb(), None);
    p.runtime.memory_limit_mb = None;
    let bounded = Unifier::new(p).unwrap().memory_limit_mb();
    if cfg!(target_os = "linux") {
        assert!(bounded.is_some_and(|mb| mb > 0), "{bounded:?}");
    }
}

#[tokio::test]
async fn the_envelope_carries_provenance() {
    let u = unifier(Preset::ReadOnly);
    let Compiled::Allowed(q) = u
        .compile("SELECT 40 + 2 AS answer", Params::None)
        .await
        .unwrap()
    else {
        panic!()
    };
    let result = u.execute(&q).await.unwrap();
    let p = result.provenance();
    assert_eq!(p.compile_operation_id, q.operation_id());
    assert_ne!(p.operation_id, q.operation_id());
    assert_eq!(p.plan_hash, q.plan_hash());
    assert!(p.verdict.is_allow());
    assert!(p.inputs.is_empty());
    // Futures are Send: a service can spawn them.
    let handle = tokio::spawn({
        let u = u.clone();
        async move { u.sql("SELECT 1", Params::None).await.map(|r| r.rows()) }
    });
    assert_eq!(handle.await.unwrap().unwrap(), 1);
}

#[tokio::test]
async fn a_reader_records_its_event_when_it_ends_or_is_dropped() {
    use futures::StreamExt;
    let tmp = tempfile::tempdir().unwrap();
    let u = unifier(Preset::ReadOnly);
    crate::sorted_table(&u, tmp.path()).await;
    let Compiled::Allowed(q) = u
        .compile("SELECT id FROM t ORDER BY id", Params::None)
        .await
        .unwrap()
    else {
        panic!()
    };

    let ExecutionResult::Reader { mut stream, .. } = u.execute_stream(&q).await.unwrap() else {
        panic!("a reader")
    };
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.unwrap().num_rows();
    }
    assert_eq!(rows, 1000);
    assert_eq!(stream.rows_read(), 1000);
    drop(stream);

    let ExecutionResult::Reader { mut stream, .. } = u.execute_stream(&q).await.unwrap() else {
        panic!("a reader")
    };
    let first = stream.next().await.unwrap().unwrap().num_rows();
    drop(stream);

    let out = rows_of(
        &u,
        "SELECT status, rows, sort_elided, message FROM diagnostics.execute ORDER BY event_id",
    )
    .await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[3].starts_with("| ok     | 1000 | true        | 1000 rows"),
        "{out}"
    );
    assert!(
        lines[4].contains(&format!("dropped after {first} rows")),
        "{out}"
    );
}

async fn rows_of(u: &Unifier, sql: &str) -> String {
    crate::rows(u, sql).await
}

#[tokio::test]
async fn a_file_deleted_after_registration_fails_the_query_naming_it() {
    // With file lists cached, the deleted file is still listed: reading it fails, named.
    // (By default each query lists again and the file is simply gone: next test.)
    let tmp = tempfile::tempdir().unwrap();
    let mut p = profile(Preset::ReadOnly);
    p.runtime.cache_file_lists = true;
    let u = Unifier::new(p).unwrap();
    sorted_table(&u, tmp.path()).await;
    let gone = tmp.path().join("part-03.parquet");
    std::fs::remove_file(&gone).unwrap();
    let err = u
        .sql("SELECT sum(id) FROM t", Params::None)
        .await
        .unwrap_err();
    let text = unifier::error_chain(&err);
    assert!(text.contains("part-03.parquet"), "{text}");
    assert_eq!(err.kind(), "execute", "{text}");
    // Re-reading the dataset lists what is there now, and the query answers again.
    u.catalog().refresh("t").await.unwrap();
    assert!(
        rows(&u, "SELECT count(id) AS n FROM t")
            .await
            .contains("| 900 |")
    );
}

#[tokio::test]
async fn file_lists_are_read_again_unless_the_profile_caches_them() {
    for cache in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let mut p = profile(Preset::ReadOnly);
        p.runtime.cache_file_lists = cache;
        let u = Unifier::new(p).unwrap();
        sorted_table(&u, tmp.path()).await;
        assert!(
            rows(&u, "SELECT count(*) AS n FROM t")
                .await
                .contains("| 1000 |")
        );
        std::fs::remove_file(tmp.path().join("part-03.parquet")).unwrap();
        let after = rows(&u, "SELECT count(*) AS n FROM t").await;
        if cache {
            // The cached list still has the file: the answer comes from its statistics.
            assert!(after.contains("| 1000 |"), "{after}");
        } else {
            assert!(after.contains("| 900 |"), "{after}");
        }
    }
}

/// Found by `cargo xtask fuzz --manifest`: `batch_size = 9223372036854775807` built a
/// `Unifier` whose first scan panicked ("capacity overflow") in a tokio task. Sizes
/// beyond the bounds are refused when the `Unifier` is built, naming the setting.
#[test]
fn absurd_batch_sizes_and_partition_counts_are_refused_up_front() {
    let mut p = profile(Preset::ReadOnly);
    p.runtime.batch_size = usize::MAX / 2;
    let Err(e) = Unifier::new(p) else {
        panic!("built")
    };
    assert!(e.to_string().contains("batch_size = "), "{e}");
    let mut p = profile(Preset::ReadOnly);
    p.scan.target_partitions = 1 << 40;
    let Err(e) = Unifier::new(p) else {
        panic!("built")
    };
    assert!(e.to_string().contains("target_partitions = "), "{e}");
    let mut p = profile(Preset::ReadOnly);
    p.runtime.batch_size = unifier::MAX_BATCH_SIZE;
    p.scan.target_partitions = unifier::MAX_TARGET_PARTITIONS;
    assert!(Unifier::new(p).is_ok());
}
