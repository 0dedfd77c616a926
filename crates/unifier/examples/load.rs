//! `cargo xtask load`: the load runs of `docs/reliability.md` at the numbers, in
//! release. Each phase runs in its own process (this binary started again with the
//! phase's name), so the peak RSS reported is the phase's own.
//!
//! - `writers [WRITERS APPENDS READERS]` (default 8 50 16): concurrent appends to one
//!   Delta table while readers run TPC-H SF 0.01 queries (answers compared with DuckDB's)
//!   and read the table (whole appends only, never going back);
//! - `spill DIR LIMIT_MB` (`xtask` passes the SF 1 data and 256): lineitem sorted by
//!   `l_comment` under the memory limit; spills and finishes or fails with "resources
//!   exhausted"; peak RSS;
//! - `diagnostics [SECONDS THREADS]` (default 60 16): threads recording into a 4,096-event
//!   buffer while `SELECT 1` runs through the facade.
//!
//! `cargo run --release -p unifier --example load -- [PHASE ARGS...] [--tpch DIR]`

#[path = "../tests/it/load.rs"]
mod load;
#[path = "../tests/it/tpch_data.rs"]
mod tpch_data;

use std::time::Duration;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn number<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> Result<T, Error> {
    match args.get(i) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("`{text}` is not a number").into()),
        None => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("writers") => {
            let load = load::Load {
                writers: number(&args, 1, 8)?,
                appends: number(&args, 2, 50)?,
                rows: 10,
                readers: number(&args, 3, 16)?,
            };
            let table = tempfile::tempdir()?;
            let tpch = tempfile::tempdir()?;
            let report = load::writers_and_readers(table.path(), Some(tpch.path()), load).await;
            println!(
                "writers: {} writers x {} appends, {} readers: {report}; peak RSS {:.0} MiB",
                load.writers,
                load.appends,
                load.readers,
                load::peak_rss_mib()
            );
        }
        Some("spill") => {
            let dir = args.get(1).ok_or("spill needs the TPC-H data directory")?;
            let limit: u64 = number(&args, 2, 256)?;
            tpch_data::generate(std::path::Path::new(dir), 1.0)?;
            let started = std::time::Instant::now();
            let outcome = load::under_memory_limit(std::path::Path::new(dir), limit).await;
            println!(
                "spill: lineitem SF 1 sorted by l_comment under {limit} MiB: {} in {:.1} s; peak RSS {:.0} MiB",
                match &outcome {
                    Ok(s) => format!(
                        "{} rows in order, {} spill files, {:.0} MiB spilled",
                        s.rows,
                        s.spill_count,
                        s.spilled_bytes as f64 / 1048576.0
                    ),
                    Err(e) => format!("failed: {e}"),
                },
                started.elapsed().as_secs_f64(),
                load::peak_rss_mib()
            );
            if let Err(e) = outcome
                && !e.to_lowercase().contains("resources exhausted")
            {
                return Err(e.into());
            }
        }
        Some("diagnostics") => {
            let seconds: u64 = number(&args, 1, 60)?;
            let threads: usize = number(&args, 2, 16)?;
            let line = load::diagnostics_contention(threads, Duration::from_secs(seconds)).await;
            println!("diagnostics: {line}");
        }
        _ => {
            return Err(
                "usage: load writers [W A R] | spill DIR [LIMIT_MB] | diagnostics [SECONDS THREADS]"
                    .into(),
            );
        }
    }
    Ok(())
}
