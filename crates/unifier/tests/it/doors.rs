//! No unchecked door in the Rust API: the session is reachable only through
//! `unchecked_io`, refused by every preset and recorded; a caller-built write source that
//! is not a pure read is refused before it runs. (That `Catalog` has no `session()` or
//! `delta_table()` and `CompiledQuery` no public plan is checked by `compile_fail` doc
//! tests on `Catalog`.)

use datafusion::prelude::SessionContext;
use unifier::io::RegisterOptions;
use unifier::policy::StatementClass;
use unifier::policy::{PolicyProfile, Preset};
use unifier::write::{WriteRequest, WriteSource, WriteTarget};
use unifier::{Compiled, Error, Params, Unifier, UnifierProfile};

use crate::{batch, rows};

fn with_preset(preset: Preset) -> UnifierProfile {
    let mut profile = UnifierProfile {
        policy: PolicyProfile::preset(preset),
        ..UnifierProfile::default()
    };
    // These tests read the audit trail to see the attempts recorded.
    profile.policy.read_diagnostics = true;
    profile
}

#[tokio::test]
async fn every_preset_refuses_the_unchecked_session_and_records_the_attempt() {
    for preset in [Preset::ReadOnly, Preset::Writer, Preset::Admin] {
        let u = Unifier::new(with_preset(preset)).unwrap();
        let err = u.unchecked_io().unwrap_err();
        assert!(matches!(err, Error::Unchecked { .. }), "{preset:?}: {err}");
        assert_eq!(err.kind(), "unchecked_api");
        let events = rows(
            &u,
            "SELECT verdict, status, codes FROM diagnostics.policy WHERE verdict = 'deny'",
        )
        .await;
        assert!(
            events.contains("| deny    | denied | [unchecked_api] |"),
            "{preset:?}:\n{events}"
        );
    }
}

#[tokio::test]
async fn the_escape_hatch_works_only_when_the_profile_says_so_and_is_recorded() {
    let mut profile = with_preset(Preset::ReadOnly);
    profile.policy.allow_unchecked = true;
    let u = Unifier::new(profile).unwrap();
    let io = u.unchecked_io().unwrap();
    // It is the real session: what runs here bypasses the gate (that is the point of the
    // name), and the grant is on record.
    let n = io
        .session()
        .sql("SELECT 41 + 1 AS n")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(n[0].num_rows(), 1);
    let events = rows(
        &u,
        "SELECT verdict, codes FROM diagnostics.policy WHERE verdict = 'unchecked'",
    )
    .await;
    assert!(
        events.contains("| unchecked | [unchecked_api] |"),
        "{events}"
    );

    // From a manifest-style TOML profile too, and nowhere by default.
    let toml = "preset = \"admin\"\nallow_unchecked = true\n";
    assert!(
        PolicyProfile::from_toml(toml, "test")
            .unwrap()
            .allow_unchecked
    );
    let plain = PolicyProfile::from_toml("preset = \"admin\"\n", "test").unwrap();
    assert!(!plain.allow_unchecked);
}

#[tokio::test]
async fn a_write_source_plan_that_writes_is_refused_before_it_runs() {
    let u = Unifier::new(with_preset(Preset::Writer)).unwrap();
    let b = batch(1..=3);
    u.catalog()
        .register_batches(
            "mem",
            b.schema(),
            vec![b.clone()],
            RegisterOptions::default(),
        )
        .unwrap();
    // A hostile caller plans statements in a context of its own, where `mem` is the
    // same table, and hands the plans to the write API as "sources".
    let theirs = SessionContext::new();
    let registered = theirs.register_batch("mem", b.clone()); // tidy: baseline (theirs)
    registered.expect("their own table");
    for sql in [
        "INSERT INTO mem VALUES (9, 'x')",
        "DELETE FROM mem",
        "CREATE VIEW v AS SELECT 1",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let plan = theirs.state().create_logical_plan(sql).await.unwrap();
        let request =
            WriteRequest::new(WriteTarget::Dataset("mem".into()), WriteSource::Plan(plan));
        let err = u.write(request).await.unwrap_err();
        assert!(
            matches!(&err, Error::WriteDenied { reason } if reason.contains("must only read")),
            "{sql}: {err}"
        );
    }
    assert_eq!(
        rows(&u, "SELECT count(*) AS n FROM mem")
            .await
            .lines()
            .nth(3),
        Some("| 3 |")
    );
}

