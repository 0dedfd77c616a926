//! `cargo xtask fuzz [--minutes N]`: the policy check (parse, classify, gate, canonicalize,
//! normalize) fed generated and damaged statements for N minutes (default 10), in four
//! dialects, on a thread with a tokio worker's 2 MiB stack. A panic, a stack overflow (the
//! process dies: the last input is in the trace file), a check slower than one second, or
//! a canonical text that does not read back is a finding: the input is written to
//! `target/fuzz/` and the run fails. Prints executions per second.
//!
//! (`cargo fuzz` needs a nightly toolchain, which this machine cannot fetch; the
//! generator is the one the property tests use, `tests/it/generate.rs`.)

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use unifier_policy::{Policy, Preset, SqlDialect, normalize};

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/generate.rs"]
mod generate;

const DIALECTS: [SqlDialect; 4] = [
    SqlDialect::Generic,
    SqlDialect::Postgresql,
    SqlDialect::Mysql,
    SqlDialect::Duckdb,
];

fn policies() -> Vec<(SqlDialect, Policy)> {
    DIALECTS
        .iter()
        .map(|&dialect| {
            let mut profile = Preset::Admin.profile();
            profile.read_dialect = dialect;
            profile.write_dialect = dialect;
            (dialect, Policy::new(profile).expect("a valid profile"))
        })
        .collect()
}

/// What one input did wrong, if anything.
fn check(policies: &[(SqlDialect, Policy)], sql: &str) -> Option<String> {
    for (dialect, policy) in policies {
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| policy.check(sql));
        let took = started.elapsed();
        let report = match result {
            Err(_) => return Some(format!("{dialect}: panic")),
            Ok(Err(_)) => continue,
            Ok(Ok(report)) => report,
        };
        if took > Duration::from_secs(1) {
            return Some(format!("{dialect}: check took {took:?}"));
        }
        match policy.check(&report.canonical_sql) {
            Ok(again) if again.ast_fingerprint == report.ast_fingerprint => {}
            _ => return Some(format!("{dialect}: canonical text does not read back")),
        }
        for statement in &report.statements {
            let _ = normalize(&statement.statement);
        }
    }
    None
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let minutes: f64 = match args.as_slice() {
        [flag, n] if flag == "--minutes" => n.parse()?,
        [] => 10.0,
        _ => return Err("usage: fuzz_policy [--minutes N]".into()),
    };
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("fuzz");
    std::fs::create_dir_all(&out)?;
    let trace_path = out.join("last-input.txt");
    let deadline = Instant::now() + Duration::from_secs_f64(minutes * 60.0);

    // The generator's nested strategies need a large stack; the checks get 2 MiB.
    let (tx, rx) = mpsc::sync_channel::<Vec<String>>(4);
    let generator = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let mut runner = TestRunner::default();
            let strategy = generate::hostile();
            while Instant::now() < deadline {
                let batch: Vec<String> = (0..256)
                    .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
                    .collect();
                if tx.send(batch).is_err() {
                    break;
                }
            }
        })?;
    let checker = std::thread::Builder::new().stack_size(2 << 20).spawn(
        move || -> Result<(u64, Vec<(String, String)>), std::io::Error> {
            let policies = policies();
            let mut executed = 0u64;
            let mut findings = Vec::new();
            for batch in rx {
                for sql in batch {
                    // Written before the check: if the process dies, this is the input.
                    std::fs::write(&trace_path, &sql)?;
                    if let Some(problem) = check(&policies, &sql) {
                        findings.push((problem, sql));
                    }
                    executed += 1;
                }
            }
            Ok((executed, findings))
        },
    )?;
    let started = Instant::now();
    generator.join().map_err(|_| "the generator panicked")?;
    let (executed, findings) = checker.join().map_err(|_| "the checker died")??;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "fuzz policy: {executed} inputs x {} dialects in {seconds:.0} s: {:.0} inputs/s, {:.0} checks/s; {} findings",
        DIALECTS.len(),
        executed as f64 / seconds,
        executed as f64 * DIALECTS.len() as f64 / seconds,
        findings.len()
    );
    for (i, (problem, sql)) in findings.iter().enumerate() {
        let path = out.join(format!("finding-{i}.sql"));
        std::fs::File::create(&path)?.write_all(sql.as_bytes())?;
        println!("finding: {problem}: {}", path.display());
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(format!("{} findings", findings.len()).into())
    }
}
