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

mod catalog_bench;
mod deps;
mod modules;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

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

/// `cargo` as a shell would start it: from `PATH` (the rustup proxy, which reads the
/// toolchain file), without the variables `cargo run` set for xtask itself (`CARGO`,
/// `CARGO_PKG_*`, `CARGO_MANIFEST_*`, `LD_LIBRARY_PATH`, `RUSTUP_TOOLCHAIN`, ...). With
/// them, builds started here and builds started from a shell fingerprint differently and
/// rebuild DataFusion each time the two alternate in one target directory.
pub(crate) fn cargo() -> Command {
    program("cargo")
}

/// A program started without the variables `cargo run` set for xtask itself. Our own
/// binaries need this too: a test helper or an example reading `CARGO_MANIFEST_DIR` at
/// run time would otherwise find xtask's.
pub(crate) fn program(path: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(path);
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let injected = key.starts_with("CARGO_PKG_")
            || matches!(
                key,
                "CARGO"
                    | "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "LD_LIBRARY_PATH"
                    | "RUST_RECURSION_COUNT"
                    | "RUSTUP_TOOLCHAIN"
                    | "RUSTUP_TOOLCHAIN_SOURCE"
            );
        if injected {
            command.env_remove(key);
        }
    }
    command
}

/// Runs `cargo <args>` in `root` as the CI step `step`, failing when it fails.
fn cargo_step(root: &Path, step: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    eprintln!("==> {step}");
    let status = cargo()
        .current_dir(root)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("cannot start `{step}`"))?;
    if !status.success() {
        bail!("`{step}` failed ({status})");
    }
    Ok(())
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

/// The python packages `interop` reads with, pinned (the DuckDB extension must match
/// DuckDB's version).
const INTEROP_PACKAGES: &[&str] = &[
    "deltalake==1.6.6",
    "duckdb==1.5.5",
    "duckdb-extension-delta==1.5.5",
    "polars==2.1.0",
    "pyarrow==26.0.1",
];

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The python of a venv under the target dir with [`INTEROP_PACKAGES`] installed.
fn python_venv(root: &Path) -> Result<PathBuf> {
    let venv = target_dir(root).join("interop/venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("==> python venv at {}", venv.display());
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("cannot run python3 (needed for cargo xtask interop)")?;
        if !made.success() {
            bail!("python3 -m venv {} failed", venv.display());
        }
    }
    eprintln!("==> pip install {}", INTEROP_PACKAGES.join(" "));
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .args(INTEROP_PACKAGES)
        .status()
        .context("cannot run pip")?;
    if !installed.success() {
        bail!(
            "cannot install {} from PyPI into {} (is the registry reachable?)",
            INTEROP_PACKAGES.join(", "),
            venv.display()
        );
    }
    Ok(python)
}

/// `bench tpch [--sf 1] [--queries 1,3,...] [--runs 3]`: q1–q22 through raw DataFusion,
/// the facade and DuckDB (python, in the venv under the target dir; skipped with the
/// reason when PyPI is unreachable) over tpchgen data kept under `target/bench/tpch`.
fn bench_tpch(root: &Path, options: &[&str]) -> Result<()> {
    let python = bench_python(root, "bench tpch: DuckDB skipped");
    let env = python_env(python.as_deref());
    let bench = target_dir(root).join("bench");
    let data = bench.join("tpch").display().to_string();
    let out = bench.display().to_string();
    let mut args = vec!["--data", &data, "--out", &out];
    args.extend_from_slice(options);
    release(root)?;
    run_example(root, "bench tpch (bench_tpch)", "bench_tpch", &args, &env)
}

/// The one release build: the `unifier` binary and every example, in one cargo
/// invocation. The features of dependencies they share (regex through tracing-subscriber's
/// env filter, libc through rustyline, tracing-subscriber itself, ...) then resolve once,
/// so DataFusion and deltalake are built once in release for both: `cargo xtask release`
/// after `cargo xtask bench` (or the other way round) rebuilds nothing. Building
/// `-p unifier-cli` alone, or one example alone, resolves other features and rebuilds
/// DataFusion (about 35 minutes here).
const RELEASE_BUILD: &[&str] = &[
    "build",
    "--release",
    "-p",
    "unifier-cli",
    "-p",
    "unifier",
    "-p",
    "unifier-policy",
    "-p",
    "unifier-diagnostics",
    "-p",
    "unifier-io-adapter",
    "-p",
    "unifier-write-pipeline",
    "--bins",
    "--examples",
];

