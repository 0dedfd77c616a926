//! `cargo xtask`: unifier's CI gates and benchmarks.
//!
//! ```text
//! cargo xtask ci             fmt --check, clippy -D warnings, tests, conformance (slt against
//!                            its baseline), doc -D warnings, deps, tidy
//! cargo xtask deps           layer edges and duplicate engine versions, from cargo metadata
//! cargo xtask tidy           source-file hygiene
//! cargo xtask test           the tests (nextest when installed, else cargo test) + doctests
//! cargo xtask bench [NAME]   benchmarks: policy, diagnostics, io, delta (release examples),
//!                            catalog (the debug binary's start), tpch; all when no name
//! cargo xtask bench tpch [--sf 1] [--queries 1,3] [--runs 3]
//!                            TPC-H vs raw DataFusion and DuckDB, answers checked
//! cargo xtask release        the release `unifier` binary, built with the benchmarks' examples
//!                            in one invocation (one DataFusion build serves both)
//! cargo xtask slt [--data DIR] [--policy P] [--verbose] FILES...
//!                            DataFusion's sqllogictest files through the facade
//! cargo xtask fuzz [--manifest] [--minutes 10]
//!                            the policy check fed generated, damaged statements; with
//!                            --manifest, damaged catalog manifests through the binary
//! cargo xtask prune [--hours 24]
//!                            delete linked test/example binaries of the target dir not
//!                            rebuilt for N hours (cargo relinks one if it is needed again)
//! cargo xtask load [--seconds 60]
//!                            concurrent writers and readers, a sort under 256 MiB, the
//!                            diagnostics recorder under contention (release)
//! cargo xtask interop        Delta tables written by unifier, read by python deltalake,
//!                            DuckDB's delta extension and polars (a venv under the target dir)
//! ```

