//! TPC-H q1–q22 through three engines over the same parquet files, one file per table:
//! a raw DataFusion `SessionContext` with its default settings, the unifier facade with
//! its default profile (policy check, plan verification, events included), and DuckDB
//! (through python, when `UNIFIER_BENCH_PYTHON` names one with `duckdb`, as `cargo xtask
//! bench tpch` sets up). Best of `--runs` per query and engine; every unifier answer is
//! compared with DuckDB's (floats to a relative 1e-6, decimals at the coarser scale), and
//! a wrong answer fails the run. Prints a table and writes it as markdown and JSON.
//!
//! `cargo run --release -p unifier --example bench_tpch -- --data DIR --out DIR
//!  [--sf 1] [--queries 1,3,...] [--runs 3]`
//!
//! The data is generated with tpchgen into `DIR/sf<SF>/` when missing, and reused.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde_json::{Value, json};
use unifier::io::{FileFormatKind, IfExists, ListingSpec};
use unifier::{Compiled, ExecutionResult, Params, Unifier, UnifierProfile};

#[path = "../tests/it/tpch_data.rs"]
mod tpch_data;

use tpch_data::{
    Error, TABLES, answers_match, cells, generate, json_cells, manifest_dir, query_text,
};

struct Args {
    data: PathBuf,
    out: PathBuf,
    sf: f64,
    queries: Vec<u32>,
    runs: usize,
    /// Exploration only: `[scan]` fields for the facade (`--scan pushdown_filters=true`).
    scan: Vec<String>,
    /// Exploration only: DataFusion options set on the facade's session after it is made
    /// (`--set datafusion.optimizer.prefer_hash_join=false`).
    set: Vec<(String, String)>,
}

fn args() -> Result<Args, Error> {
    let mut args = Args {
        data: PathBuf::from("target/bench/tpch"),
        out: PathBuf::from("target/bench"),
        sf: 1.0,
        queries: (1..=22).collect(),
        runs: 3,
        scan: Vec::new(),
        set: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data" => args.data = value.into(),
            "--out" => args.out = value.into(),
            "--sf" => args.sf = value.parse()?,
            "--runs" => args.runs = value.parse::<usize>()?.max(1),
            "--scan" => args.scan.push(value),
            "--set" => {
                let (k, v) = value.split_once('=').ok_or("--set KEY=VALUE")?;
                args.set.push((k.to_owned(), v.to_owned()));
            }
            "--queries" => {
                args.queries = value
                    .split(',')
                    .map(|q| q.trim().trim_start_matches('q').parse())
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(args)
}

async fn raw_context(dir: &Path) -> Result<SessionContext, Error> {
    let ctx = SessionContext::new();
    for table in TABLES {
        let path = dir.join(format!("{table}.parquet")).display().to_string();
        // The raw engine, registered as DataFusion's users do.
        let registered = ctx.register_parquet(table, &path, ParquetReadOptions::default()); // tidy: baseline
        registered.await?;
    }
    Ok(ctx)
}

async fn unifier(dir: &Path, scan: &[String], set: &[(String, String)]) -> Result<Unifier, Error> {
    let mut profile = UnifierProfile::default();
    if !scan.is_empty() {
        let mut fields = serde_json::Map::new();
        for pair in scan {
            let (k, v) = pair.split_once('=').ok_or("--scan FIELD=VALUE")?;
            let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.into()));
            fields.insert(k.to_owned(), value);
        }
        profile.scan = serde_json::from_value(Value::Object(fields))?;
    }
    // `--set` goes through the gate like any `SET`: the bench's profile allows the class.
    if !set.is_empty() {
        profile
            .policy
            .allowed_classes
            .insert(unifier::policy::StatementClass::Set);
    }
    let unifier = Unifier::new(profile)?;
    for (key, value) in set {
        let value = value.replace('\'', "''");
        unifier
            .sql(&format!("SET {key} = '{value}'"), Params::None)
            .await?;
    }
    for table in TABLES {
        let path = dir.join(format!("{table}.parquet")).display().to_string();
        unifier
            .register(
                table,
                ListingSpec::new(path, FileFormatKind::Parquet),
                IfExists::Fail,
            )
            .await?;
    }
    Ok(unifier)
}

