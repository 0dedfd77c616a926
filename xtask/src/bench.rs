//! Benchmarks and the interop check: each runs release examples (after the one release
//! build) and, for the comparisons, a Python venv under the target dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::run::{cargo_step, release, run_example, target_dir};

/// The python packages `interop` reads with, pinned (the DuckDB extension must match
/// DuckDB's version).
pub(crate) const INTEROP_PACKAGES: &[&str] = &[
    "deltalake==1.6.6",
    "duckdb==1.5.5",
    "duckdb-extension-delta==1.5.5",
    "polars==2.1.0",
    "pyarrow==26.0.1",
];

/// The python of a venv under the target dir with [`INTEROP_PACKAGES`] installed.
pub(crate) fn python_venv(root: &Path) -> Result<PathBuf> {
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
pub(crate) fn bench_tpch(root: &Path, options: &[&str]) -> Result<()> {
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

/// The venv's python for a benchmark's comparison, or `None` with `skipped: why` printed.
pub(crate) fn bench_python(root: &Path, skipped: &str) -> Option<String> {
    match python_venv(root) {
        Ok(python) => Some(python.display().to_string()),
        Err(error) => {
            eprintln!("{skipped}: {error:#}");
            None
        }
    }
}

/// The environment that hands a benchmark example its python.
pub(crate) fn python_env(python: Option<&str>) -> Vec<(&'static str, &str)> {
    python
        .map(|p| ("UNIFIER_BENCH_PYTHON", p))
        .into_iter()
        .collect()
}

/// Writes tables with unifier, reads them with other engines, compares.
pub(crate) fn interop(root: &Path) -> Result<()> {
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

/// Each benchmark and the release examples that make it up, as `(package, example)`.
pub(crate) const BENCHES: &[(&str, &[(&str, &str)])] = &[
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

pub(crate) fn bench(root: &Path, which: &[&str]) -> Result<()> {
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
            crate::catalog_bench::run(root)?;
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
