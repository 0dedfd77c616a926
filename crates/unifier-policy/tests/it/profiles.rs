//! Profile fields that the preset table does not exercise: locations, functions, levels.

use unifier_policy::{Policy, Preset, UnsupportedLevel, ViolationCode};

use crate::tuned;

fn admin_under(locations: &[&str]) -> Policy {
    tuned(Preset::Admin, |p| {
        p.allowed_locations = locations.iter().map(|l| (*l).to_owned()).collect();
    })
}

fn codes(policy: &Policy, sql: &str) -> Vec<ViolationCode> {
    let report = policy.check(sql).unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    report.verdict.violations().iter().map(|v| v.code).collect()
}

#[test]
fn allowed_locations_are_prefixes_after_normalization() {
    let policy = admin_under(&["/data", "s3://lake/tables"]);
    let ok = [
        "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/data/t'",
        "COPY (SELECT 1) TO '/data/out/x.parquet'",
        "SELECT * FROM '/data/x.parquet'",
        "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION 's3://lake/tables/t/'",
    ];
    for sql in ok {
        assert!(codes(&policy, sql).is_empty(), "{sql}");
    }
    let denied = [
        "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/data/../etc/t'",
        "COPY (SELECT 1) TO '/database/x.parquet'",
        "SELECT * FROM 'x.parquet'",
        "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION 's3://lake/other'",
        "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION ('/data/a', '/tmp/b')",
    ];
    for sql in denied {
        assert_eq!(
            codes(&policy, sql),
            [ViolationCode::ExternalAccess],
            "{sql}"
        );
    }
}

#[test]
fn external_access_message_names_the_location_and_position() {
    let policy = Policy::new(Preset::ReadOnly.profile()).unwrap();
    let report = policy.check("SELECT *\nFROM t, \"s3://b/k\"").unwrap();
    let v = &report.verdict.violations()[0];
    assert!(v.message.contains("`s3://b/k`"), "{}", v.message);
    assert_eq!((v.position.line, v.position.column), (2, 9));
}

#[test]
fn denied_functions_match_bare_and_qualified_names_in_any_case() {
    let policy = tuned(Preset::ReadOnly, |p| {
        p.denied_functions = ["PG_SLEEP".to_owned(), "sys.exec".to_owned()].into();
    });
    let report = policy
        .check("SELECT a FROM t WHERE pg_sleep(1) IS NULL")
        .unwrap();
    let v = &report.verdict.violations()[0];
    assert_eq!(v.code, ViolationCode::FunctionDenied);
    assert_eq!((v.position.line, v.position.column), (1, 23));
    assert_eq!(
        codes(&policy, "SELECT Sys.Exec('x')"),
        [ViolationCode::FunctionDenied]
    );
    assert_eq!(
        codes(&policy, "SELECT (SELECT max(pg_catalog.pg_sleep(1)))"),
        [ViolationCode::FunctionDenied]
    );
    assert_eq!(
        codes(&policy, "SELECT * FROM pg_sleep(1)"),
        [ViolationCode::FunctionDenied]
    );
    assert!(codes(&policy, "SELECT sleep(1), exec(2)").is_empty());
}

#[test]
fn unsupported_level_raise_warn_ignore() {
    let sql = "SELECT a FROM t FETCH FIRST 1 ROWS ONLY";
    let with = |level| {
        tuned(Preset::ReadOnly, |p| p.unsupported_level = level)
            .check(sql)
            .unwrap()
    };
    let raise = with(UnsupportedLevel::Raise);
    assert_eq!(
        raise.verdict.violations()[0].code,
        ViolationCode::Unsupported
    );
    assert!(raise.verdict.violations()[0].message.contains("[fetch]"));
    let warn = with(UnsupportedLevel::Warn);
    assert!(warn.verdict.is_allow());
    assert_eq!(warn.warnings[0].code, ViolationCode::Unsupported);
    let ignore = with(UnsupportedLevel::Ignore);
    assert!(ignore.verdict.is_allow() && ignore.warnings.is_empty());
}

#[test]
fn every_unsupported_row_is_documented() {
    let doc = std::fs::read_to_string(crate::manifest_dir().join("../../docs/policy.md"))
        .expect("docs/policy.md");
    for row in unifier_policy::UNSUPPORTED {
        assert!(
            doc.contains(&format!("`{}`", row.id)),
            "docs/policy.md misses `{}`",
            row.id
        );
    }
}
