//! `cargo xtask`: unifier's CI gates and benchmarks.
//!
//! ```text
//! cargo xtask ci             fmt --check, clippy -D warnings, tests, doc -D warnings, deps, tidy
//! cargo xtask deps           layer edges and duplicate engine versions, from cargo metadata
//! cargo xtask tidy           source-file hygiene
//! cargo xtask test           the tests (nextest when installed, else cargo test) + doctests
//! cargo xtask bench [NAME]   release benchmarks: policy, diagnostics, io (all when no name)
//! ```

mod deps;
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
        ["bench", which @ ..] => bench(&root, which),
        _ => {
            eprintln!("usage: cargo xtask <ci|deps|tidy|test|bench [policy|diagnostics|io]>");
            std::process::exit(2);
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
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

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test(root: &Path) -> Result<()> {
    if has_nextest() {
        let nextest = ["nextest", "run", "--workspace", "--no-fail-fast"];
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
        let tests = ["test", "--workspace", "--no-fail-fast"];
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
];

fn bench(root: &Path, which: &[&str]) -> Result<()> {
    let names: Vec<&str> = BENCHES.iter().map(|(name, _)| *name).collect();
    let which = if which.is_empty() { &names[..] } else { which };
    for name in which {
        let Some((_, runs)) = BENCHES.iter().find(|(n, _)| n == name) else {
            bail!(
                "unknown benchmark `{name}`: expected one of {}",
                names.join(", ")
            );
        };
        for (package, example) in *runs {
            let args = ["run", "--release", "-p", package, "--example", example];
            cargo_step(root, &format!("bench {name} ({example})"), &args, &[])?;
        }
    }
    Ok(())
}
