//! Integration tests of the policy crate, through its public API only.

mod cases;
mod fingerprints;
mod limits;
mod profiles;
mod roundtrip;

use unifier_policy::{Policy, PolicyProfile, Preset, SqlDialect};

/// A policy from a preset, reading and writing `dialect`.
pub(crate) fn policy(preset: Preset, dialect: SqlDialect) -> Policy {
    Policy::new(PolicyProfile {
        read_dialect: dialect,
        write_dialect: dialect,
        ..preset.profile()
    })
    .expect("presets are valid")
}

/// The TPC-H query texts shipped in `testdata/`.
pub(crate) fn tpch_queries() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/tpch/queries");
    (1..=22)
        .map(|n| {
            let name = format!("q{n}");
            let text = std::fs::read_to_string(format!("{dir}/{name}.sql")).expect("tpch query");
            (name, text)
        })
        .collect()
}
