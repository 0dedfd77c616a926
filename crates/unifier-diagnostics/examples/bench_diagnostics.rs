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
        "  target    <= 5 us/event: {}",
        if per_event(memory) <= 5.0 && per_event(file) <= 5.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
