//! Integration tests of the policy crate, through its public API only.

mod cases;
mod fingerprints;
mod generate;
mod limits;
mod profiles;
mod properties;
mod roundtrip;

use unifier_policy::{Policy, PolicyProfile, Preset, SqlDialect};

/// This crate's directory as the test runner reports it when the test runs: a test binary
/// can have been built in another clone sharing the target directory (cargo reuses it),
/// and the compile-time path would name that clone.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// A policy from a preset, reading and writing `dialect`.
pub(crate) fn policy(preset: Preset, dialect: SqlDialect) -> Policy {
    tuned(preset, |p| {
        p.read_dialect = dialect;
        p.write_dialect = dialect;
    })
}

/// A policy from a preset with some fields changed by `tune`.
pub(crate) fn tuned(preset: Preset, tune: impl FnOnce(&mut PolicyProfile)) -> Policy {
    let mut profile = preset.profile();
    tune(&mut profile);
    Policy::new(profile).expect("a valid profile")
}

/// The TPC-H query texts shipped in `testdata/`.
pub(crate) fn tpch_queries() -> Vec<(String, String)> {
    let dir = manifest_dir().join("../../testdata/tpch/queries");
    let dir = dir.display();
    (1..=22)
        .map(|n| {
            let name = format!("q{n}");
            let text = std::fs::read_to_string(format!("{dir}/{name}.sql")).expect("tpch query");
            (name, text)
        })
        .collect()
}
