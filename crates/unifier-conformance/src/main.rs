//! `unifier-slt`: DataFusion's own sqllogictest files, run through the unifier facade.
//!
//! Every record goes through `Unifier::compile` (the policy, then DataFusion's planner and
//! `verify_plan`) and `Unifier::execute`, never a raw session; results are normalized
//! with DataFusion's own value normalizer and compared with its validator, so a record
//! passes exactly when the facade answers as DataFusion does. Prints `N passed, M failed`
//! per file and in total; with `--verbose`, each failure.
//!
//! ```text
//! unifier-slt [--data DIR] [--policy admin|writer|read_only|FILE.toml] [--rules] FILES...
//! ```
//!
//! `--data DIR` is a root laid out like DataFusion's repository (`DIR/testing/data`,
//! `DIR/parquet-testing/data`, `DIR/datafusion/core/tests/data`); each file runs in a
//! temporary copy of that layout with `datafusion/sqllogictest` as the working directory,
//! as DataFusion's runner does, so `../../testing/data/...` resolves, and writes land in
//! `test_files/scratch/<file>/` there. FILES are paths, or names of the files the
//! `datafusion-sqllogictest` crate ships (`insert`, `tpch/tpch`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use async_trait::async_trait;
use clap::Parser;
use datafusion_sqllogictest::{
    DFColumnType, convert_batches, convert_schema_to_types, df_value_validator, value_normalizer,
};
use sqllogictest::{DBOutput, Record};
use unifier::datafusion::arrow::array::RecordBatch;
use unifier::policy::{PolicyProfile, Preset};
use unifier::{Compiled, ExecutionResult, Params, Unifier, UnifierProfile};

/// What can go wrong, for one record or for the run.
#[derive(Debug, thiserror::Error)]
enum Error {
    /// The policy refused the statement: nothing ran.
    #[error("denied by the policy: {0}")]
    Denied(String),
    /// The facade's error (plan, execution, write, ...), shown as DataFusion's runner
    /// shows its errors (see [`as_datafusion_shows_it`]).
    #[error("{}", as_datafusion_shows_it(.0))]
    Facade(#[from] unifier::Error),
    /// Converting the result to sqllogictest's text form.
    #[error("cannot convert the result: {0}")]
    Convert(String),
    /// A file or directory of the run.
    #[error("{path}: {source}")]
    Io {
        /// What could not be read or written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file that is not a sqllogictest file.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, Parser)]
#[command(
    name = "unifier-slt",
    about = "DataFusion's sqllogictest files through the unifier facade"
)]
struct Args {
    /// A root laid out like DataFusion's repository (default: testdata/conformance).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The policy: a preset name or a profile TOML file.
    #[arg(long, default_value = "admin")]
    policy: String,
    /// Keep unifier's own physical rules on (they show in EXPLAIN output).
    #[arg(long)]
    rules: bool,
    /// Print every failure.
    #[arg(long, short)]
    verbose: bool,
    /// A baseline (`file: N passed, M failed` lines, as this prints them): fail when a
    /// file passes fewer records or fails more than it says.
    #[arg(long)]
    expect: Option<PathBuf>,
    /// Where the TPC-H `.tbl` files of `tpch/tpch.slt` are (SF 0.1, the scale its answers
    /// are for; generated there with tpchgen when missing and a file of FILES names
    /// `tpch`), linked in as
    /// `test_files/tpch/data` as DataFusion's `make tpch` would leave them.
    #[arg(long, value_name = "DIR")]
    tpch_data: Option<PathBuf>,
    /// Files: paths, or names of the files the datafusion-sqllogictest crate ships.
    #[arg(required = true)]
    files: Vec<String>,
}

/// The facade as sqllogictest's database: one `Unifier` per file.
struct Gated {
    unifier: Unifier,
    /// The temporary root, as DataFusion prints paths (no leading `/`): shown as
    /// `WORKSPACE_ROOT`, as DataFusion's runner shows its checkout.
    root: String,
}

#[async_trait]
impl sqllogictest::AsyncDB for Gated {
    type Error = Error;
    type ColumnType = DFColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DFColumnType>, Error> {
        let query = match self.unifier.compile(sql, Params::None).await? {
            Compiled::Denied(denied) => {
                let reasons: Vec<String> = denied
                    .report
                    .verdict
                    .violations()
                    .iter()
                    .map(|v| format!("{}: {}", v.code.as_str(), v.message))
                    .collect();
                return Err(Error::Denied(reasons.join("; ")));
            }
            Compiled::Allowed(query) => query,
        };
        match self.unifier.execute(&query).await? {
            ExecutionResult::Table {
                schema, batches, ..
            } => rows(&schema, batches, &self.root),
            ExecutionResult::Write { summary, .. } => Ok(DBOutput::Rows {
                types: vec![DFColumnType::Integer],
                rows: vec![vec![summary.rows.to_string()]],
            }),
            ExecutionResult::Reader { .. } => Err(Error::Convert(
                "execute returned a stream where rows were expected".into(),
            )),
        }
    }

