//! AST fingerprints: equal across layout and case, different when meaning changes.

use unifier_policy::{Preset, SqlDialect};

use crate::policy;

fn fingerprint(sql: &str) -> String {
    policy(Preset::Admin, SqlDialect::Generic)
        .check(sql)
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"))
        .ast_fingerprint
}

#[test]
fn equal_across_whitespace_comments_keyword_and_identifier_case() {
    let groups: &[&[&str]] = &[
        &[
            "SELECT a, b FROM t WHERE a > 1",
            "select a,b from t where a>1",
            "  SELECT\n\tA ,  B\nFROM T -- trailing comment\nWHERE A > 1  ",
            "/* leading */ SeLeCt a, B fRoM t WhErE a > 1;",
        ],
        &[
            "INSERT INTO t SELECT * FROM s",
            "insert   into T select * from S",
        ],
        &[
            "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/d'",
            "create external table T stored as parquet location '/d'",
        ],
        &[
            "COPY (SELECT 1) TO 'x.csv' STORED AS CSV",
            "copy (select 1) to 'x.csv' stored as csv",
        ],
        &["EXPLAIN ANALYZE SELECT 1", "explain analyze select 1"],
    ];
    for group in groups {
        let first = fingerprint(group[0]);
        for sql in &group[1..] {
            assert_eq!(fingerprint(sql), first, "`{sql}` vs `{}`", group[0]);
        }
    }
}

#[test]
fn different_when_a_literal_or_quoted_identifier_changes() {
    let pairs = [
        ("SELECT a FROM t WHERE a = 1", "SELECT a FROM t WHERE a = 2"),
        (
            "SELECT a FROM t WHERE b = 'x'",
            "SELECT a FROM t WHERE b = 'X'",
        ),
        ("SELECT \"A\" FROM t", "SELECT \"a\" FROM t"),
        ("SELECT a FROM \"T\"", "SELECT a FROM t"),
        ("SELECT a FROM t", "SELECT b FROM t"),
        ("SELECT a FROM t", "SELECT a FROM t LIMIT 1"),
        ("COPY t TO 'a.csv'", "COPY t TO 'A.csv'"),
        ("EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT 1"),
        ("SELECT 1", "SELECT 1; SELECT 1"),
    ];
    for (a, b) in pairs {
        assert_ne!(fingerprint(a), fingerprint(b), "`{a}` vs `{b}`");
    }
}

#[test]
fn fingerprints_are_lowercase_sha256_hex() {
    let fp = fingerprint("SELECT 1");
    assert_eq!(fp.len(), 64);
    assert!(
        fp.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn policy_fingerprint_tracks_the_profile_not_the_sql() {
    let read_only = policy(Preset::ReadOnly, SqlDialect::Generic);
    let writer = policy(Preset::Writer, SqlDialect::Generic);
    let a = read_only.check("SELECT 1").unwrap();
    let b = read_only.check("SELECT 2").unwrap();
    let c = writer.check("SELECT 1").unwrap();
    assert_eq!(a.policy_fingerprint, b.policy_fingerprint);
    assert_ne!(a.policy_fingerprint, c.policy_fingerprint);
    assert_eq!(a.policy_fingerprint, read_only.fingerprint());
}
