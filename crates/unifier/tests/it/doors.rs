//! No unchecked door in the Rust API: the session is reachable only through
//! `unchecked_io`, refused by every preset and recorded; a caller-built write source that
//! is not a pure read is refused before it runs. (That `Catalog` has no `session()` or
//! `delta_table()` and `CompiledQuery` no public plan is checked by `compile_fail` doc
//! tests on `Catalog`.)

use datafusion::prelude::SessionContext;
use unifier::io::RegisterOptions;
use unifier::policy::{PolicyProfile, Preset};
use unifier::write::{WriteRequest, WriteSource, WriteTarget};
use unifier::{Error, Unifier, UnifierProfile};

use crate::{batch, rows};

fn with_preset(preset: Preset) -> UnifierProfile {
    UnifierProfile {
        policy: PolicyProfile::preset(preset),
        ..UnifierProfile::default()
    }
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
    theirs
        .register_batch("mem", b.clone())
        .expect("their own table");
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