async fn run_raw(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, Error> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

async fn run_unifier(unifier: &Unifier, sql: &str) -> Result<Vec<RecordBatch>, Error> {
    let Compiled::Allowed(query) = unifier.compile(sql, Params::None).await? else {
        return Err("the read_only policy denied a TPC-H query".into());
    };
    match unifier.execute(&query).await? {
        ExecutionResult::Table { batches, .. } => Ok(batches),
        other => Err(format!("unexpected result {other:?}").into()),
    }
}

/// DuckDB's times and answers, from the python script, or why there are none.
fn duckdb(dir: &Path, queries: &[u32], runs: usize, out: &Path) -> Result<Value, String> {
    let python = std::env::var("UNIFIER_BENCH_PYTHON")
        .map_err(|_| "UNIFIER_BENCH_PYTHON is not set (cargo xtask bench tpch sets it)")?;
    let script = manifest_dir().join("../../xtask/bench/tpch_duckdb.py");
    let queries_dir = manifest_dir().join("../../testdata/tpch/queries");
    let list: Vec<String> = queries.iter().map(u32::to_string).collect();
    let json = out.join("tpch-duckdb.json");
    let status = std::process::Command::new(&python)
        .arg(script)
        .arg(dir)
        .arg(queries_dir)
        .arg(runs.to_string())
        .arg(list.join(","))
        .arg(&json)
        .status()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !status.success() {
        return Err(format!("the duckdb script failed ({status})"));
    }
    let text = std::fs::read_to_string(&json).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn best(times: &[f64]) -> f64 {
    times.iter().copied().fold(f64::INFINITY, f64::min)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = args()?;
    let dir = args.data.join(format!("sf{}", args.sf));
    generate(&dir, args.sf)?;
    std::fs::create_dir_all(&args.out)?;

    let duck = match duckdb(&dir, &args.queries, args.runs, &args.out) {
        Ok(v) => Some(v),
        Err(why) => {
            eprintln!("DuckDB skipped: {why}");
            None
        }
    };
    let raw = raw_context(&dir).await?;
    let governed = unifier(&dir, &args.scan, &args.set).await?;
    if !args.scan.is_empty() || !args.set.is_empty() {
        eprintln!(
            "facade settings changed for exploration: {:?} {:?}",
            args.scan, args.set
        );
    }

    let mut rows = Vec::new();
    let mut wrong = Vec::new();
    let (mut total_duck, mut total_raw, mut total_unifier) = (0.0, 0.0, 0.0);
    for &q in &args.queries {
        let sql = query_text(q)?;
        let (mut raw_times, mut unifier_times) = (Vec::new(), Vec::new());
        let mut answer = Vec::new();
        // Interleaved, so both engines see the same machine state.
        for _ in 0..args.runs {
            let started = Instant::now();
            run_raw(&raw, &sql).await?;
            raw_times.push(started.elapsed().as_secs_f64() * 1000.0);
            let started = Instant::now();
            answer = run_unifier(&governed, &sql).await?;
            unifier_times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let (raw_ms, unifier_ms) = (best(&raw_times), best(&unifier_times));
        let theirs = duck
            .as_ref()
            .and_then(|d| d["queries"].get(q.to_string()).cloned());
        let (duck_ms, correct) = match &theirs {
            Some(t) => {
                let times: Vec<f64> = t["times_ms"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_f64)
                    .collect();
                let ok = answers_match(&cells(&answer)?, &json_cells(&t["rows"]));
                (Some(best(&times)), Some(ok))
            }
            None => (None, None),
        };
        if correct == Some(false) {
            wrong.push(q);
        }
        total_raw += raw_ms;
        total_unifier += unifier_ms;
        total_duck += duck_ms.unwrap_or(0.0);
        eprintln!(
            "q{q}: unifier {unifier_ms:.1} ms, datafusion {raw_ms:.1} ms{}",
            duck_ms.map_or_else(String::new, |d| format!(", duckdb {d:.1} ms"))
        );
        rows.push(json!({
            "query": q,
            "duckdb_ms": duck_ms,
            "datafusion_ms": raw_ms,
            "unifier_ms": unifier_ms,
            "unifier_vs_datafusion": unifier_ms / raw_ms,
            "unifier_vs_duckdb": duck_ms.map(|d| unifier_ms / d),
            "answer_matches_duckdb": correct,
        }));
    }

    let mut md = format!(
        "TPC-H SF{}, best of {} per query and engine, {} core(s); {}\n\n| query | duckdb ms | datafusion ms | unifier ms | unifier / datafusion | unifier / duckdb | answer |\n|---|---:|---:|---:|---:|---:|---|\n",
        args.sf,
        args.runs,
        std::thread::available_parallelism().map_or(1, usize::from),
        duck.as_ref()
            .and_then(|d| d["engine"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "duckdb skipped".into())
    );
    let cell_ms = |v: &Value| v.as_f64().map_or_else(|| "-".into(), |x| format!("{x:.1}"));
    let cell_ratio = |v: &Value| v.as_f64().map_or_else(|| "-".into(), |x| format!("{x:.2}"));
    for row in &rows {
        md.push_str(&format!(
            "| q{} | {} | {} | {} | {} | {} | {} |\n",
            row["query"],
            cell_ms(&row["duckdb_ms"]),
            cell_ms(&row["datafusion_ms"]),
            cell_ms(&row["unifier_ms"]),
            cell_ratio(&row["unifier_vs_datafusion"]),
            cell_ratio(&row["unifier_vs_duckdb"]),
            match row["answer_matches_duckdb"].as_bool() {
                Some(true) => "same",
                Some(false) => "WRONG",
                None => "-",
            }
        ));
    }
    md.push_str(&format!(
        "| total | {} | {total_raw:.1} | {total_unifier:.1} | {:.3} | {} | |\n",
        if duck.is_some() {
            format!("{total_duck:.1}")
        } else {
            "-".into()
        },
        total_unifier / total_raw,
        if duck.is_some() {
            format!("{:.3}", total_unifier / total_duck)
        } else {
            "-".into()
        }
    ));
    println!("\n{md}");
    let report = json!({
        "sf": args.sf,
        "runs": args.runs,
        "queries": rows,
        "total": {
            "duckdb_ms": duck.as_ref().map(|_| total_duck),
            "datafusion_ms": total_raw,
            "unifier_ms": total_unifier,
        },
    });
    let md_path = args.out.join(format!("tpch-sf{}.md", args.sf));
    std::fs::write(&md_path, &md)?;
    std::fs::write(
        args.out.join(format!("tpch-sf{}.json", args.sf)),
        serde_json::to_string_pretty(&report)?,
    )?;
    eprintln!("written: {} and .json", md_path.display());
    if !wrong.is_empty() {
        return Err(format!("wrong answers (differ from DuckDB): {wrong:?}").into());
    }
    Ok(())
}