    fn engine_name(&self) -> &str {
        "unifier"
    }

    async fn sleep(duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }

    async fn shutdown(&mut self) {}
}

/// An error in the form DataFusion's runner prints, so the files' expected-error
/// patterns can be held against it: the engine's own error (`DataFusion error: …`) when
/// the facade's error wraps one; an error of unifier's parser in DataFusion's parser form
/// (`SQL error: ParserError("…")`, capitalized, with sqlparser's ` at Line: L, Column: C`
/// on `Expected:` messages); otherwise the facade's own text.
fn as_datafusion_shows_it(error: &unifier::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        use unifier::datafusion::error::DataFusionError;
        // The facade keeps engine errors boxed: `Box<DataFusionError>` is the source.
        let df = e
            .downcast_ref::<DataFusionError>()
            .or_else(|| e.downcast_ref::<Box<DataFusionError>>().map(|b| &**b));
        if let Some(df) = df {
            return format!("DataFusion error: {df}");
        }
        source = e.source();
    }
    if let unifier::Error::Policy(policy) = error
        && let Some(sql) = policy.sql_errors().first()
        && sql.code.as_str() == "parse_error"
    {
        let mut message = sql.message.clone();
        if let Some(first) = message.get(..1) {
            message = first.to_uppercase() + &message[1..];
        }
        if message.starts_with("Expected") {
            message = format!(
                "{message} at Line: {}, Column: {}",
                sql.position.line, sql.position.column
            );
        }
        return format!("DataFusion error: SQL error: ParserError({message:?})");
    }
    unifier::error_chain(error)
}

/// Rows in sqllogictest's text form, as DataFusion's own engine makes them.
fn rows(
    schema: &unifier::arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
    root: &str,
) -> Result<DBOutput<DFColumnType>, Error> {
    let types = convert_schema_to_types(schema.fields());
    let mut rows =
        convert_batches(schema, batches, false).map_err(|e| Error::Convert(e.to_string()))?;
    for cell in rows.iter_mut().flatten() {
        if cell.contains(root) {
            *cell = cell.replace(root, "WORKSPACE_ROOT");
        }
    }
    if rows.is_empty() && types.is_empty() {
        Ok(DBOutput::StatementComplete(0))
    } else {
        Ok(DBOutput::Rows { types, rows })
    }
}

/// The profile a file runs under: the policy named, DataFusion's runner's partitions.
fn profile(policy: &str, rules: bool) -> Result<UnifierProfile, Error> {
    let policy = match policy {
        "admin" => PolicyProfile::preset(Preset::Admin),
        "writer" => PolicyProfile::preset(Preset::Writer),
        "read_only" => PolicyProfile::preset(Preset::ReadOnly),
        path => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.into(),
                source,
            })?;
            PolicyProfile::from_toml(&text, path).map_err(|e| Error::Usage(e.to_string()))?
        }
    };
    let mut profile = UnifierProfile {
        policy,
        ..UnifierProfile::default()
    };
    // DataFusion's runner plans with 4 partitions: EXPLAIN output stays comparable.
    profile.scan.target_partitions = 4;
    profile.runtime.ordered_concat = rules;
    profile.runtime.decode_join_filters = rules;
    // No events on disk; the audit trail of a conformance run stays in memory.
    profile.diagnostics.dir = None;
    Ok(profile)
}

/// The shipped `test_files` folder of the datafusion-sqllogictest crate: where
/// `UNIFIER_SLT_TEST_FILES` says (`cargo xtask slt` sets it from `cargo metadata`), else
/// looked up in cargo's registry sources.
fn shipped_test_files() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("UNIFIER_SLT_TEST_FILES") {
        return Some(PathBuf::from(dir));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let sources = std::fs::read_dir(cargo_home.join("registry/src")).ok()?;
    sources.flatten().find_map(|index| {
        let dir = index
            .path()
            .join(format!("datafusion-sqllogictest-{DATAFUSION_SQLLOGICTEST}"))
            .join("test_files");
        dir.is_dir().then_some(dir)
    })
}

/// The version of the datafusion-sqllogictest crate this runner links.
const DATAFUSION_SQLLOGICTEST: &str = "55.2.0";

