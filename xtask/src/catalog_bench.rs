//! `cargo xtask bench catalog`: what starting a `unifier` command costs over a catalog
//! of 10 datasets, measured on the binary a user runs (the debug build the README's
//! `cargo run` makes, process start included), against `SELECT 1` with no catalog in
//! the same run. Three variants, each the median of several runs:
//!
//! - `no catalog`: the baseline, a process answering `SELECT 1` with nothing registered;
//! - `10 datasets, cold`: the sort cache deleted before each run, so both declared orders
//!   are verified again (the csv one by reading every row);
//! - `10 datasets, warm`: nothing changed since the last run: no file is read for its
//!   order (the goal: under 100 ms).
//!
//! The data is the demo's (TPC-H at scale factor 0.01) plus `orders` written as a csv
//! sorted by date, under the target dir.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cargo_step, target_dir};

/// Runs per variant.
const RUNS: usize = 15;

fn run_ok(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// The median wall time of `RUNS` runs of `exe args` in `dir`, after `before` each.
fn median(
    exe: &Path,
    dir: &Path,
    args: &[&str],
    before: &dyn Fn() -> Result<()>,
) -> Result<Duration> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        before()?;
        let started = Instant::now();
        run_ok(
            Command::new(exe).current_dir(dir).args(args),
            &format!("unifier {}", args.join(" ")),
        )?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[RUNS / 2])
}

pub(crate) fn run(root: &Path) -> Result<()> {
    cargo_step(
        root,
        "bench catalog: build the unifier binary (debug, as the README runs it)",
        &["build", "-q", "-p", "unifier-cli"],
        &[],
    )?;
    let exe = target_dir(root).join("debug/unifier");
    let bench = target_dir(root).join("bench/catalog");
    let demo = bench.join("demo");
    let empty = bench.join("empty");
    std::fs::create_dir_all(&empty)?;
    eprintln!("==> the demo's data in {}", demo.display());
    run_ok(
        Command::new(&exe).arg("demo").arg("--dir").arg(&demo),
        "unifier demo",
    )?;
    let csv = demo.join("data/orders_by_date.csv");
    if !csv.exists() {
        run_ok(
            Command::new(&exe)
                .arg("--catalog")
                .arg(demo.join("unifier.toml"))
                .args(["query", "--output"])
                .arg(&csv)
                .arg("SELECT o_orderkey, o_custkey, o_totalprice, o_orderdate FROM orders ORDER BY o_orderdate, o_orderkey"),
            "writing orders_by_date.csv",
        )?;
    }
    let manifest = std::fs::read_to_string(demo.join("unifier.toml"))?
        + "\n[[datasets]]\nname = \"orders_by_date\"\nkind = \"csv\"\nlocation = \"data/orders_by_date.csv\"\nsort_order = [{ column = \"o_orderdate\" }]\n";
    std::fs::write(demo.join("bench.toml"), manifest)?;
    let datasets = 10;

    let nothing = || Ok(());
    let cache = demo.join(".unifier/sort-cache.json");
    let forget = || match std::fs::remove_file(&cache) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    };
    let select = ["query", "SELECT 1"];
    let with_catalog = ["--catalog", "bench.toml", "query", "SELECT 1"];
    eprintln!("==> {RUNS} runs per variant");
    let baseline = median(&exe, &empty, &select, &nothing)?;
    let cold = median(&exe, &demo, &with_catalog, &forget)?;
    let warm = median(&exe, &demo, &with_catalog, &nothing)?;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\nbench catalog: `unifier query \"SELECT 1\"`, debug binary, process start included, median of {RUNS}"
    );
    println!("| variant | ms | vs no catalog |");
    println!("|---|---:|---:|");
    for (name, time) in [
        ("no catalog", baseline),
        (
            &format!("{datasets} datasets, sort cache cold") as &str,
            cold,
        ),
        (&format!("{datasets} datasets, sort cache warm"), warm),
    ] {
        println!(
            "| {name} | {:.1} | {:.2} |",
            ms(time),
            time.as_secs_f64() / baseline.as_secs_f64()
        );
    }
    println!(
        "\n{datasets} datasets, unchanged: {:.1} ms (goal: under 100 ms); the cache saves {:.1} ms a run",
        ms(warm),
        ms(cold) - ms(warm)
    );
    Ok(())
}
