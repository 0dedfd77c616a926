//! `cargo xtask bench delta`: appending TPC-H lineitem rows (a parquet file generated
//! once with tpchgen) into a Delta table through unifier's write pipeline, against
//! deltalake's write builder called directly on the same file, and against python
//! `write_deltalake` streaming the same file (when `UNIFIER_BENCH_PYTHON` names a python
//! with `deltalake` and `pyarrow`, as `cargo xtask bench delta` sets up); then reading a
//! change feed through `table_changes` against deltalake's CDF provider. Each write runs
//! in its own process so its peak RSS is its own. Ratios are against baselines of the
//! same run.
//!
//! `cargo run --release -p unifier --example bench_delta [-- ROWS_MILLIONS]` (default 10)

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use unifier::io::{DeltaTableOptions, FileFormatKind, IfExists, ListingSpec};
use unifier::policy::{PolicyProfile, Preset};
use unifier::write::{WriteRequest, WriteSource, WriteTarget};
use unifier::{ExecutionResult, Params, Unifier, UnifierProfile};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Writes `rows` TPC-H lineitem rows to one parquet file.
fn generate_parquet(rows: u64, path: &std::path::Path) -> Result<u64, Error> {
    // Scale factor 1 is about 6.0M lineitem rows.
    let scale = rows as f64 / 6_001_215.0;
    let mut batches = unifier_tpch::arrow("lineitem", scale, 65_536).ok_or("no lineitem")?;
    let schema = batches.schema().clone();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path)?, schema, None)?;
    let mut written = 0u64;
    for batch in &mut batches {
        let take = (batch.num_rows() as u64).min(rows - written);
        writer.write(&batch.slice(0, take as usize))?;
        written += take;
        if written == rows {
            break;
        }
    }
    writer.close()?;
    Ok(written)
}

/// Peak resident set of this process, MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
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

fn writer() -> Result<Unifier, Error> {
    Ok(Unifier::new(UnifierProfile {
        // The source file is read without a dataset: file access must be allowed.
        policy: PolicyProfile {
            allow_external_access: true,
            ..PolicyProfile::preset(Preset::Writer)
        },
        ..UnifierProfile::default()
    })?)
}

