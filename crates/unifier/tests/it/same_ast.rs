//! The statement that is checked is the statement that is planned: for every statement
//! of a corpus, the policy's AST converted for DataFusion equals what DataFusion's own
//! `DFParser` produces from the same text (a differential test against the engine).

use datafusion::sql::parser::DFParser;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use unifier::datafusion;
use unifier::policy::{Policy, Preset};

fn tpch() -> Vec<String> {
    let dir = crate::manifest_dir().join("../../testdata/tpch/queries");
    (1..=22)
        .map(|i| std::fs::read_to_string(dir.join(format!("q{i}.sql"))).unwrap())
        .collect()
}

const DATAFUSION_STATEMENTS: &[&str] = &[
    "CREATE EXTERNAL TABLE t (a INT, b VARCHAR) STORED AS CSV LOCATION '/data/t.csv' OPTIONS ('format.has_header' 'true')",
    "CREATE UNBOUNDED EXTERNAL TABLE IF NOT EXISTS s STORED AS PARQUET PARTITIONED BY (y) WITH ORDER (a ASC NULLS FIRST) LOCATION 's3://b/k/'",
    "CREATE OR REPLACE EXTERNAL TABLE u (x BIGINT NOT NULL) STORED AS JSON LOCATION '/j'",
    "COPY t TO '/out/t.parquet' STORED AS PARQUET",
    "COPY (SELECT a, count(*) FROM t GROUP BY a) TO '/out/x' STORED AS CSV PARTITIONED BY (a) OPTIONS ('format.has_header' 'false')",
    "EXPLAIN SELECT 1",
    "EXPLAIN ANALYZE VERBOSE SELECT a FROM t",
    "EXPLAIN FORMAT tree SELECT a FROM t WHERE a > 1",
    "EXPLAIN EXPLAIN SELECT 1",
    "RESET datafusion.execution.batch_size",
    "SET datafusion.execution.target_partitions = 4",
    "SELECT a, b FROM t WHERE a IN (SELECT a FROM u) ORDER BY b DESC NULLS LAST LIMIT 10 OFFSET 2",
    "SELECT $1, $name, [1, 2][1], {'a': 1}, CAST(x AS DECIMAL(10, 2)) FROM t",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
    "SELECT * FROM t1 JOIN t2 USING (id) LEFT JOIN t3 ON t1.id = t3.id WHERE t2.v BETWEEN 1 AND 2",
    "INSERT INTO t SELECT * FROM u",
    "CREATE VIEW v AS SELECT 1 AS one",
    "DROP TABLE IF EXISTS t",
];

#[test]
fn the_planned_statement_is_the_parsed_statement() {
    let policy = Policy::new(Preset::Admin.profile()).unwrap();
    let corpus: Vec<String> = tpch()
        .into_iter()
        .chain(DATAFUSION_STATEMENTS.iter().map(|s| s.to_string()))
        .collect();
    for sql in &corpus {
        let report = policy.check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let theirs = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(report.statements.len(), theirs.len(), "{sql}");
        for (ours, theirs) in report.statements.iter().zip(theirs) {
            let converted = unifier::datafusion_statement(&ours.statement).unwrap();
            assert_eq!(converted, theirs, "{sql}");
        }
    }
}
