//! `cargo xtask bench delta`: appending TPC-H lineitem rows into a Delta table through
//! unifier's write pipeline against deltalake's write builder called directly with the
//! same streamed source (and against generating the rows alone), then reading a change
//! feed through `table_changes` against deltalake's CDF scan. Each write runs in its own
//! process so its peak RSS is its own. Ratios are against baselines of the same run.
//!
//! `cargo run --release -p unifier --example bench_delta [-- ROWS_MILLIONS]` (default 10)

use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use tpchgen::generators::LineItemGenerator;
use tpchgen_arrow::{LineItemArrow, RecordBatchIterator};
use unifier::io::{DeltaTableOptions, IfExists};
use unifier::policy::{PolicyProfile, Preset};
use unifier::write::{WriteRequest, WriteSource, WriteTarget};
use unifier::{ExecutionResult, Params, Unifier, UnifierProfile};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Lineitem rows generated on the fly, `rows` of them, as a stream.
fn lineitem(rows: u64) -> (SchemaRef, SendableRecordBatchStream) {
    // Scale factor 1 is about 6.0M lineitem rows.
    let scale = rows as f64 / 6_001_215.0;
    let batches = LineItemArrow::new(LineItemGenerator::new(scale, 1, 1)).with_batch_size(65_536);
    let schema = batches.schema().clone();
    let mut left = rows;
    let limited = batches.map_while(move |batch: RecordBatch| {
        if left == 0 {
            return None;
        }
        let take = (batch.num_rows() as u64).min(left);
        left -= take;
        Some(Ok(batch.slice(0, take as usize)))
    });
    let stream = futures::stream::iter(limited);
    (
        schema.clone(),
        Box::pin(RecordBatchStreamAdapter::new(schema, stream)),
    )
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

struct OneShot(SchemaRef, Mutex<Option<SendableRecordBatchStream>>);

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneShot")
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.0
    }
    fn execute(&self, _: Arc<TaskContext>) -> SendableRecordBatchStream {
        self.1.lock().unwrap().take().expect("read once")
    }
}

fn stream_plan(schema: SchemaRef, stream: SendableRecordBatchStream) -> Result<LogicalPlan, Error> {
    let table = StreamingTable::try_new(
        schema.clone(),
        vec![Arc::new(OneShot(schema, Mutex::new(Some(stream))))],
    )?;
    Ok(LogicalPlanBuilder::scan("lineitem", provider_as_source(Arc::new(table)), None)?.build()?)
}

fn writer() -> Result<Unifier, Error> {
    Ok(Unifier::new(UnifierProfile {
        policy: PolicyProfile::preset(Preset::Writer),
        ..UnifierProfile::default()
    })?)
}

/// One measured write, in this process: prints `variant seconds rows peak_mib`.
async fn child(variant: &str, rows: u64, dir: &str) -> Result<(), Error> {
    let (schema, stream) = lineitem(rows);
    let started = Instant::now();
    let written = match variant {
        "generate" => {
            use futures::StreamExt;
            let mut stream = stream;
            let mut n = 0u64;
            while let Some(batch) = stream.next().await {
                n += batch?.num_rows() as u64;
            }
            n
        }
        "unifier" => {
            let u = writer()?;
            let options = DeltaTableOptions::new(dir);
            u.create_table("lineitem", schema.clone(), options, IfExists::Fail)
                .await?;
            let request = WriteRequest::new(
                WriteTarget::Dataset("lineitem".into()),
                WriteSource::Stream(stream),
            );
            u.write(request).await?.rows
        }
        "deltalake" => {
            std::fs::create_dir_all(dir)?;
            let url = deltalake::ensure_table_uri(dir)?;
            let table = deltalake::DeltaTable::try_from_url(url).await?;
            let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let counter = seen.clone();
            let counted = futures::StreamExt::map(stream, move |batch| {
                if let Ok(b) = &batch {
                    counter.fetch_add(b.num_rows() as u64, std::sync::atomic::Ordering::Relaxed);
                }
                batch
            });
            let stream: SendableRecordBatchStream =
                Box::pin(RecordBatchStreamAdapter::new(schema.clone(), counted));
            let plan = stream_plan(schema, stream)?;
            table.write(vec![]).with_input_plan(plan).await?;
            seen.load(std::sync::atomic::Ordering::Relaxed)
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

struct Measured {
    seconds: f64,
    rows: u64,
    peak_mib: f64,
}

fn measure(variant: &str, rows: u64, dir: &std::path::Path) -> Result<Measured, Error> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--child",
            variant,
            &rows.to_string(),
            &dir.display().to_string(),
        ])
        .output()?;
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
        let table = u.io().delta_table("feed").ok_or("no table")?;
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
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], args[3].parse()?, &args[4]).await;
    }
    let millions: u64 = args.get(1).map_or(Ok(10), |a| a.parse())?;
    let rows = millions * 1_000_000;
    let root = std::env::temp_dir().join(format!("unifier-bench-delta-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    println!("1. append {rows} TPC-H lineitem rows, generated on the fly (one process each):");
    let generate = measure("generate", rows, &root.join("none"))?;
    let direct = measure("deltalake", rows, &root.join("direct"))?;
    let ours = measure("unifier", rows, &root.join("unifier"))?;
    for (label, m) in [
        ("generate only", &generate),
        ("deltalake write (baseline)", &direct),
        ("unifier write", &ours),
    ] {
        println!(
            "   {label:<27} {:>7.2} s  {:>10.0} rows/s  peak RSS {:>7.1} MiB  ({} rows)",
            m.seconds,
            m.rows as f64 / m.seconds,
            m.peak_mib,
            m.rows
        );
    }
    let write_only = |m: &Measured| (m.seconds - generate.seconds).max(1e-9);
    println!(
        "   ratio unifier / deltalake: {:.3} (total), {:.3} (write time, generation subtracted); peak RSS {:.2}",
        ours.seconds / direct.seconds,
        write_only(&ours) / write_only(&direct),
        ours.peak_mib / direct.peak_mib
    );
    cdf_read(1_000_000, &root).await?;
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}