/// One measured write, in this process: prints `variant seconds rows peak_mib`.
async fn child(variant: &str, source: &str, dir: &str) -> Result<(), Error> {
    let started = Instant::now();
    let written = match variant {
        "read" => {
            let ctx = datafusion::prelude::SessionContext::new();
            let df = ctx
                .read_parquet(source, datafusion::prelude::ParquetReadOptions::default())
                .await?;
            let mut stream = df.execute_stream().await?;
            let mut n = 0u64;
            while let Some(batch) = futures::StreamExt::next(&mut stream).await {
                n += batch?.num_rows() as u64;
            }
            n
        }
        "unifier" => {
            let u = writer()?;
            let rows = u
                .read_files(ListingSpec::new(source, FileFormatKind::Parquet), None)
                .await?;
            let schema = rows.schema();
            u.create_table(
                "lineitem",
                schema,
                DeltaTableOptions::new(dir),
                IfExists::Fail,
            )
            .await?;
            let request = WriteRequest::new(
                WriteTarget::Dataset("lineitem".into()),
                WriteSource::Stream(rows),
            );
            u.write(request).await?.rows
        }
        "deltalake" => {
            std::fs::create_dir_all(dir)?;
            let ctx = datafusion::prelude::SessionContext::new();
            let plan = ctx
                .read_parquet(source, datafusion::prelude::ParquetReadOptions::default())
                .await?
                .into_unoptimized_plan();
            let url = deltalake::ensure_table_uri(dir)?;
            let table = deltalake::DeltaTable::try_from_url(url).await?;
            let table = table.write(vec![]).with_input_plan(plan).await?;
            let version = table.version().unwrap_or_default();
            let commit = table
                .log_store()
                .read_commit_entry(version)
                .await?
                .ok_or("no commit")?;
            deltalake::logstore::get_actions(version, &commit)?
                .iter()
                .filter_map(|a| match a {
                    deltalake::kernel::Action::Add(add) => add.stats.clone(),
                    _ => None,
                })
                .filter_map(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .filter_map(|v| v.get("numRecords").and_then(serde_json::Value::as_u64))
                .sum()
        }
        other => return Err(format!("unknown variant {other}").into()),
    };
    println!(
        "{variant} {:.3} {written} {:.1}",
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    Ok(())
}

/// python `write_deltalake`, streaming the parquet file batch by batch.
const PYTHON: &str = r#"
import resource, sys, time
import pyarrow.dataset as ds
from deltalake import write_deltalake
source, target = sys.argv[1], sys.argv[2]
started = time.perf_counter()
dataset = ds.dataset(source, format="parquet")
reader = dataset.scanner(batch_size=65536).to_reader()
write_deltalake(target, reader)
elapsed = time.perf_counter() - started
rows = dataset.count_rows()
print(f"python {elapsed:.3f} {rows} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")
"#;

struct Measured {
    seconds: f64,
    rows: u64,
    peak_mib: f64,
}

fn measure(
    variant: &str,
    source: &std::path::Path,
    dir: &std::path::Path,
) -> Result<Measured, Error> {
    let mut command = match (variant, std::env::var_os("UNIFIER_BENCH_PYTHON")) {
        ("python", Some(python)) => {
            let mut c = std::process::Command::new(python);
            c.args(["-c", PYTHON]);
            c
        }
        _ => {
            let mut c = std::process::Command::new(std::env::current_exe()?);
            c.args(["--child", variant]);
            c
        }
    };
    let out = command.arg(source).arg(dir).output()?;
    if !out.status.success() {
        return Err(format!("{variant} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let text = String::from_utf8(out.stdout)?;
    let parts: Vec<&str> = text.split_whitespace().collect();
    Ok(Measured {
        seconds: parts[1].parse()?,
        rows: parts[2].parse()?,
        peak_mib: parts[3].parse()?,
    })
}

async fn cdf_read(rows: u64, root: &std::path::Path) -> Result<(), Error> {
    let dir = root.join("cdf");
    let u = writer()?;
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("v", DataType::Int64, true),
    ]));
    u.create_table(
        "feed",
        schema,
        DeltaTableOptions::new(dir.display().to_string()).with_change_data_feed(),
        IfExists::Fail,
    )
    .await?;
    u.sql(
        &format!("INSERT INTO feed SELECT value, value * 2 FROM generate_series(1, {rows})"),
        Params::None,
    )
    .await?;
    u.sql("UPDATE feed SET v = v + 1 WHERE id % 10 = 0", Params::None)
        .await?;
    let mut ours = f64::MAX;
    let mut theirs = f64::MAX;
    let mut changes = 0u64;
    for _ in 0..3 {
        let started = Instant::now();
        let ExecutionResult::Table { batches, .. } = u
            .sql(
                "SELECT count(*), sum(v) FROM table_changes('feed', 0)",
                Params::None,
            )
            .await?
        else {
            return Err("expected rows".into());
        };
        ours = ours.min(started.elapsed().as_secs_f64());
        changes = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .map_or(0, |a| a.value(0) as u64);

        let started = Instant::now();
        // The baseline opens the table with deltalake itself (the facade hands out no
        // table handles).
        let url = url::Url::from_directory_path(dir.canonicalize()?).map_err(|()| "not a path")?;
        let table = deltalake::DeltaTableBuilder::from_url(url)?.load().await?;
        let builder = table.scan_cdf().with_starting_version(0);
        let provider = deltalake::delta_datafusion::DeltaCdfTableProvider::try_new(builder)?;
        let ctx = datafusion::prelude::SessionContext::new();
        let df = ctx.read_table(Arc::new(provider))?;
        let counted = df
            .aggregate(
                vec![],
                vec![
                    datafusion::functions_aggregate::expr_fn::count(datafusion::prelude::lit(1)),
                    datafusion::functions_aggregate::expr_fn::sum(datafusion::prelude::col("v")),
                ],
            )?
            .collect()
            .await?;
        theirs = theirs.min(started.elapsed().as_secs_f64());
        assert_eq!(counted[0].num_rows(), 1);
    }
    println!(
        "2. change feed read ({changes} changes: {rows} inserts + {} updates as pre/post images), best of 3:",
        rows / 10
    );
    println!("   deltalake CDF scan (baseline)  {:>8.1} ms", theirs * 1e3);
    println!(
        "   unifier table_changes          {:>8.1} ms   ratio {:.2}",
        ours * 1e3,
        ours / theirs
    );
    if let Some(python) = std::env::var_os("UNIFIER_BENCH_PYTHON") {
        let out = std::process::Command::new(python)
            .args(["-c", PYTHON_CDF])
            .arg(&dir)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        match (parts.next().map(str::parse::<f64>), parts.next()) {
            (Some(Ok(seconds)), Some(n)) => println!(
                "   python load_cdf ({n} changes)  {:>8.1} ms   unifier / load_cdf {:.2}",
                seconds * 1e3,
                ours / seconds
            ),
            _ => println!(
                "   python load_cdf failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    Ok(())
}

/// python `load_cdf` of the same table, best of 3, counting rows and summing `v`.
const PYTHON_CDF: &str = r#"
import sys, time
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
best, rows = None, 0
for _ in range(3):
    started = time.perf_counter()
    reader = DeltaTable(sys.argv[1]).load_cdf(starting_version=0)
    table = pa.RecordBatchReader.from_stream(reader).read_all()
    rows = table.num_rows
    pc.sum(table["v"])
    elapsed = time.perf_counter() - started
    best = elapsed if best is None else min(best, elapsed)
print(f"{best:.4f} {rows}")
"#;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], &args[3], &args[4]).await;
    }
    let millions: f64 = args.get(1).map_or(Ok(10.0), |a| a.parse())?;
    let rows = (millions * 1e6) as u64;
    let root = std::env::temp_dir().join(format!("unifier-bench-delta-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let source = root.join("lineitem.parquet");
    let started = Instant::now();
    let generated = generate_parquet(rows, &source)?;
    println!(
        "1. append {generated} TPC-H lineitem rows from one parquet file ({:.0} MiB, generated in {:.1} s), one process each:",
        std::fs::metadata(&source)?.len() as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    let read = measure("read", &source, &root.join("none"))?;
    let direct = measure("deltalake", &source, &root.join("direct"))?;
    let ours = measure("unifier", &source, &root.join("unifier"))?;
    let python = if std::env::var_os("UNIFIER_BENCH_PYTHON").is_some() {
        Some(measure("python", &source, &root.join("python"))?)
    } else {
        println!(
            "   (python write_deltalake skipped: UNIFIER_BENCH_PYTHON is not set; cargo xtask bench delta sets it)"
        );
        None
    };
    let mut lines = vec![
        ("read the file only", &read),
        ("deltalake write (baseline)", &direct),
        ("unifier write", &ours),
    ];
    if let Some(p) = &python {
        lines.push(("python write_deltalake", p));
    }
    for (label, m) in lines {
        println!(
            "   {label:<27} {:>7.2} s  {:>10.0} rows/s  peak RSS {:>7.1} MiB  ({} rows)",
            m.seconds,
            m.rows as f64 / m.seconds,
            m.peak_mib,
            m.rows
        );
    }
    println!(
        "   ratio unifier / deltalake: time {:.3}, peak RSS {:.2}",
        ours.seconds / direct.seconds,
        ours.peak_mib / direct.peak_mib
    );
    if let Some(p) = &python {
        println!(
            "   ratio unifier / python write_deltalake: time {:.3}, peak RSS {:.2}",
            ours.seconds / p.seconds,
            ours.peak_mib / p.peak_mib
        );
    }
    cdf_read(rows.min(1_000_000), &root).await?;
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}
