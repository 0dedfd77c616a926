//! compile: the gate decides first, the same AST is planned, denials never reach DataFusion.

use unifier::io::IfExists;
use unifier::policy::{Preset, StatementClass};
use unifier::{Compiled, Error, Params, Unifier};

use crate::{allow, batch, profile, rows, unifier};

#[tokio::test]
async fn an_allowed_query_is_planned_with_inputs_and_a_stable_hash() {
    let u = unifier(Preset::ReadOnly);
    let b = batch(1..=5);
    u.catalog()
        .register_batches("t", b.schema(), vec![b], Default::default())
        .unwrap();
    let sql = "select name from T where id > 2 order by id";
    let Compiled::Allowed(first) = u.compile(sql, Params::None).await.unwrap() else {
        panic!("denied")
    };
    assert_eq!(first.inputs(), ["t"]);
    assert_eq!(
        first.canonical_sql(),
        "SELECT name FROM T WHERE id > 2 ORDER BY id"
    );
    assert_eq!(first.plan_hash().len(), 16);
    let Compiled::Allowed(again) = u
        .compile("SELECT name FROM t WHERE id > 2 ORDER BY id", Params::None)
        .await
        .unwrap()
    else {
        panic!("denied")
    };
    assert_eq!(first.plan_hash(), again.plan_hash());
    assert_eq!(
        first.fingerprint(),
        again.fingerprint(),
        "keyword and identifier case do not count"
    );

    let events = rows(&u, "SELECT kind, status FROM diagnostics.events WHERE kind IN ('policy','compile') ORDER BY event_id").await;
    assert!(
        events.matches("| policy  | ok     |").count() >= 2,
        "{events}"
    );
    assert!(
        events.matches("| compile | ok     |").count() >= 2,
        "{events}"
    );
}

#[tokio::test]
async fn a_denied_statement_never_reaches_datafusion() {
    let u = unifier(Preset::ReadOnly);
    let b = batch(1..=3);
    u.catalog()
        .register_batches("t", b.schema(), vec![b], Default::default())
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("out");
    for sql in [
        "DROP TABLE t".to_owned(),
        "CREATE VIEW v AS SELECT 1".to_owned(),
        format!("COPY t TO '{}' STORED AS PARQUET", target.display()),
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'".to_owned(),
        "SET datafusion.execution.batch_size = 1".to_owned(),
    ] {
        let compiled = u.compile(&sql, Params::None).await.unwrap();
        let Compiled::Denied(denied) = compiled else {
            panic!("allowed: {sql}")
        };
        assert!(!denied.report.verdict.violations().is_empty());
    }
    // Nothing happened: the table is there, no file was written, the config is unchanged,
    // and no denied operation has a compile event.
    assert!(
        rows(&u, "SELECT count(*) AS n FROM t")
            .await
            .contains("| 3 |")
    );
    assert!(!target.exists());
    assert!(u.catalog().dataset("v").is_none() && u.catalog().dataset("x").is_none());
    assert_eq!(largest_batch(&u).await, 1000, "batch size unchanged");
    let leaks = rows(
        &u,
        "SELECT count(*) AS n FROM diagnostics.compile c JOIN diagnostics.policy p \
         ON c.operation_id = p.operation_id WHERE p.status = 'denied'",
    )
    .await;
    assert!(leaks.contains("| 0 |"), "{leaks}");
    let denied = rows(&u, "SELECT count(*) AS n FROM diagnostics.policy WHERE status = 'denied' AND cardinality(codes) > 0").await;
    assert!(denied.contains("| 5 |"), "{denied}");
}

#[tokio::test]
async fn unparseable_sql_is_an_error_with_a_position_and_an_event() {
    let u = unifier(Preset::ReadOnly);
    let err = u.compile("SELECT (1", Params::None).await.unwrap_err();
    assert!(matches!(err, Error::Policy(_)), "{err:?}");
    assert_eq!(err.kind(), "parse_error");
    let out = rows(&u, "SELECT verdict, error_code FROM diagnostics.policy").await;
    assert!(out.contains("| error   | parse_error |"), "{out}");
}

