//! `cargo xtask bench io`: the IO adapter and the facade against their baselines,
//! measured in the same run on data generated here (release build).
//!
//! 1. `ORDER BY` over a 10M-row sorted listing table, order declared (and verified) vs
//!    undeclared: full sort and `LIMIT 1000`.
//! 2. A point query over 100 parquet files with parquet pruning on vs off.
//! 3. The facade vs a raw DataFusion `SessionContext` on the same files: `SELECT 1`
//!    x 10,000 and TPC-H Q1 over generated `lineitem`.
//!
//! Prints baseline, unifier and their ratio for each; medians of a few rounds. Arguments
//! pick sections: `sorted`, `pruning`, `overhead` (default: all).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use unifier::io::{FileFormatKind, IfExists, ListingSpec, ScanPolicy, SortColumn};
use unifier::{ExecutionResult, Params, Unifier, UnifierProfile};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(
    what: &str,
    baseline_label: &str,
    baseline: Duration,
    unifier_label: &str,
    unifier: Duration,
) {
    println!("  {what}");
    println!(
        "    baseline  {baseline_label:<44} {:>10.3} ms",
        ms(baseline)
    );
    println!("    unifier   {unifier_label:<44} {:>10.3} ms", ms(unifier));
    println!(
        "    ratio     unifier / baseline                           {:>10.3}",
        unifier.as_secs_f64() / baseline.as_secs_f64()
    );
}

/// Writes `rows` rows of `(k, v)` with `k` ascending from `start`, in row groups of 128Ki.
fn write_sorted(path: &Path, start: i64, rows: i64) -> Res<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
        Field::new("note", DataType::Utf8, false),
    ]));
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(128 * 1024))
        .build();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(path)?, schema.clone(), Some(props))?;
    let chunk = 65_536;
    let mut at = start;
    while at < start + rows {
        let n = chunk.min(start + rows - at);
        let k = Int64Array::from_iter_values(at..at + n);
        let v = Int64Array::from_iter_values(
            (at..at + n).map(|x| x.wrapping_mul(2_654_435_761) % 1_000_003),
        );
        let note = StringArray::from_iter_values(
            (at..at + n).map(|x| format!("trip-{:x}", x.wrapping_mul(40503))),
        );
        writer.write(&RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(k), Arc::new(v), Arc::new(note)],
        )?)?;
        at += n;
    }
    writer.close()?;
    Ok(())
}

fn profile(scan: ScanPolicy) -> UnifierProfile {
    let mut p = UnifierProfile {
        scan,
        ..UnifierProfile::default()
    };
    p.diagnostics.capacity = 1_000_000;
    // A/B knobs for finding where overhead comes from (not for published figures):
    // UNIFIER_BENCH_RULES=off turns unifier's physical rules off, UNIFIER_BENCH_FULL_SQL=1
    // keeps statements as written in events (no normalization).
    if std::env::var("UNIFIER_BENCH_RULES").as_deref() == Ok("off") {
        p.runtime.ordered_concat = false;
        p.runtime.decode_join_filters = false;
    }
    if std::env::var_os("UNIFIER_BENCH_FULL_SQL").is_some() {
        p.diagnostics.full_sql = true;
    }
    p
}

async fn run(u: &Unifier, sql: &str) -> Res<ExecutionResult> {
    Ok(u.sql(sql, Params::None).await?)
}

async fn time_unifier(u: &Unifier, sql: &str, rounds: usize) -> Res<(Duration, ExecutionResult)> {
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        let result = run(u, sql).await?;
        samples.push(start.elapsed());
        last = Some(result);
    }
    Ok((median(samples), last.expect("at least one round")))
}

