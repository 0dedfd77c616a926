//! The in-memory buffer: no loss within capacity, counted drops beyond it, batches.

use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;
use unifier_diagnostics::arrow;
use unifier_diagnostics::{DiagnosticsRecorder, ErrorEvent, EventKind, PolicyEvent, Status};

use crate::record_execute;

#[test]
fn eight_threads_with_enough_capacity_lose_nothing() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 50_000;
    let recorder = DiagnosticsRecorder::new((THREADS * PER_THREAD) as usize);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let recorder = recorder.clone();
            scope.spawn(move || {
                let ctx = recorder.begin("execute");
                for i in 0..PER_THREAD {
                    ctx.record(
                        Status::Ok,
                        Duration::ZERO,
                        "",
                        unifier_diagnostics::ExecuteEvent {
                            rows: thread * PER_THREAD + i,
                            ..Default::default()
                        },
                    );
                }
            });
        }
    });
    let stats = recorder.stats();
    assert_eq!(stats.recorded, THREADS * PER_THREAD);
    assert_eq!(stats.buffered, THREADS * PER_THREAD);
    assert_eq!(stats.dropped, 0);

    // Every event is there exactly once, ids are 1..=N in buffer order.
    let events = recorder.events(Some(EventKind::Execute));
    let mut rows: Vec<u64> = events
        .iter()
        .map(|e| match &e.detail {
            unifier_diagnostics::EventDetail::Execute(x) => x.rows,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    rows.sort_unstable();
    assert!(rows.iter().copied().eq(0..THREADS * PER_THREAD));
    assert!(
        events
            .iter()
            .map(|e| e.event_id)
            .eq(1..=THREADS * PER_THREAD)
    );
    // One operation id per thread.
    let mut ops: Vec<u64> = events.iter().map(|e| e.operation_id).collect();
    ops.sort_unstable();
    ops.dedup();
    assert_eq!(ops.len() as u64, THREADS);
}

#[test]
fn a_full_buffer_drops_the_oldest_and_counts_them() {
    let recorder = DiagnosticsRecorder::new(10);
    for rows in 0..25 {
        record_execute(&recorder, rows);
    }
    let stats = recorder.stats();
    assert_eq!(
        (stats.recorded, stats.buffered, stats.dropped),
        (25, 10, 15)
    );
    let ids: Vec<u64> = recorder.events(None).iter().map(|e| e.event_id).collect();
    assert_eq!(ids, (16..=25).collect::<Vec<_>>());

    let batch = recorder.stats_batch().unwrap();
    let dropped = batch
        .column_by_name("dropped")
        .unwrap()
        .as_primitive::<UInt64Type>();
    assert_eq!(dropped.value(0), 15);
}

#[test]
fn batches_split_by_kind_and_size() {
    let recorder = DiagnosticsRecorder::new(1_000);
    for rows in 0..5 {
        record_execute(&recorder, rows);
    }
    let ctx = recorder.begin("compile");
    ctx.record(
        Status::Denied,
        Duration::from_micros(7),
        "statement class `ddl` is not allowed",
        PolicyEvent {
            verdict: "deny".into(),
            codes: vec!["class_denied".into()],
            classes: vec!["ddl".into()],
            statements: 1,
            ..Default::default()
        },
    );
    ctx.record(
        Status::Error,
        Duration::ZERO,
        "boom",
        ErrorEvent {
            operation: "execute".into(),
            error_kind: "plan".into(),
            sql_fingerprint: None,
        },
    );

    let (schema, batches) = recorder
        .record_batches(Some(EventKind::Execute), 2)
        .unwrap();
    assert_eq!(
        batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    assert_eq!(schema.field(0).name(), "event_id");
    assert!(schema.column_with_name("files_pruned").is_some());

    let (_, events) = recorder.record_batches(None, 1024).unwrap();
    assert_eq!(events[0].num_rows(), 7);
    let kinds = events[0].column_by_name("kind").unwrap().as_string::<i32>();
    assert_eq!(kinds.value(5), "policy");
    assert_eq!(kinds.value(6), "error");

    let (_, policy) = recorder
        .record_batches(Some(EventKind::Policy), 1024)
        .unwrap();
    let batch = &policy[0];
    assert_eq!(batch.num_rows(), 1);
    let status = batch.column_by_name("status").unwrap().as_string::<i32>();
    assert_eq!(status.value(0), "denied");
    let codes = batch.column_by_name("codes").unwrap().as_list::<i32>();
    assert_eq!(codes.value(0).as_string::<i32>().value(0), "class_denied");
    let fingerprint = batch.column_by_name("sql_fingerprint").unwrap();
    assert!(fingerprint.is_null(0));

    // An empty table has its schema and no batches.
    let (schema, none) = recorder.record_batches(Some(EventKind::Cdf), 1024).unwrap();
    assert!(none.is_empty());
    assert_eq!(schema.metadata()["table"], "diagnostics.cdf");
}

#[test]
fn unknown_kind_names_the_known_ones() {
    let err = "executes".parse::<EventKind>().unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown event kind `executes`; known kinds: policy, compile, execute, register, write, cdf, error"
    );
}