mod bench;
mod catalog_bench;
mod deps;
mod modules;
mod run;
mod tidy;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::bench::{bench, bench_tpch, interop};
pub(crate) use crate::run::cargo;
use crate::run::{cargo_step, release, run_built, run_example, target_dir};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = workspace_root();
    match args.as_slice() {
        ["ci"] => ci(&root),
        ["deps"] => deps::run(&root),
        ["tidy"] => tidy::run(&root),
        ["test"] => test(&root),
        ["bench", "tpch", options @ ..] => bench_tpch(&root, options),
        ["bench", which @ ..] => bench(&root, which),
        ["interop"] => interop(&root),
        ["slt", options @ ..] => slt(&root, options),
        ["fuzz", options @ ..] => fuzz(&root, options),
        ["load", options @ ..] => load(&root, options),
        ["prune", options @ ..] => prune(&root, options),
        ["release"] => release(&root).map(|dir| {
            println!("{}", dir.join("unifier").display());
        }),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci|deps|tidy|test|bench [policy|diagnostics|io|delta|catalog|tpch [--sf N]]|release|interop|slt FILES...|fuzz [--manifest] [--minutes N]|load [--seconds N]|prune [--hours N]>"
            );
            std::process::exit(2);
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory, as `cargo run`
/// reports it at run time. Not the compile-time path: clones sharing one target directory
/// share the xtask binary (cargo does not rebuild it for a new checkout path), so a
/// compile-time path can name another clone, or one since deleted.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn ci(root: &Path) -> Result<()> {
    cargo_step(
        root,
        "cargo fmt --check",
        &["fmt", "--all", "--", "--check"],
        &[],
    )?;
    cargo_step(
        root,
        "cargo clippy -D warnings",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    test(root)?;
    let mut conformance = vec!["--expect", "testdata/conformance/expected.txt"];
    conformance.extend_from_slice(CONFORMANCE_FILES);
    slt(root, &conformance)?;
    cargo_step(
        root,
        "cargo doc -D warnings",
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    eprintln!("==> deps");
    deps::run(root)?;
    eprintln!("==> tidy");
    tidy::run(root)?;
    eprintln!("ci: all gates passed");
    Ok(())
}

/// `fuzz [--minutes N]`: the policy fuzz example in release. It builds on its own
/// (`-p unifier-policy`): the policy crate does not link DataFusion, so this is quick and
/// does not disturb the shared release build of the engine.
fn fuzz(root: &Path, options: &[&str]) -> Result<()> {
    if let ["--manifest", rest @ ..] = options {
        return fuzz_manifest(root, rest);
    }
    cargo_step(
        root,
        "release build of the policy fuzz example",
        &[
            "build",
            "--release",
            "-p",
            "unifier-policy",
            "--example",
            "fuzz_policy",
        ],
        &[],
    )?;
    run_example(root, "fuzz_policy", "fuzz_policy", options, &[])
}

/// `fuzz --manifest [--minutes N]`: hostile catalog manifests through the release
/// `unifier` binary (`crates/unifier-cli/examples/fuzz_manifest.rs`); findings are kept
/// under `target/fuzz-manifest/findings`.
fn fuzz_manifest(root: &Path, options: &[&str]) -> Result<()> {
    let minutes = match options {
        [] => "10",
        ["--minutes", n] => n,
        _ => bail!("usage: cargo xtask fuzz --manifest [--minutes N]"),
    };
    let release = release(root)?;
    let binary = release.join("unifier").display().to_string();
    let workdir = target_dir(root).join("fuzz-manifest");
    let _ = std::fs::remove_dir_all(&workdir);
    let workdir = workdir.display().to_string();
    let fixture = root
        .join("testdata/delta/simple_table_with_cdc")
        .display()
        .to_string();
    run_example(
        root,
        "fuzz_manifest",
        "fuzz_manifest",
        &[&binary, &workdir, minutes, &fixture],
        &[],
    )
}

/// `prune [--hours N]`: every build with other features or another checkout leaves its
/// own linked test and example binaries (about 0.5 GB each with DataFusion inside), and
/// the shared target dir grew to 65 GB here. Deletes executables (no extension, the
/// executable bit set) directly under `{debug,release}/{deps,examples}` last modified
/// more than N hours ago (default 24); libraries, metadata and build outputs stay, so
/// nothing is recompiled — a deleted binary is only linked again when it is next needed.
fn prune(root: &Path, options: &[&str]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let hours: u64 = match options {
        [] => 24,
        ["--hours", n] => n.parse().context("--hours takes a number")?,
        _ => bail!("usage: cargo xtask prune [--hours N]"),
    };
    let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    let target = target_dir(root);
    let (mut files, mut bytes) = (0u64, 0u64);
    for profile in ["debug", "release"] {
        for dir in ["deps", "examples"] {
            let Ok(entries) = std::fs::read_dir(target.join(profile).join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                let executable = meta.is_file()
                    && meta.permissions().mode() & 0o100 != 0
                    && path.extension().is_none();
                let old = meta.modified().is_ok_and(|m| m < cutoff);
                if executable && old && std::fs::remove_file(&path).is_ok() {
                    files += 1;
                    bytes += meta.len();
                }
            }
        }
    }
    eprintln!(
        "prune: {files} binaries not rebuilt for {hours} h deleted, {:.1} GB freed",
        bytes as f64 / 1e9
    );
    Ok(())
}

/// `load [--seconds N]`: the load runs of `docs/reliability.md` (`examples/load.rs`), each
/// phase in its own process: 8 writers x 50 appends with 16 readers, lineitem SF 1 sorted
/// under a 256 MiB limit (data kept under `target/bench/tpch/sf1`), 16 threads recording
/// diagnostics for N seconds (default 60).
fn load(root: &Path, options: &[&str]) -> Result<()> {
    let seconds = match options {
        [] => "60",
        ["--seconds", n] => n,
        _ => bail!("usage: cargo xtask load [--seconds N]"),
    };
    release(root)?;
    let sf1 = target_dir(root)
        .join("bench/tpch/sf1")
        .display()
        .to_string();
    run_example(
        root,
        "load: writers and readers",
        "load",
        &["writers", "8", "50", "16"],
        &[],
    )?;
    run_example(
        root,
        "load: sort under 256 MiB",
        "load",
        &["spill", &sf1, "256"],
        &[],
    )?;
    run_example(
        root,
        "load: diagnostics",
        "load",
        &["diagnostics", seconds, "16"],
        &[],
    )
}

/// DataFusion's sqllogictest files CI runs through the facade, held to
/// `testdata/conformance/expected.txt`.
const CONFORMANCE_FILES: &[&str] = &[
    "create_external_table",
    "listing_table_partitions",
    "insert",
    "insert_to_external",
    "copy",
    "parquet_sorted_statistics",
    "sort_pushdown",
    "parquet_filter_pushdown",
    "information_schema",
    "set_variable",
    "describe",
    "explain_analyze",
    "errors",
    "dml_delete",
    "truncate",
    "tpch/tpch",
];

/// `slt [--data DIR] [--policy P] [--verbose] FILES...`: builds the workspace's binaries
/// (one feature resolution with the tests, so no second DataFusion build) and runs
/// `unifier-slt` from the workspace root, pointing it at the test files the
/// datafusion-sqllogictest crate ships (found with `cargo metadata`).
fn slt(root: &Path, options: &[&str]) -> Result<()> {
    // `--tests` too: the features resolve as for the test build, whose artifacts
    // (DataFusion's included) this then reuses.
    cargo_step(
        root,
        "cargo build --workspace --tests --bins",
        &["build", "--workspace", "--tests", "--bins"],
        &[],
    )?;
    let output = cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1"])
        .output()
        .context("cannot run cargo metadata")?;
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata's output")?;
    let test_files = metadata["packages"]
        .as_array()
        .and_then(|packages| {
            packages
                .iter()
                .find(|p| p["name"] == "datafusion-sqllogictest")
        })
        .and_then(|p| p["manifest_path"].as_str())
        .map(|manifest| Path::new(manifest).with_file_name("test_files"))
        .context("datafusion-sqllogictest is not in cargo metadata")?;
    let test_files = test_files.display().to_string();
    // TPC-H's `.tbl` files (SF 0.1), generated once under the target dir when a file
    // needs them.
    let tpch = target_dir(root)
        .join("conformance/tpch-sf0.1")
        .display()
        .to_string();
    let mut options = options.to_vec();
    if !options.contains(&"--tpch-data") {
        options.splice(0..0, ["--tpch-data", tpch.as_str()]);
    }
    run_built(
        root,
        &format!("unifier-slt {}", options.join(" ")),
        &target_dir(root).join("debug/unifier-slt"),
        &options,
        &[("UNIFIER_SLT_TEST_FILES", &test_files)],
    )
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test(root: &Path) -> Result<()> {
    if has_nextest() {
        // `--tests`: the targets with `test = true` (lib unit tests where a crate has
        // them, tests/it, the binary the CLI tests drive), not the examples: clippy
        // --all-targets type-checks those without linking each against DataFusion.
        let nextest = ["nextest", "run", "--workspace", "--tests", "--no-fail-fast"];
        cargo_step(root, "cargo nextest run", &nextest, &[])?;
        // nextest does not run doctests.
        cargo_step(
            root,
            "cargo test --doc",
            &["test", "--workspace", "--doc"],
            &[],
        )
    } else {
        eprintln!("cargo-nextest is not installed: using cargo test");
        let tests = ["test", "--workspace", "--tests", "--no-fail-fast"];
        cargo_step(root, "cargo test", &tests, &[])
    }
}