/// The venv's python for a benchmark's comparison, or `None` with `skipped: why` printed.
fn bench_python(root: &Path, skipped: &str) -> Option<String> {
    match python_venv(root) {
        Ok(python) => Some(python.display().to_string()),
        Err(error) => {
            eprintln!("{skipped}: {error:#}");
            None
        }
    }
}

/// The environment that hands a benchmark example its python.
fn python_env(python: Option<&str>) -> Vec<(&'static str, &str)> {
    python
        .map(|p| ("UNIFIER_BENCH_PYTHON", p))
        .into_iter()
        .collect()
}

/// Runs [`RELEASE_BUILD`]; returns the release directory.
fn release(root: &Path) -> Result<PathBuf> {
    cargo_step(
        root,
        "release build (the binary and the examples, one feature resolution)",
        RELEASE_BUILD,
        &[],
    )?;
    Ok(target_dir(root).join("release"))
}

/// Runs a release example built by [`release`].
fn run_example(
    root: &Path,
    step: &str,
    example: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
    let exe = target_dir(root).join("release/examples").join(example);
    run_built(root, step, &exe, args, env)
}

/// Runs one of our built binaries from the workspace root as the step `step`, failing
/// when it fails.
fn run_built(
    root: &Path,
    step: &str,
    exe: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
    eprintln!("==> {step}");
    let status = program(exe)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    Ok(())
}

/// Writes tables with unifier, reads them with other engines, compares.
fn interop(root: &Path) -> Result<()> {
    let python = python_venv(root).context("interop not run")?;
    let tables = target_dir(root).join("interop/tables");
    let tables_arg = tables.display().to_string();
    cargo_step(
        root,
        "write the tables (interop_tables)",
        &[
            "run",
            "-q",
            "-p",
            "unifier",
            "--example",
            "interop_tables",
            "--",
            &tables_arg,
        ],
        &[],
    )?;
    eprintln!("==> read them with deltalake, duckdb, polars");
    let checked = Command::new(&python)
        .arg(root.join("xtask/interop/check.py"))
        .arg(&tables)
        .status()
        .context("cannot run the interop checks")?;
    if !checked.success() {
        bail!("interop: a reader disagrees with unifier (see above)");
    }
    Ok(())
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

/// Each benchmark and the release examples that make it up, as `(package, example)`.
const BENCHES: &[(&str, &[(&str, &str)])] = &[
    ("policy", &[("unifier-policy", "bench_policy")]),
    (
        "diagnostics",
        &[
            ("unifier-diagnostics", "bench_diagnostics"),
            ("unifier", "bench_diagnostics_sql"),
        ],
    ),
    ("io", &[("unifier", "bench_io")]),
    ("delta", &[("unifier", "bench_delta")]),
    // Not an example: the debug binary, started as a user starts it.
    ("catalog", &[]),
    ("tpch", &[("unifier", "bench_tpch")]),
];

fn bench(root: &Path, which: &[&str]) -> Result<()> {
    let names: Vec<&str> = BENCHES.iter().map(|(name, _)| *name).collect();
    let which = if which.is_empty() { &names[..] } else { which };
    if which.iter().any(|name| *name != "catalog") {
        release(root)?;
    }
    for name in which {
        let Some((_, runs)) = BENCHES.iter().find(|(n, _)| n == name) else {
            bail!(
                "unknown benchmark `{name}`: expected one of {}",
                names.join(", ")
            );
        };
        if *name == "catalog" {
            catalog_bench::run(root)?;
            continue;
        }
        if *name == "tpch" {
            bench_tpch(root, &[])?;
            continue;
        }
        let python = (*name == "delta")
            .then(|| bench_python(root, "bench delta: python write_deltalake skipped"))
            .flatten();
        let env = python_env(python.as_deref());
        for (_, example) in *runs {
            run_example(
                root,
                &format!("bench {name} ({example})"),
                example,
                &[],
                &env,
            )?;
        }
    }
    Ok(())
}
