//! `cargo xtask bench policy`: the cost of the full policy check (parse + classify + gate +
//! fingerprint) of the 22 TPC-H queries, against sqlparser's bare parse of the same text,
//! both measured in this run. Prints both and the ratio (target: ratio <= 1.5).

use std::hint::black_box;
use std::time::{Duration, Instant};

use unifier_policy::sqlparser::dialect::GenericDialect;
use unifier_policy::sqlparser::parser::Parser;
use unifier_policy::{Policy, Preset};

const ROUNDS: usize = 15;
const ITERATIONS: usize = 40;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/tpch/queries");
    let queries: Vec<String> = (1..=22)
        .map(|n| std::fs::read_to_string(format!("{dir}/q{n}.sql")))
        .collect::<Result<_, _>>()?;
    let policy = Policy::new(Preset::ReadOnly.profile())?;
    for q in &queries {
        let report = policy.check(q)?;
        assert!(report.verdict.is_allow(), "{:?}", report.verdict);
    }

    let bare = || {
        for q in &queries {
            black_box(Parser::parse_sql(&GenericDialect {}, black_box(q)).unwrap());
        }
    };
    let full = || {
        for q in &queries {
            black_box(policy.check(black_box(q)).unwrap());
        }
    };
    // Warm up, then alternate the two so drift on the machine hits both alike.
    for _ in 0..ITERATIONS {
        bare();
        full();
    }
    let (mut bare_samples, mut full_samples) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            bare();
        }
        bare_samples.push(start.elapsed() / ITERATIONS as u32);
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            full();
        }
        full_samples.push(start.elapsed() / ITERATIONS as u32);
    }
    let bare = median(bare_samples);
    let full = median(full_samples);
    let ratio = full.as_secs_f64() / bare.as_secs_f64();
    println!(
        "bench policy: 22 TPC-H queries per iteration, median of {ROUNDS} rounds x {ITERATIONS} iterations"
    );
    println!(
        "  baseline  sqlparser parse (generic)              {:>10.1} us",
        bare.as_secs_f64() * 1e6
    );
    println!(
        "  unifier   parse+classify+gate+fingerprint        {:>10.1} us",
        full.as_secs_f64() * 1e6
    );
    println!(
        "  ratio     {ratio:.2} (target <= 1.25) {}",
        if ratio <= 1.25 { "ok" } else { "OVER TARGET" }
    );
    // What the facade adds per statement for events: the normalized text.
    let checked: Vec<_> = queries
        .iter()
        .map(|q| policy.check(q))
        .collect::<Result<_, _>>()?;
    let one = policy.check("SELECT 1")?;
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            f();
        }
        start.elapsed() / ITERATIONS as u32
    };
    let normalize_all = time(&|| {
        for report in &checked {
            for s in &report.statements {
                black_box(unifier_policy::normalize(&s.statement));
            }
        }
    });
    let normalize_one = time(&|| {
        for _ in 0..1000 {
            black_box(unifier_policy::normalize(&one.statements[0].statement));
        }
    });
    let check_one = time(&|| {
        for _ in 0..1000 {
            black_box(policy.check(black_box("SELECT 1")).unwrap());
        }
    });
    println!(
        "  normalize the 22 texts                       {:>10.1} us ({:.0} % of the check)",
        normalize_all.as_secs_f64() * 1e6,
        100.0 * normalize_all.as_secs_f64() / full.as_secs_f64()
    );
    println!(
        "  SELECT 1: check {:.2} us, normalize {:.2} us",
        check_one.as_secs_f64() * 1e6 / 1000.0,
        normalize_one.as_secs_f64() * 1e6 / 1000.0
    );
    Ok(())
}