#[tokio::test]
async fn the_audit_trail_is_read_only_where_the_policy_says_so() {
    for preset in [Preset::ReadOnly, Preset::Writer] {
        let mut profile = UnifierProfile {
            policy: PolicyProfile::preset(preset),
            ..UnifierProfile::default()
        };
        profile.policy.allowed_classes.insert(StatementClass::Set);
        let u = Unifier::new(profile).unwrap();
        let b = batch(1..=3);
        u.catalog()
            .register_batches("t", b.schema(), vec![b], RegisterOptions::default())
            .unwrap();
        for sql in [
            "SELECT * FROM diagnostics.events",
            "select message from DIAGNOSTICS.EVENTS",
            "SELECT * FROM \"diagnostics\".\"policy\"",
            "SELECT * FROM datafusion.diagnostics.execute",
            "SELECT id FROM t WHERE id IN (SELECT event_id FROM diagnostics.events)",
            "WITH e AS (SELECT * FROM diagnostics.events) SELECT count(*) FROM e",
            "SELECT * FROM t JOIN diagnostics.compile c ON t.id = c.event_id",
            "EXPLAIN SELECT * FROM diagnostics.policy",
        ] {
            let Compiled::Denied(denied) = u.compile(sql, Params::None).await.unwrap() else {
                panic!("{preset:?}: allowed: {sql}");
            };
            let codes: Vec<&str> = denied
                .report
                .verdict
                .violations()
                .iter()
                .map(|v| v.code.as_str())
                .collect();
            assert!(codes.contains(&"diagnostics_denied"), "{sql}: {codes:?}");
        }
        // A bare name through a changed default schema is refused after planning.
        u.sql(
            "SET datafusion.catalog.default_schema = 'diagnostics'",
            Params::None,
        )
        .await
        .unwrap();
        let err = u
            .sql("SELECT * FROM events", Params::None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::PlanRefused { .. })
                && unifier::error_chain(&err).contains("audit trail"),
            "{err}"
        );
    }
    // The admin preset reads it.
    let admin = Unifier::new(UnifierProfile {
        policy: PolicyProfile::preset(Preset::Admin),
        ..UnifierProfile::default()
    })
    .unwrap();
    assert!(
        admin
            .sql("SELECT count(*) FROM diagnostics.events", Params::None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn reading_files_without_sql_is_held_to_the_file_access_rule_and_recorded() {
    use futures::StreamExt;
    use unifier::io::{FileFormatKind, ListingSpec};
    let tmp = tempfile::tempdir().unwrap();
    let inside = tmp.path().join("data/rows.parquet");
    crate::write_parquet(&inside, &batch(1..=5), 10);
    let outside = tmp.path().join("other/rows.parquet");
    crate::write_parquet(&outside, &batch(1..=2), 10);
    let spec =
        |path: &std::path::Path| ListingSpec::new(path.to_str().unwrap(), FileFormatKind::Parquet);

    // The writer preset allows no file access: the read is refused, on the record.
    let u = Unifier::new(with_preset(Preset::Writer)).unwrap();
    let Err(err) = u.read_files(spec(&inside), None).await else {
        panic!("the writer preset reads no file")
    };
    assert!(matches!(err, Error::LocationDenied { .. }), "{err:?}");
    assert!(
        err.to_string().contains("allow_external_access = true"),
        "{err}"
    );
    let denied = rows(
        &u,
        "SELECT p.verdict, e.error_kind FROM diagnostics.policy p \
         JOIN diagnostics.error e ON p.operation_id = e.operation_id",
    )
    .await;
    assert!(denied.contains("| deny    | external_access |"), "{denied}");

    // Under allowed_locations, only what is inside is read; the read leaves an event.
    let mut profile = with_preset(Preset::Writer);
    profile.policy.allow_external_access = true;
    profile.policy.allowed_locations = vec![tmp.path().join("data").display().to_string()];
    let u = Unifier::new(profile).unwrap();
    let Err(err) = u.read_files(spec(&outside), None).await else {
        panic!("a file outside allowed_locations is not read")
    };
    assert!(
        err.to_string().contains("is not under allowed_locations"),
        "{err}"
    );
    let mut stream = u.read_files(spec(&inside), None).await.unwrap();
    let mut read = 0;
    while let Some(batch) = stream.next().await {
        read += batch.unwrap().num_rows();
    }
    drop(stream);
    assert_eq!(read, 5);
    let executed = rows(
        &u,
        "SELECT status, rows, inputs FROM diagnostics.execute ORDER BY operation_id LIMIT 1",
    )
    .await;
    assert!(executed.contains("| ok     | 5    |"), "{executed}");
    assert!(executed.contains("rows.parquet"), "{executed}");
}
