//! The table of statements: verdict, codes and classes, across dialects and presets.

use unifier_policy::{Preset, SqlDialect};

use crate::policy;

use Preset::{Admin as A, ReadOnly as R, Writer as W};
use SqlDialect::{
    Ansi, Bigquery, Clickhouse, Databricks, Duckdb, Generic as G, Hive, Mssql, Mysql, Postgresql,
    Redshift, Snowflake, Sqlite,
};

/// `expect` is `allow <classes>`, `deny <codes> | <classes>` or `error <code>`, with
/// comma-separated lists in sorted order.
#[rustfmt::skip]
pub(crate) const CASES: &[(SqlDialect, Preset, &str, &str)] = &[
    // Benign queries: CTEs, subqueries, windows, set operations.
    (G, R, "SELECT 1", "allow query"),
    (G, R, "SELECT a, b FROM t WHERE a > 1 ORDER BY b DESC LIMIT 10", "allow query"),
    (G, R, "WITH x AS (SELECT a FROM t) SELECT * FROM x", "allow query"),
    (G, R, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r", "allow query"),
    (G, R, "SELECT a FROM t WHERE b IN (SELECT b FROM s WHERE s.c = t.c)", "allow query"),
    (G, R, "SELECT EXISTS (SELECT 1 FROM s)", "allow query"),
    (G, R, "SELECT a, row_number() OVER (PARTITION BY b ORDER BY c) FROM t", "allow query"),
    (G, R, "SELECT a, sum(x) OVER (ORDER BY d ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM t", "allow query"),
    (G, R, "SELECT a FROM t UNION SELECT a FROM s", "allow query"),
    (G, R, "SELECT a FROM t INTERSECT SELECT a FROM s EXCEPT SELECT a FROM u", "allow query"),
    (G, R, "VALUES (1, 'a'), (2, 'b')", "allow query"),
    (G, R, "SELECT * FROM t1 JOIN t2 ON t1.id = t2.id LEFT JOIN t3 USING (id)", "allow query"),
    (G, R, "SELECT CASE WHEN a > 0 THEN 'p' ELSE 'n' END FROM t", "allow query"),
    (G, R, "SELECT count(DISTINCT a) FILTER (WHERE b > 0) FROM t GROUP BY ROLLUP (c, d) HAVING count(*) > 1", "allow query"),
    (G, R, "SELECT a FROM (SELECT a FROM t) AS sub WHERE a IS NOT NULL", "allow query"),
    (G, R, "SELECT 1;", "allow query"),
    (Postgresql, R, "SELECT a::text, b->>'k' FROM t", "allow query"),
    (Mysql, R, "SELECT `a` FROM `db`.`t` LIMIT 5", "allow query"),
    (Bigquery, R, "SELECT * FROM `proj.ds.t`", "allow query"),
    (Duckdb, R, "SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1", "allow query"),
    (Hive, R, "SELECT a FROM t DISTRIBUTE BY a", "allow query"),
    (Redshift, R, "SELECT a FROM t WHERE a ILIKE 'x%'", "allow query"),
    (Sqlite, R, "SELECT a FROM t LIMIT 1 OFFSET 2", "allow query"),
    (Ansi, R, "SELECT a FROM t WHERE a BETWEEN 1 AND 2", "allow query"),
    (Mssql, R, "SELECT [a] FROM [t]", "allow query"),
    (Snowflake, R, "SELECT a:b FROM t", "allow query"),
    (Databricks, R, "SELECT a FROM t WHERE a > 1", "allow query"),
    (Clickhouse, R, "SELECT a FROM t WHERE a > 1", "allow query"),
    // SHOW, DESCRIBE, EXPLAIN.
    (G, R, "SHOW TABLES", "allow query"),
    (G, R, "SHOW COLUMNS FROM t", "allow query"),
    (G, R, "DESCRIBE t", "allow query"),
    (G, R, "EXPLAIN SELECT 1", "allow query"),
    (G, R, "EXPLAIN ANALYZE SELECT count(*) FROM t", "allow query"),
    (G, R, "EXPLAIN VERBOSE SELECT 1", "allow query"),
    (G, R, "EXPLAIN FORMAT tree SELECT 1", "allow query"),
    (Postgresql, R, "EXPLAIN (ANALYZE, FORMAT indent) SELECT 1", "allow query"),
    (G, R, "EXPLAIN (SELECT 1)", "allow query"),
    // Constructs DataFusion 55 cannot run.
    (Mssql, R, "SELECT TOP 5 a FROM t", "deny unsupported | query"),
    (Clickhouse, R, "SELECT a FROM t PREWHERE b > 1", "deny unsupported | query"),
    (Hive, R, "SELECT a FROM t LATERAL VIEW explode(arr) x AS y", "deny unsupported | query"),
    (G, R, "SELECT a FROM t FETCH FIRST 3 ROWS ONLY", "deny unsupported | query"),
    (Postgresql, R, "SELECT * FROM t FOR UPDATE", "deny unsupported | query"),
    (Hive, R, "SELECT a FROM t SORT BY a", "deny unsupported | query"),
    // DML: needs writer; disguised forms are found.
    (G, R, "INSERT INTO t VALUES (1)", "deny class_denied | dml"),
    (G, W, "INSERT INTO t VALUES (1)", "allow dml"),
    (G, W, "INSERT INTO t SELECT * FROM s", "allow dml"),
    (G, W, "UPDATE t SET a = 1 WHERE b = 2", "allow dml"),
    (G, W, "DELETE FROM t WHERE a = 1", "allow dml"),
    (G, W, "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT (id, a) VALUES (s.id, s.a)", "allow dml"),
    (G, W, "TRUNCATE TABLE t", "allow dml"),
    (G, R, "TRUNCATE TABLE t", "deny class_denied | dml"),
    (Postgresql, R, "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "deny class_denied | query,dml"),
    (Postgresql, R, "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", "deny class_denied | query,dml"),
    (G, R, "EXPLAIN ANALYZE INSERT INTO t VALUES (1)", "deny class_denied | dml"),
    (G, R, "EXPLAIN INSERT INTO t VALUES (1)", "deny class_denied | dml"),
    (G, R, "SELECT * FROM (SELECT 1) AS x WHERE EXISTS (SELECT 1) UNION ALL SELECT * FROM (VALUES (2))", "allow query"),
    (G, W, "UPDATE t SET a = s.a FROM s WHERE t.id = s.id", "deny unsupported | dml"),
    (Mysql, W, "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id", "deny unsupported | dml"),
    (G, W, "INSERT INTO \"s3://bucket/t\" VALUES (1)", "deny external_access | dml"),
    // DDL: CREATE/DROP/ALTER, CREATE TABLE AS, SELECT INTO, external tables.
    (G, R, "CREATE TABLE t (a INT)", "deny class_denied | ddl"),
    (G, W, "CREATE TABLE t AS SELECT 1", "deny class_denied | ddl"),
    (G, R, "SELECT * INTO t2 FROM t", "deny class_denied | query,ddl"),
    (G, A, "CREATE VIEW v AS SELECT 1", "allow ddl"),
    (G, A, "DROP TABLE t", "allow ddl"),
    (G, A, "CREATE SCHEMA s", "allow ddl"),
    (G, A, "DROP FUNCTION f", "allow ddl"),
    (G, A, "CREATE INDEX i ON t (a)", "allow ddl"),
    (G, A, "ALTER TABLE t ADD COLUMN b INT", "deny unsupported | ddl"),
    (G, A, "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/data/t'", "allow ddl"),
    (G, R, "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/data/t'", "deny class_denied,external_access | ddl"),
    (G, A, "CREATE OR REPLACE EXTERNAL TABLE t (a INT) STORED AS CSV OPTIONS ('format.has_header' 'true') LOCATION '/data/t.csv'", "allow ddl"),
    (G, A, "CREATE UNBOUNDED EXTERNAL TABLE t (a INT) STORED AS CSV LOCATION 'x.csv'", "allow ddl"),
    (G, A, "CREATE EXTERNAL TABLE t (a INT, b INT) STORED AS CSV PARTITIONED BY (b) WITH ORDER (a ASC NULLS FIRST) LOCATION ('/d/1', '/d/2')", "allow ddl"),
    (Hive, A, "CREATE EXTERNAL TABLE t (a INT) LOCATION '/x'", "error parse_error"),
    (G, A, "CREATE EXTERNAL TABLE t STORED AS CSV WITH HEADER ROW LOCATION 'x'", "error parse_error"),
    // COPY: needs admin, and its target is external access.
    (G, A, "COPY (SELECT 1) TO '/tmp/o.parquet' STORED AS PARQUET", "allow copy"),
    (G, A, "COPY t TO '/tmp/o' STORED AS CSV PARTITIONED BY (p) OPTIONS ('format.has_header' true)", "allow copy"),
    (G, R, "COPY (SELECT 1) TO 'x.parquet'", "deny class_denied,external_access | copy"),
    (G, W, "COPY t TO '/tmp/x.csv'", "deny class_denied,external_access | copy"),
    (Postgresql, A, "COPY t FROM '/tmp/x.csv'", "error parse_error"),
    (Snowflake, A, "COPY INTO t FROM @stage", "deny unsupported | copy"),
    // The audit trail: only where the policy reads diagnostics (admin).
    (G, R, "SELECT * FROM diagnostics.events", "deny diagnostics_denied | query"),
    (G, W, "SELECT 1 FROM t WHERE id IN (SELECT event_id FROM Diagnostics.Policy)", "deny diagnostics_denied | query"),
    (G, R, "SELECT * FROM \"diagnostics\".events", "deny diagnostics_denied | query"),
    (G, R, "SELECT * FROM \"Diagnostics\".events", "allow query"),
    (G, A, "SELECT * FROM datafusion.diagnostics.events", "allow query"),
    (G, R, "SELECT * FROM diagnostics_copy", "allow query"),
    // SET, RESET, transactions, PREPARE.
    (G, R, "SET datafusion.execution.batch_size = 1024", "deny class_denied | set"),
    (G, A, "SET datafusion.execution.batch_size = 1024", "allow set"),
    (G, A, "RESET datafusion.execution.batch_size", "allow set"),
    (G, W, "RESET datafusion.execution.batch_size", "deny class_denied | set"),
    (G, R, "START TRANSACTION", "deny class_denied | transaction"),
    (G, A, "BEGIN", "allow transaction"),
    (G, A, "COMMIT", "allow transaction"),
    (G, R, "PREPARE p AS SELECT 1", "deny class_denied | query,prepare"),
    (G, A, "PREPARE p AS DELETE FROM t", "allow dml,prepare"),
    (G, W, "PREPARE p AS DELETE FROM t", "deny class_denied | dml,prepare"),
    (G, A, "EXECUTE p(1)", "allow prepare"),
    (G, A, "DEALLOCATE p", "allow prepare"),
    (Mysql, A, "USE db", "deny unsupported | set"),
    // External access from queries.
    (G, R, "SELECT * FROM 'data/x.parquet'", "deny external_access | query"),
    (G, R, "SELECT * FROM \"s3://bucket/key\"", "deny external_access | query"),
    (G, A, "SELECT * FROM 'x.parquet'", "allow query"),
    (G, R, "SELECT * FROM read_parquet('x.parquet')", "deny external_access | query"),
    (G, R, "SELECT * FROM t JOIN 'y.csv' AS y ON true", "deny external_access | query"),
    (G, R, "SELECT * FROM t WHERE a IN (SELECT a FROM 'z.json')", "deny external_access | query"),
    // Other statements.
    (G, A, "GRANT SELECT ON t TO u", "deny unsupported | other"),
    (Sqlite, A, "ATTACH DATABASE 'x.db' AS x", "deny unsupported | other"),
    (Sqlite, R, "ATTACH DATABASE 'x.db' AS x", "deny class_denied,external_access,unsupported | other"),
    // Scripts.
    (G, R, "SELECT 1; SELECT 2", "deny multiple_statements | query"),
    (G, R, "SELECT 1; DELETE FROM t", "deny class_denied,multiple_statements | query,dml"),
    // Errors.
    (G, R, "", "error parse_error"),
    (G, R, "-- only a comment", "error parse_error"),
    (G, R, "SELEC 1", "error parse_error"),
    (G, R, "SELECT 'abc", "error parse_error"),
    (G, R, "SELECT 1 2", "error parse_error"),
    (G, R, "EXPLAIN FORMAT yaml SELECT 1", "error parse_error"),
    (Postgresql, R, "EXPLAIN (ANALYZE, BUFFERS) SELECT 1", "error parse_error"),
    (G, R, "COPY t TO", "error parse_error"),
];

fn describe(result: &Result<unifier_policy::PolicyReport, unifier_policy::Error>) -> String {
    match result {
        Ok(report) => {
            let classes: Vec<&str> = report.classes.iter().map(|c| c.name()).collect();
            if report.verdict.is_allow() {
                format!("allow {}", classes.join(","))
            } else {
                let mut codes: Vec<&str> = report
                    .verdict
                    .violations()
                    .iter()
                    .map(|v| v.code.as_str())
                    .collect();
                codes.sort();
                codes.dedup();
                format!("deny {} | {}", codes.join(","), classes.join(","))
            }
        }
        Err(error) => match error.sql_errors().first() {
            Some(e) => format!("error {}", e.code),
            None => format!("failure {error}"),
        },
    }
}

#[test]
fn every_case_gets_its_verdict() {
    assert!(
        CASES.len() >= 80,
        "the table must keep at least 80 statements"
    );
    let mut failures = Vec::new();
    for (dialect, preset, sql, expect) in CASES {
        let got = describe(&policy(*preset, *dialect).check(sql));
        if got != *expect {
            failures.push(format!(
                "{dialect} {preset} `{sql}`\n   expected: {expect}\n   got:      {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_violation_and_error_has_a_position_inside_the_input() {
    for (dialect, preset, sql, _) in CASES {
        let lines: Vec<&str> = sql.split('\n').collect();
        let inside = |line: u64, column: u64| {
            line >= 1
                && (line as usize) <= lines.len().max(1)
                && column >= 1
                && column as usize
                    <= lines
                        .get(line as usize - 1)
                        .map_or(0, |l| l.chars().count())
                        + 1
        };
        match policy(*preset, *dialect).check(sql) {
            Ok(report) => {
                for v in report.verdict.violations().iter().chain(&report.warnings) {
                    assert!(inside(v.position.line, v.position.column), "`{sql}`: {v}");
                }
            }
            Err(error) => {
                for e in error.sql_errors() {
                    assert!(inside(e.position.line, e.position.column), "`{sql}`: {e}");
                    assert!(e.snippet.contains('^'), "`{sql}`: {}", e.snippet);
                }
            }
        }
    }
}

#[test]
fn tpch_queries_are_allowed_read_only_queries() {
    let policy = policy(Preset::ReadOnly, SqlDialect::Generic);
    for (name, sql) in crate::tpch_queries() {
        let report = policy.check(&sql).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.verdict.is_allow(), "{name}: {:?}", report.verdict);
        assert_eq!(describe(&Ok(report)), "allow query", "{name}");
    }
}
