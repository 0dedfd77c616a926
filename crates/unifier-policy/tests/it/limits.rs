//! Hard limits: too long, too deep, never a panic or a stack overflow.

use unifier_policy::{ErrorCode, ErrorLevel, Policy, Preset, SqlDialect};

use crate::{policy, tuned};

fn error_of(policy: &Policy, sql: &str) -> (ErrorCode, u64, u64) {
    let error = policy.check(sql).expect_err("must be an error");
    let first = &error.sql_errors()[0];
    (first.code, first.position.line, first.position.column)
}

/// Runs `f` on a thread with a small stack, as a library caller might.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .expect("no panic, no overflow");
}

#[test]
fn too_long_points_at_the_limit() {
    let policy = tuned(Preset::ReadOnly, |p| p.max_sql_bytes = 16);
    assert_eq!(
        error_of(&policy, "SELECT a,\n b, c, d FROM t"),
        (ErrorCode::TooLong, 2, 7)
    );
    assert!(policy.check("SELECT 1").is_ok());
}

#[test]
fn a_hundred_thousand_nested_parentheses_are_too_deep() {
    on_small_stack(|| {
        let policy = policy(Preset::ReadOnly, SqlDialect::Generic);
        let sql = format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000));
        // The 65th parenthesis is the first one too many; it sits at column 8 + 64.
        assert_eq!(error_of(&policy, &sql), (ErrorCode::TooDeep, 1, 72));
        let unbalanced = format!("SELECT {}", "(".repeat(100_000));
        assert_eq!(error_of(&policy, &unbalanced).0, ErrorCode::TooDeep);
    });
}

#[test]
fn nested_types_and_arrays_are_too_deep_not_a_crash() {
    on_small_stack(|| {
        let policy = policy(Preset::ReadOnly, SqlDialect::Generic);
        let types = format!(
            "SELECT CAST(x AS {}INT{})",
            "ARRAY<".repeat(20_000),
            ">".repeat(20_000)
        );
        // The `(` of CAST counts too: the 64th `<` is one too many, at column 18 + 6 * 63 + 5.
        assert_eq!(
            error_of(&policy, &types),
            (ErrorCode::TooDeep, 1, 18 + 6 * 63 + 5)
        );
        let arrays = format!("SELECT {}1{}", "ARRAY[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(error_of(&policy, &arrays).0, ErrorCode::TooDeep);
        for dialect in [
            SqlDialect::Generic,
            SqlDialect::Postgresql,
            SqlDialect::Duckdb,
        ] {
            let policy = crate::policy(Preset::ReadOnly, dialect);
            let subscripts = format!("SELECT a{}", "[1]".repeat(100_000));
            assert_eq!(
                error_of(&policy, &subscripts),
                (ErrorCode::TooDeep, 1, 9 + 3 * 64)
            );
            let array_type = format!("SELECT CAST(x AS INT{})", "[]".repeat(100_000));
            assert_eq!(error_of(&policy, &array_type).0, ErrorCode::TooDeep);
        }
        let path = format!("SELECT {}b", "a.".repeat(100_000));
        assert!(policy.check(&path).is_err());
    });
    // Shallow nested types and comparisons are fine.
    let policy = policy(Preset::ReadOnly, SqlDialect::Generic);
    let sql = "SELECT CAST(x AS ARRAY<ARRAY<INT>>) FROM t WHERE a < b AND c < d AND e < f";
    assert!(policy.check(sql).unwrap().verdict.is_allow());
    let sql = "SELECT a[1][2][3], b[1] FROM t";
    assert!(policy.check(sql).unwrap().verdict.is_allow());
}

#[test]
fn deep_trees_without_brackets_are_too_deep_not_a_crash() {
    on_small_stack(|| {
        let policy = tuned(Preset::ReadOnly, |p| p.max_sql_bytes = 64 << 20);
        let cases = [
            format!("SELECT 1 WHERE {}", vec!["a = 1"; 200_000].join(" AND ")),
            format!("SELECT {}1", "NOT ".repeat(100_000)),
            format!("SELECT {}1", "- ".repeat(100_000)),
            vec!["SELECT 1"; 50_000].join(" UNION ALL "),
            format!("{}SELECT 1", "EXPLAIN ".repeat(10_000)),
            format!(
                "SELECT {}1{}",
                "CASE WHEN a THEN ".repeat(5_000),
                " END".repeat(5_000)
            ),
        ];
        let got: Vec<ErrorCode> = cases.iter().map(|sql| error_of(&policy, sql).0).collect();
        // sqlparser backtracks over `NOT` and `CASE`, so its recursion limit surfaces as a parse error
        // there; what matters is that it is an error and not a crash.
        use ErrorCode::{ParseError, TooDeep};
        assert_eq!(
            got,
            [TooDeep, ParseError, TooDeep, TooDeep, TooDeep, ParseError]
        );
    });
}

#[test]
fn depth_within_the_limit_passes() {
    let policy = policy(Preset::ReadOnly, SqlDialect::Generic);
    let sql = format!("SELECT {}1{}", "(".repeat(20), ")".repeat(20));
    assert!(policy.check(&sql).unwrap().verdict.is_allow());
    let sql = format!("SELECT 1 WHERE {}", vec!["a = 1"; 20].join(" OR "));
    assert!(policy.check(&sql).unwrap().verdict.is_allow());
}

#[test]
fn parse_errors_have_positions_and_carets() {
    let policy = policy(Preset::ReadOnly, SqlDialect::Generic);
    let error = policy.check("SELECT a\nFROM t\nWHERE").unwrap_err();
    let e = &error.sql_errors()[0];
    assert_eq!(
        (e.code, e.position.line, e.position.column),
        (ErrorCode::ParseError, 3, 6)
    );
    insta::assert_snapshot!(e.snippet, @r"
      |
    3 | WHERE
      |      ^
    ");
    assert_eq!(
        error_of(&policy, "SELECT 'abc"),
        (ErrorCode::ParseError, 1, 8)
    );
    assert_eq!(error_of(&policy, "   "), (ErrorCode::ParseError, 1, 4));
    assert_eq!(
        error_of(&policy, "SELECT 1 SELECT 2"),
        (ErrorCode::ParseError, 1, 10)
    );
}

#[test]
fn collect_reports_every_broken_statement() {
    let policy = tuned(Preset::ReadOnly, |p| {
        p.error_level = ErrorLevel::Collect;
        p.max_statements = 10;
    });
    let error = policy
        .check("SELECT 1;\nSELEC 2;\nSELECT 3;\nSELECT 1 +;\nSELECT 5")
        .unwrap_err();
    let lines: Vec<u64> = error.sql_errors().iter().map(|e| e.position.line).collect();
    assert_eq!(lines, [2, 4]);
    assert!(error.to_string().contains("(and 1 more)"), "{error}");

    let raise = crate::policy(Preset::ReadOnly, SqlDialect::Generic);
    let error = raise.check("SELEC 2;\nSELECT 1 +;").unwrap_err();
    assert_eq!(error.sql_errors().len(), 1);
}

#[test]
fn max_statements_counts_statements_not_semicolons() {
    let policy = tuned(Preset::ReadOnly, |p| p.max_statements = 2);
    assert!(
        policy
            .check("SELECT 1;; SELECT 2;")
            .unwrap()
            .verdict
            .is_allow()
    );
    let report = policy.check("SELECT 1; SELECT 2;\n SELECT 3").unwrap();
    let v = &report.verdict.violations()[0];
    assert_eq!((v.position.line, v.position.column), (2, 2));
}