fn resolve_file(name: &str) -> Result<PathBuf, Error> {
    let path = PathBuf::from(name);
    if path.is_file() {
        return Ok(path);
    }
    let shipped =
        shipped_test_files().ok_or_else(|| Error::Usage(format!("`{name}` is not a file")))?;
    let candidate = shipped.join(if name.ends_with(".slt") {
        name.to_owned()
    } else {
        format!("{name}.slt")
    });
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(Error::Usage(format!(
            "`{name}` is neither a file nor one of the shipped test files in {}",
            shipped.display()
        )))
    }
}

/// A temporary root laid out like DataFusion's repository, the data linked in, and the
/// working directory a file runs in.
fn workspace_for(
    data: &Path,
    tpch: Option<&Path>,
    file: &Path,
) -> Result<(tempfile::TempDir, PathBuf), Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let root = tempfile::tempdir().map_err(io(Path::new("temporary directory")))?;
    let link = |from: &Path, to: &Path| -> Result<(), Error> {
        if from.exists() {
            std::fs::create_dir_all(to.parent().unwrap_or(to)).map_err(io(to))?;
            std::os::unix::fs::symlink(from, to).map_err(io(to))?;
        }
        Ok(())
    };
    link(&data.join("testing"), &root.path().join("testing"))?;
    link(
        &data.join("parquet-testing"),
        &root.path().join("parquet-testing"),
    )?;
    link(
        &data.join("datafusion/core/tests/data"),
        &root.path().join("datafusion/core/tests/data"),
    )?;
    let cwd = root.path().join("datafusion/sqllogictest");
    if let Some(tpch) = tpch {
        link(tpch, &cwd.join("test_files/tpch/data"))?;
    }
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("file")
        .to_owned();
    let scratch = cwd.join("test_files/scratch").join(stem);
    std::fs::create_dir_all(&scratch).map_err(io(&scratch))?;
    // Files that include `.slt.part` files next to them read them relative to their own
    // folder: link the shipped folder's siblings in.
    if let Some(parent) = file.parent()
        && let Ok(entries) = std::fs::read_dir(parent)
    {
        let here = cwd.join("test_files").join(
            parent
                .strip_prefix(shipped_test_files().unwrap_or_default())
                .unwrap_or(Path::new("")),
        );
        std::fs::create_dir_all(&here).map_err(io(&here))?;
        for entry in entries.flatten() {
            let target = here.join(entry.file_name());
            if !target.exists() && entry.file_name() != "scratch" {
                let _ = std::os::unix::fs::symlink(entry.path(), &target);
            }
        }
    }
    Ok((root, cwd))
}

/// Files under `dir`, recursively.
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() { count_files(&path) } else { 1 }
            })
            .sum()
    })
}

/// `file: N passed, M failed` lines of a baseline.
fn read_expectations(path: &Path) -> Result<Vec<(String, usize, usize)>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut expected = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once(": ").and_then(|(name, counts)| {
            let (passed, failed) = counts.split_once(" passed, ")?;
            let failed = failed.split_whitespace().next()?;
            Some((name.to_owned(), passed.parse().ok()?, failed.parse().ok()?))
        });
        match parsed {
            Some(entry) => expected.push(entry),
            None => {
                return Err(Error::Usage(format!(
                    "{}: `{line}` is not `file: N passed, M failed`",
                    path.display()
                )));
            }
        }
    }
    Ok(expected)
}

/// Outcome of one file.
#[derive(Debug, Default)]
struct Tally {
    passed: usize,
    failed: usize,
    /// Failures that were the policy's refusals (nothing ran).
    denied: usize,
    /// Files the file's records left under its scratch folder.
    written: usize,
    failures: Vec<String>,
}