#[tokio::test]
async fn parameters_are_bound_as_values_not_text() {
    let u = unifier(Preset::ReadOnly);
    let b = batch(1..=5);
    u.catalog()
        .register_batches("t", b.schema(), vec![b], Default::default())
        .unwrap();
    let r = u
        .sql(
            "SELECT name FROM t WHERE id = $1",
            Params::positional([3i64]),
        )
        .await
        .unwrap();
    assert_eq!(r.rows(), 1);
    let r = u
        .sql(
            "SELECT name FROM t WHERE id > $lo AND id < $hi",
            Params::named([("lo", 1i64), ("hi", 5i64)]),
        )
        .await
        .unwrap();
    assert_eq!(r.rows(), 3);
    // A value that looks like SQL is just a string.
    let r = u
        .sql(
            "SELECT id FROM t WHERE name = $1",
            Params::positional(["n1' OR '1'='1"]),
        )
        .await
        .unwrap();
    assert_eq!(r.rows(), 0);
}

#[tokio::test]
async fn set_goes_through_the_gate() {
    let mut p = profile(Preset::ReadOnly);
    allow(&mut p, StatementClass::Set);
    let u = Unifier::new(p).unwrap();
    u.sql("SET datafusion.execution.batch_size = 100", Params::None)
        .await
        .unwrap();
    assert_eq!(largest_batch(&u).await, 100, "batches of the new size");
}

/// Rows in the largest batch of a 1000-row query: the session's batch size, by its effect.
async fn largest_batch(u: &Unifier) -> usize {
    let result = u
        .sql("SELECT value FROM generate_series(1, 1000)", Params::None)
        .await
        .unwrap();
    let unifier::ExecutionResult::Table { batches, .. } = result else {
        panic!("expected rows")
    };
    batches.iter().map(|b| b.num_rows()).max().unwrap_or(0)
}

#[tokio::test]
async fn views_and_drops_go_through_the_catalog() {
    let u = unifier(Preset::Admin);
    let b = batch(1..=4);
    u.catalog()
        .register_batches("t", b.schema(), vec![b], Default::default())
        .unwrap();
    u.sql(
        "CREATE VIEW big AS SELECT id FROM t WHERE id > 2",
        Params::None,
    )
    .await
    .unwrap();
    let meta = u.catalog().dataset("big").unwrap();
    assert_eq!(meta.kind, unifier::io::DatasetKind::View);
    assert!(
        rows(&u, "SELECT count(*) AS n FROM big")
            .await
            .contains("| 2 |")
    );
    u.sql("DROP VIEW big", Params::None).await.unwrap();
    assert!(u.catalog().dataset("big").is_none());
    // CREATE TABLE: DataFusion builds it, the catalog registers it (recorded, listed,
    // writable as a memory table is).
    u.sql("CREATE TABLE m AS SELECT 1 AS n", Params::None)
        .await
        .unwrap();
    let m = u
        .catalog()
        .dataset("m")
        .expect("registered through the catalog");
    assert!(m.capabilities.append && m.capabilities.delete && !m.capabilities.overwrite);
    u.sql("INSERT INTO m VALUES (2)", Params::None)
        .await
        .unwrap();
    assert!(
        rows(&u, "SELECT sum(n) AS s FROM m")
            .await
            .contains("| 3 |")
    );
    assert!(
        rows(
            &u,
            "SELECT dataset FROM diagnostics.register WHERE dataset = 'm'"
        )
        .await
        .contains("| m ")
    );
    // DDL the catalog has no place for is still refused.
    let err = u.sql("CREATE SCHEMA s", Params::None).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(
        err.to_string().contains("goes through the catalog"),
        "{err}"
    );
    let err = u
        .sql("INSERT INTO t VALUES (9, 'x')", Params::None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "table `t` does not accept append through unifier (accepted: none: it is read-only)"
        ),
        "{err}"
    );
    u.register_view("small", "SELECT id FROM t WHERE id < 2", IfExists::Fail)
        .await
        .unwrap();
    assert!(
        rows(&u, "SELECT count(*) AS n FROM small")
            .await
            .contains("| 1 |")
    );
}
