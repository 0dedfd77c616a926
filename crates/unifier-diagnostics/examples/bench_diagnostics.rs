//! Cost of recording one event (`cargo xtask bench diagnostics` runs this in release).
//!
//! Baseline: building the same event value and pushing it into a plain `Vec` (what
//! any recorder must at least do); measured: `DiagnosticsContext::record` into the
//! bounded buffer, with and without the JSON-lines sink.

use std::hint::black_box;
use std::time::{Duration, Instant};

use unifier_diagnostics::{DiagnosticsRecorder, ExecuteEvent, Status};

const EVENTS: u64 = 200_000;
const ROUNDS: usize = 7;

fn event(i: u64) -> ExecuteEvent {
    ExecuteEvent {
        plan_hash: "4f2a9c0e".into(),
        inputs: vec!["lineitem".into()],
        rows: i,
        batches: 1,
        files_scanned: 3,
        ..Default::default()
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn per_event(total: Duration) -> f64 {
    total.as_secs_f64() * 1e6 / EVENTS as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let baseline = median(
        (0..ROUNDS)
            .map(|_| {
                let mut sink = Vec::with_capacity(EVENTS as usize);
                let start = Instant::now();
                for i in 0..EVENTS {
                    sink.push((i, String::from("1 rows"), event(i)));
                }
                black_box(&sink);
                start.elapsed()
            })
            .collect(),
    );
    let memory = median(
        (0..ROUNDS)
            .map(|_| {
                let recorder = DiagnosticsRecorder::new(EVENTS as usize);
                let ctx = recorder.begin("bench");
                let start = Instant::now();
                for i in 0..EVENTS {
                    ctx.record(Status::Ok, Duration::ZERO, "1 rows", event(i));
                }
                start.elapsed()
            })
            .collect(),
    );
    let dir =
        std::env::temp_dir().join(format!("unifier-bench-diagnostics-{}", std::process::id()));
    let file = median(
        (0..ROUNDS)
            .map(|_| {
                let recorder = DiagnosticsRecorder::builder()
                    .with_capacity(EVENTS as usize)
                    .with_jsonl_dir(&dir)
                    .with_history(false)
                    .build()
                    .expect("bench dir");
                let ctx = recorder.begin("bench");
                let start = Instant::now();
                for i in 0..EVENTS {
                    ctx.record(Status::Ok, Duration::ZERO, "1 rows", event(i));
                }
                recorder.flush().expect("flush");
                start.elapsed()
            })
            .collect(),
    );
    // Contention: 8 threads, a buffer a tenth of the events (eviction running all along).
    let threads = 8u64;
    let capacity = (EVENTS / 10) as usize;
    let contended = |with_file: bool| -> (Duration, u64, u64) {
        let mut builder = DiagnosticsRecorder::builder().with_capacity(capacity);
        if with_file {
            builder = builder.with_jsonl_dir(&dir).with_history(false);
        }
        let recorder = builder.build().expect("bench dir");
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let recorder = recorder.clone();
                scope.spawn(move || {
                    let ctx = recorder.begin("bench");
                    for i in 0..EVENTS / threads {
                        ctx.record(Status::Ok, Duration::ZERO, "1 rows", event(i));
                    }
                });
            }
        });
        recorder.flush().expect("flush");
        let elapsed = start.elapsed();
        let stats = recorder.stats();
        (elapsed, stats.dropped, stats.recorded - stats.buffered)
    };
    let runs: Vec<_> = (0..ROUNDS).map(|_| contended(false)).collect();
    let (_, dropped, missing) = runs[0];
    let memory_8 = median(runs.into_iter().map(|r| r.0).collect());
    let file_8 = median((0..ROUNDS).map(|_| contended(true).0).collect());
    std::fs::remove_dir_all(&dir).ok();

    println!("diagnostics record cost ({EVENTS} events, median of {ROUNDS} rounds)");
    println!(
        "  baseline  build event + Vec::push     {:>8.3} us/event",
        per_event(baseline)
    );
    println!(
        "  unifier   record, in-memory buffer    {:>8.3} us/event  ratio {:.2}",
        per_event(memory),
        per_event(memory) / per_event(baseline)
    );
    println!(
        "  unifier   record, + JSON-lines file   {:>8.3} us/event  ratio {:.2}",
        per_event(file),
        per_event(file) / per_event(baseline)
    );
    println!(
        "  unifier   {threads} threads, buffer {capacity}, in memory {:>6.3} us/event (wall)",
        per_event(memory_8)
    );
    println!(
        "  unifier   {threads} threads, buffer {capacity}, + file    {:>6.3} us/event (wall)",
        per_event(file_8)
    );
    println!(
        "  dropped   {dropped} events counted as dropped; {missing} recorded but not buffered ({})",
        if dropped == missing {
            "equal"
        } else {
            "DIFFER"
        }
    );
    println!(
        "  target    contended <= 1 us/event: {}",
        if per_event(memory_8) <= 1.0 && per_event(file_8) <= 1.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  target    <= 5 us/event: {}",
        if per_event(memory) <= 5.0 && per_event(file) <= 5.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
