//! Canonical SQL re-parses, in the write dialect, to the same AST and fingerprint.

use unifier_policy::{Preset, SqlDialect};

use crate::cases::CASES;
use crate::policy;

fn assert_round_trip(dialect: SqlDialect, sql: &str) {
    let policy = policy(Preset::Admin, dialect);
    let Ok(first) = policy.check(sql) else { return };
    let second = policy.check(&first.canonical_sql).unwrap_or_else(|e| {
        panic!(
            "{dialect}: canonical `{}` of `{sql}` does not parse: {e}",
            first.canonical_sql
        )
    });
    assert_eq!(first.statements.len(), second.statements.len(), "{sql}");
    for (a, b) in first.statements.iter().zip(&second.statements) {
        assert_eq!(
            a.statement, b.statement,
            "{dialect}: `{sql}` -> `{}`",
            a.canonical_sql
        );
        assert_eq!(a.canonical_sql, b.canonical_sql);
    }
    assert_eq!(first.ast_fingerprint, second.ast_fingerprint, "{sql}");
}

#[test]
fn every_parsable_case_round_trips() {
    let mut checked = 0;
    for (dialect, _, sql, expect) in CASES {
        if !expect.starts_with("error") {
            assert_round_trip(*dialect, sql);
            checked += 1;
        }
    }
    assert!(checked >= 80, "{checked}");
}

#[test]
fn datafusion_statements_round_trip_with_every_field() {
    let statements = [
        "CREATE OR REPLACE UNBOUNDED EXTERNAL TABLE s.t (a INT NOT NULL, b VARCHAR, PRIMARY KEY (a)) STORED AS CSV PARTITIONED BY (b) WITH ORDER (a DESC NULLS LAST) WITH ORDER (b) OPTIONS ('format.has_header' 'true', format.delimiter ';', 'k' 5) LOCATION ('/a', '/b')",
        "CREATE EXTERNAL TEMPORARY TABLE IF NOT EXISTS t STORED AS PARQUET PARTITIONED BY (year INT, month INT) LOCATION 's3://b/t'",
        "CREATE EXTERNAL TABLE \"Quoted\" STORED AS \"deltatable\" LOCATION 'it''s'",
        "COPY (SELECT a FROM t WHERE b > 1) TO 'out/' STORED AS PARQUET PARTITIONED BY (a, \"B\") OPTIONS ('compression' snappy, 'x.y' 1)",
        "COPY s.t TO 'x.csv'",
        "EXPLAIN ANALYZE VERBOSE FORMAT tree SELECT 1",
        "EXPLAIN (ANALYZE, VERBOSE false, FORMAT 'pgjson', METRICS 'rows,bytes', LEVEL dev, COSTS OFF) SELECT 1",
        "EXPLAIN COPY t TO 'x.parquet'",
        "EXPLAIN EXPLAIN SELECT 1",
        "RESET datafusion.execution.batch_size",
        "RESET 'odd key'.x",
    ];
    for sql in statements {
        assert_round_trip(SqlDialect::Generic, sql);
        assert_round_trip(SqlDialect::Postgresql, sql);
    }
}

#[test]
fn tpch_queries_round_trip() {
    for (_, sql) in crate::tpch_queries() {
        assert_round_trip(SqlDialect::Generic, &sql);
    }
}