async fn run_file(args: &Args, data: &Path, file: &Path) -> Result<Tally, Error> {
    let (root, cwd) = workspace_for(data, args.tpch_data.as_deref(), file)?;
    let scratch = cwd
        .join("test_files/scratch")
        .join(file.file_stem().and_then(|s| s.to_str()).unwrap_or("file"));
    let shown_root = root
        .path()
        .to_string_lossy()
        .trim_start_matches('/')
        .to_owned();
    let absolute = file.canonicalize().map_err(|source| Error::Io {
        path: file.to_owned(),
        source,
    })?;
    std::env::set_current_dir(&cwd).map_err(|source| Error::Io {
        path: cwd.clone(),
        source,
    })?;
    let records: Vec<Record<DFColumnType>> =
        sqllogictest::parse_file(&absolute).map_err(|e| Error::Parse {
            path: absolute.clone(),
            message: e.to_string(),
        })?;
    let profile = profile(&args.policy, args.rules)?;
    let unifier = Unifier::new(profile)?;
    let mut runner = sqllogictest::Runner::new(move || {
        let unifier = unifier.clone();
        let root = shown_root.clone();
        async move { Ok(Gated { unifier, root }) }
    });
    runner.add_label("Datafusion");
    runner.with_column_validator(sqllogictest::strict_column_validator);
    runner.with_normalizer(value_normalizer);
    runner.with_validator(df_value_validator);
    let mut tally = Tally::default();
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        let counts = matches!(record, Record::Query { .. } | Record::Statement { .. });
        match runner.run_async(record).await {
            Ok(_) if counts => tally.passed += 1,
            Ok(_) => {}
            Err(e) => {
                tally.failed += 1;
                let text = e.to_string();
                if text.contains("denied by the policy:") {
                    tally.denied += 1;
                }
                tally.failures.push(text);
            }
        }
    }
    tally.written = count_files(&scratch);
    Ok(tally)
}

/// The eight TPC-H tables at scale factor 0.1 as dbgen's `.tbl` files (`|` after every
/// field), written into `dir` unless they are all there.
fn tpch_tbl(dir: &Path) -> Result<(), Error> {
    use std::io::Write;
    const SF: f64 = 0.1;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let write = |name: &str, lines: &mut dyn Iterator<Item = String>| -> Result<(), Error> {
        let path = dir.join(format!("{name}.tbl"));
        if path.exists() {
            return Ok(());
        }
        let partial = dir.join(format!("{name}.tbl.partial"));
        let file = std::fs::File::create(&partial).map_err(io(&partial))?;
        let mut out = std::io::BufWriter::new(file);
        for line in lines {
            writeln!(out, "{line}").map_err(io(&partial))?;
        }
        out.flush().map_err(io(&partial))?;
        std::fs::rename(&partial, &path).map_err(io(&path))
    };
    for table in unifier_tpch::TABLES {
        let mut lines = unifier_tpch::tbl_lines(table, SF).expect("a TPC-H table");
        write(table, &mut lines)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let needs_tpch = args.files.iter().any(|f| f.contains("tpch"));
    if let Some(dir) = args.tpch_data.as_ref().filter(|_| needs_tpch)
        && let Err(e) = tpch_tbl(dir)
    {
        eprintln!("error: cannot write the TPC-H data: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Everything resolved before the first file changes the working directory.
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from("testdata/conformance"));
    let data = match data.canonicalize() {
        Ok(data) => data,
        Err(e) => {
            eprintln!("error: --data {}: {e}", data.display());
            return ExitCode::from(2);
        }
    };
    let mut files = Vec::with_capacity(args.files.len());
    for name in &args.files {
        match resolve_file(name).and_then(|f| {
            f.canonicalize()
                .map_err(|source| Error::Io { path: f, source })
        }) {
            Ok(file) => files.push((name, file)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let expectations = match args.expect.as_deref().map(read_expectations).transpose() {
        Ok(e) => e.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0, 0);
    let mut broken = false;
    let mut regressions = Vec::new();
    for (name, file) in files {
        match runtime.block_on(run_file(&args, &data, &file)) {
            Ok(tally) => {
                let mut line = format!("{name}: {} passed, {} failed", tally.passed, tally.failed);
                if tally.denied > 0 {
                    line.push_str(&format!(" ({} denied by the policy)", tally.denied));
                }
                if tally.written > 0 {
                    line.push_str(&format!("; {} files written under scratch", tally.written));
                }
                println!("{line}");
                if args.verbose {
                    for failure in &tally.failures {
                        println!("  {}", failure.replace('\n', "\n  "));
                    }
                }
                if let Some((_, want_passed, want_failed)) =
                    expectations.iter().find(|(n, _, _)| n == name)
                    && (tally.passed < *want_passed || tally.failed > *want_failed)
                {
                    regressions.push(format!(
                        "{name}: {} passed, {} failed; the baseline says {want_passed} passed, {want_failed} failed",
                        tally.passed, tally.failed
                    ));
                }
                passed += tally.passed;
                failed += tally.failed;
            }
            Err(e) => {
                println!("{name}: not run: {e}");
                broken = true;
            }
        }
    }
    println!("total: {passed} passed, {failed} failed");
    for regression in &regressions {
        println!("regression: {regression}");
    }
    // With a baseline, the run fails on regressions only; without one, on any failure.
    let failing = if args.expect.is_some() {
        !regressions.is_empty()
    } else {
        failed > 0
    };
    if failing || broken {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