async fn bench_sorted(dir: &Path) -> Res<()> {
    let data = dir.join("sorted");
    std::fs::create_dir_all(&data)?;
    let (files, per_file) = (10, 1_000_000);
    for i in 0..files {
        write_sorted(
            &data.join(format!("part-{i:02}.parquet")),
            i * per_file,
            per_file,
        )?;
    }
    let u = Unifier::new(profile(ScanPolicy::default()))?;
    let location = data.to_str().expect("utf-8 temp dir");
    let spec = ListingSpec::new(location, FileFormatKind::Parquet);
    let started = Instant::now();
    let meta = u
        .register(
            "declared",
            spec.clone().with_sort_order(vec![SortColumn::asc("k")]),
            IfExists::Fail,
        )
        .await?;
    let verify = started.elapsed();
    u.register("plain", spec, IfExists::Fail).await?;
    println!(
        "1. ORDER BY over {} rows in {files} files (order verified from statistics in {:.1} ms: {})",
        meta.rows.unwrap_or(0),
        ms(verify),
        meta.sort_verification.state()
    );
    for (label, suffix) in [("full sort", ""), ("LIMIT 1000", " LIMIT 1000")] {
        let (plain, _) =
            time_unifier(&u, &format!("SELECT k, v FROM plain ORDER BY k{suffix}"), 3).await?;
        let (declared, result) = time_unifier(
            &u,
            &format!("SELECT k, v FROM declared ORDER BY k{suffix}"),
            3,
        )
        .await?;
        let m = result.provenance().metrics;
        report(
            &format!(
                "{label}: {} rows, SortExec in declared plan: {}",
                result.rows(),
                m.sort_execs
            ),
            "order undeclared",
            plain,
            "order declared",
            declared,
        );
        println!(
            "    speedup   undeclared / declared                        {:>10.2}x (target >= 5x)",
            plain.as_secs_f64() / declared.as_secs_f64()
        );
    }

    // The right baselines for a declared order: DataFusion told the same order without
    // verification (unifier's extra cost is the check at registration, amortized over
    // queries), and the same columns scanned without ORDER BY (the limit of any sort).
    let raw = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
    let order = vec![vec![datafusion::prelude::col("k").sort(true, false)]];
    let options = datafusion::datasource::listing::ListingOptions::new(Arc::new(
        datafusion::datasource::file_format::parquet::ParquetFormat::default(),
    ))
    .with_file_extension(".parquet")
    .with_file_sort_order(order);
    let registered = raw.register_listing_table("declared", location, options, None, None); // tidy: baseline
    registered.await?;
    let mut raw_times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        raw.sql("SELECT k, v FROM declared ORDER BY k")
            .await?
            .collect()
            .await?;
        raw_times.push(start.elapsed());
    }
    let raw_declared = median(raw_times);
    let (ours, _) = time_unifier(&u, "SELECT k, v FROM declared ORDER BY k", 3).await?;
    let (scan, _) = time_unifier(&u, "SELECT k, v FROM plain", 3).await?;
    report(
        "ORDER BY on a declared order: raw DataFusion told the same order (no check)",
        "raw DataFusion, WITH ORDER",
        raw_declared,
        "unifier, verified order",
        ours,
    );
    println!(
        "    limit     the same columns scanned without ORDER BY        {:>10.3} ms; ORDER BY on the verified order / scan {:.2} (target <= 1.10)",
        ms(scan),
        ours.as_secs_f64() / scan.as_secs_f64()
    );
    println!(
        "    amortized the check ({:.1} ms once) over 10 / 100 queries    {:>10.3} / {:.3} ms a query",
        ms(verify),
        ms(verify) / 10.0,
        ms(verify) / 100.0
    );
    Ok(())
}

async fn bench_pruning(dir: &Path) -> Res<()> {
    let data = dir.join("pruning");
    std::fs::create_dir_all(&data)?;
    let (files, per_file) = (100, 50_000);
    for i in 0..files {
        write_sorted(
            &data.join(format!("part-{i:03}.parquet")),
            i * per_file,
            per_file,
        )?;
    }
    let location = data.to_str().expect("utf-8 temp dir");
    let on = Unifier::new(profile(ScanPolicy::default()))?;
    // Off: no row-group pruning, no page index, no listing statistics.
    let off = Unifier::new(profile(ScanPolicy {
        parquet_pruning: false,
        page_index: false,
        collect_statistics: false,
        ..ScanPolicy::default()
    }))?;
    for u in [&on, &off] {
        u.register(
            "t",
            ListingSpec::new(location, FileFormatKind::Parquet),
            IfExists::Fail,
        )
        .await?;
    }
    let point = "SELECT k, v, note FROM t WHERE k = 3217777";
    // The same rows through a predicate no statistics can use: every file is read.
    let opaque = "SELECT k, v, note FROM t WHERE k * 3 = 9653331";
    let (pruned, with) = time_unifier(&on, point, 7).await?;
    let (off_time, off_result) = time_unifier(&off, point, 7).await?;
    let (full, without) = time_unifier(&on, opaque, 7).await?;
    let (a, b, c) = (
        with.provenance().metrics,
        off_result.provenance().metrics,
        without.provenance().metrics,
    );
    println!("2. point query over {files} files x {per_file} rows (1 row matches)");
    println!(
        "    file ranges read: pruning on {} (target <= 1); scan policy off {} ({:.3} ms, {} bytes); opaque predicate {}",
        a.files_scanned,
        b.files_scanned,
        ms(off_time),
        b.bytes_scanned,
        c.files_scanned
    );
    report(
        &format!(
            "row groups pruned {} / matched {}, bytes read {} vs {}",
            a.row_groups_pruned, a.row_groups_matched, a.bytes_scanned, c.bytes_scanned
        ),
        "every file read (k * 3 = 9653331)",
        full,
        "pruned by statistics (k = 3217777)",
        pruned,
    );
    println!(
        "    speedup   unpruned / pruned                            {:>10.2}x (target >= 10x)",
        full.as_secs_f64() / pruned.as_secs_f64()
    );
    Ok(())
}

