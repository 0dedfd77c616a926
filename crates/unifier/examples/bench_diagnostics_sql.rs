//! `cargo xtask bench diagnostics` (second part): a GROUP BY over 1,000,000 events
//! through SQL on the live `diagnostics.*` tables (target < 1 s), against the same
//! query over the same rows already materialized as a memory table (the cost of
//! building the batches from the recorder is the difference).

use std::time::{Duration, Instant};

use unifier::diagnostics::{EventKind, ExecuteEvent, Status};
use unifier::io::RegisterOptions;
use unifier::{Params, Unifier, UnifierProfile};

const EVENTS: u64 = 1_000_000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut profile = UnifierProfile::default();
        profile.diagnostics.capacity = EVENTS as usize + 1_000;
        let u = Unifier::new(profile)?;
        let recorder = u.recorder().clone();
        let ctx = recorder.begin("bench");
        let started = Instant::now();
        for i in 0..EVENTS {
            let status = if i % 97 == 0 { Status::Error } else { Status::Ok };
            ctx.record(
                status,
                Duration::from_micros(i % 5_000),
                "",
                ExecuteEvent {
                    plan_hash: format!("{:016x}", i % 50),
                    rows: i % 1_000,
                    files_scanned: i % 7,
                    ..Default::default()
                },
            );
        }
        let recording = started.elapsed();

        // Baseline: the same rows, already batches, in a memory table.
        let (schema, batches) = recorder.record_batches(Some(EventKind::Execute), 8192)?;
        u.catalog().register_batches("materialized", schema, batches, RegisterOptions::default())?;

        let queries = [
            ("events", "SELECT kind, status, count(*) AS n, avg(duration_us) AS avg_us FROM {} GROUP BY kind, status"),
            ("execute", "SELECT plan_hash, count(*) AS n, sum(rows) AS rows FROM {} GROUP BY plan_hash"),
        ];
        println!("diagnostics through SQL ({EVENTS} events recorded in {:.0} ms)", recording.as_secs_f64() * 1e3);
        for (table, template) in queries {
            let live = template.replace("{}", &format!("diagnostics.{table}"));
            let baseline = template.replace("{}", "materialized");
            let mut live_t = Vec::new();
            let mut base_t = Vec::new();
            for _ in 0..5 {
                let start = Instant::now();
                u.sql(&baseline, Params::None).await?;
                base_t.push(start.elapsed());
                let start = Instant::now();
                let result = u.sql(&live, Params::None).await?;
                live_t.push(start.elapsed());
                assert!(result.rows() > 0);
            }
            let (b, l) = (median(base_t), median(live_t));
            println!("  GROUP BY over diagnostics.{table}");
            println!("    baseline  same rows as a memory table     {:>9.1} ms", b.as_secs_f64() * 1e3);
            println!("    unifier   live table over the recorder    {:>9.1} ms  ratio {:.2}", l.as_secs_f64() * 1e3, l.as_secs_f64() / b.as_secs_f64());
            println!("    target    < 1000 ms: {}", if l < Duration::from_secs(1) { "met" } else { "MISSED" });
        }
        Ok(())
    })
}
