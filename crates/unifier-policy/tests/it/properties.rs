//! Properties over generated statements (`generate.rs`): the check never panics on any
//! input, canonical SQL is a fixed point of parse + print, and normalization takes every
//! literal out. `cargo xtask fuzz` runs the same generator for minutes.

use proptest::prelude::*;
use unifier_policy::{Preset, SqlDialect, normalize};

use crate::generate::{hostile, statement};
use crate::policy;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

const DIALECTS: [SqlDialect; 4] = [
    SqlDialect::Generic,
    SqlDialect::Postgresql,
    SqlDialect::Mysql,
    SqlDialect::Duckdb,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn canonical_sql_is_a_fixed_point(sql in statement()) {
        for dialect in DIALECTS {
            let policy = policy(Preset::Admin, dialect);
            let Ok(first) = policy.check(&sql) else { continue };
            let second = policy.check(&first.canonical_sql);
            prop_assert!(
                second.is_ok(),
                "{dialect}: canonical `{}` of `{sql}` does not parse: {:?}",
                first.canonical_sql,
                second.err()
            );
            let second = second.unwrap();
            prop_assert_eq!(first.statements.len(), second.statements.len());
            for (a, b) in first.statements.iter().zip(&second.statements) {
                prop_assert_eq!(&a.statement, &b.statement, "{}: `{}`", dialect, sql);
                prop_assert_eq!(&a.canonical_sql, &b.canonical_sql);
            }
            prop_assert_eq!(first.ast_fingerprint, second.ast_fingerprint);
        }
    }

    #[test]
    fn normalized_text_keeps_no_literal(sql in statement()) {
        let policy = policy(Preset::Admin, SqlDialect::Generic);
        let Ok(report) = policy.check(&sql) else { return Ok(()) };
        for checked in &report.statements {
            let (text, literals) = normalize(&checked.statement);
            for literal in literals.iter().filter(|l| l.len() >= 4) {
                prop_assert!(
                    !text.contains(&format!("'{}'", literal.replace('\'', "''"))),
                    "`{literal}` left in `{text}` (from `{sql}`)"
                );
            }
        }
    }
}

/// `n` hostile inputs. Generated on a thread with a large stack: the generator's nested
/// strategies need more than a test thread's 2 MiB; the checks below do not get it.
pub(crate) fn hostile_inputs(n: usize, seed_runner: fn() -> TestRunner) -> Vec<String> {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let mut runner = seed_runner();
            let strategy = hostile();
            (0..n)
                .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
                .collect()
        })
        .expect("generator thread")
        .join()
        .expect("generator")
}

#[test]
fn the_check_never_panics_on_a_2_mib_stack() {
    let inputs = hostile_inputs(512, TestRunner::deterministic);
    // The stack of a tokio worker thread: what a service checks SQL on.
    let checked = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for sql in &inputs {
                for dialect in DIALECTS {
                    // A verdict or an error with a position inside the text.
                    if let Err(error) = policy(Preset::ReadOnly, dialect).check(sql) {
                        for e in error.sql_errors() {
                            assert!(e.position.line >= 1 && e.position.column >= 1, "{sql}");
                        }
                    }
                }
            }
            inputs.len()
        })
        .expect("check thread")
        .join()
        .expect("no panic and no stack overflow while checking");
    assert_eq!(checked, 512);
}

/// Inputs the properties found, kept as cases: sqlparser prints these quotes ambiguously,
/// so the check refuses them rather than hand on a canonical text that means something
/// else.
#[test]
fn found_by_the_properties() {
    let policy = policy(Preset::Admin, SqlDialect::Generic);
    for sql in [
        r#"SELECT a."\""x" FROM t"#,
        "SELECT abs('''''' + 0) FROM t",
        // Found by `cargo xtask fuzz` (10 minutes, 31 findings of these kinds):
        "SELECT x FROM t WHERE (a OR -\t-741063928599554926)",
        "SELECT coalesce(1, NOT: i_l) FROM f",
    ] {
        let error = policy.check(sql).expect_err(sql);
        assert_eq!(error.sql_errors()[0].code.as_str(), "parse_error", "{sql}");
        assert!(
            error.to_string().contains("does not print back as itself"),
            "{error}"
        );
    }
    // Doubled quotes that print back unambiguously still pass.
    for sql in ["SELECT 'it''s' FROM t", r#"SELECT "a""b" FROM t"#] {
        let report = policy.check(sql).expect(sql);
        let again = policy.check(&report.canonical_sql).expect("reads back");
        assert_eq!(
            report.statements[0].statement,
            again.statements[0].statement
        );
    }
}