/// Generates TPC-H `lineitem` at `scale` into one parquet file.
fn write_lineitem(path: &Path, scale: f64) -> Res<u64> {
    let mut batches = unifier_tpch::arrow("lineitem", scale, 65_536).ok_or("no lineitem")?;
    let schema = batches.schema().clone();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(path)?, schema, None)?;
    let mut rows = 0;
    for batch in &mut batches {
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(rows)
}

async fn bench_overhead(dir: &Path, root: &Path) -> Res<()> {
    let u = Unifier::new(profile(ScanPolicy::default()))?;
    let ctx = SessionContext::new_with_config(ScanPolicy::default().apply(SessionConfig::new()));
    const N: usize = 10_000;
    let mut raw_rounds = Vec::new();
    let mut unifier_rounds = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..N {
            ctx.sql("SELECT 1").await?.collect().await?;
        }
        raw_rounds.push(start.elapsed());
        let start = Instant::now();
        for _ in 0..N {
            run(&u, "SELECT 1").await?;
        }
        unifier_rounds.push(start.elapsed());
    }
    println!("3. facade vs raw SessionContext");
    report(
        &format!(
            "SELECT 1 x {N} (per query: raw {:.1} us, unifier {:.1} us; target ratio <= 1.10)",
            ms(median(raw_rounds.clone())) * 1e3 / N as f64,
            ms(median(unifier_rounds.clone())) * 1e3 / N as f64
        ),
        "SessionContext::sql + collect",
        median(raw_rounds),
        "Unifier::sql (gate, plan, verify, events)",
        median(unifier_rounds),
    );

    // Where the per-query difference goes: the policy check and compile alone.
    let policy = u.policy().clone();
    let start = Instant::now();
    for _ in 0..N {
        policy.check("SELECT 1")?;
    }
    let check = start.elapsed();
    let start = Instant::now();
    for _ in 0..N {
        u.compile("SELECT 1", Params::None).await?;
    }
    let compile = start.elapsed();
    let start = Instant::now();
    for _ in 0..N {
        ctx.state().create_logical_plan("SELECT 1").await?;
    }
    let raw_plan = start.elapsed();
    println!(
        "    breakdown per query: policy check {:.1} us, unifier compile {:.1} us, raw parse+plan {:.1} us",
        ms(check) * 1e3 / N as f64,
        ms(compile) * 1e3 / N as f64,
        ms(raw_plan) * 1e3 / N as f64
    );

    let path = dir.join("lineitem.parquet");
    let rows = write_lineitem(&path, 1.0)?;
    let location = path.to_str().expect("utf-8 temp dir");
    let options = ParquetReadOptions::default();
    let baseline = ctx.register_parquet("lineitem", location, options); // tidy: baseline
    baseline.await?;
    u.register(
        "lineitem",
        ListingSpec::new(location, FileFormatKind::Parquet),
        IfExists::Fail,
    )
    .await?;
    let q1 = std::fs::read_to_string(root.join("testdata/tpch/queries/q1.sql"))?;
    let mut raw = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        ctx.sql(&q1).await?.collect().await?;
        raw.push(start.elapsed());
        let start = Instant::now();
        run(&u, &q1).await?;
        ours.push(start.elapsed());
    }
    report(
        &format!("TPC-H Q1 over lineitem SF1 ({rows} rows; target ratio <= 1.01)"),
        "SessionContext::sql + collect",
        median(raw),
        "Unifier::sql",
        median(ours),
    );
    Ok(())
}

fn main() -> Res<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("unifier-bench-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Sections by name (`sorted`, `pruning`, `overhead`; all without arguments), so one
    // can be profiled alone: `perf record -g .../bench_io overhead`.
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    let outcome = runtime.block_on(async {
        println!("bench io (release; data generated in {})", dir.display());
        if run("sorted") {
            bench_sorted(&dir).await?;
        }
        if run("pruning") {
            bench_pruning(&dir).await?;
        }
        if run("overhead") {
            bench_overhead(&dir, &root).await?;
        }
        Ok(())
    });
    std::fs::remove_dir_all(&dir).ok();
    outcome
}
