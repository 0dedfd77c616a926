//! `cargo xtask`: unifier's CI gates and benchmarks.
//!
//! ```text
//! cargo xtask ci             fmt --check, clippy -D warnings, tests, doc -D warnings, deps, tidy
//! cargo xtask deps           layer edges and duplicate engine versions, from cargo metadata
//! cargo xtask tidy           source-file hygiene
//! cargo xtask test           the tests (nextest when installed, else cargo test) + doctests
//! cargo xtask bench policy   policy check vs bare sqlparser parse over TPC-H (release)
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
            eprintln!("usage: cargo xtask <ci|deps|tidy|test|bench policy>");
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

fn run(step: &str, mut command: Command) -> Result<()> {
    eprintln!("==> {step}");
    let status = command
        .status()
        .with_context(|| format!("cannot start `{step}`"))?;
    if !status.success() {
        bail!("`{step}` failed ({status})");
    }
    Ok(())
}

fn ci(root: &Path) -> Result<()> {
    let mut fmt = cargo();
    fmt.current_dir(root)
        .args(["fmt", "--all", "--", "--check"]);
    run("cargo fmt --check", fmt)?;

    let mut clippy = cargo();
    clippy.current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run("cargo clippy -D warnings", clippy)?;

    test(root)?;

    let mut doc = cargo();
    doc.current_dir(root)
        .env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "--workspace", "--no-deps"]);
    run("cargo doc -D warnings", doc)?;

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
        let mut nextest = cargo();
        nextest
            .current_dir(root)
            .args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        run("cargo nextest run", nextest)?;
        // nextest does not run doctests.
        let mut doctests = cargo();
        doctests
            .current_dir(root)
            .args(["test", "--workspace", "--doc"]);
        run("cargo test --doc", doctests)
    } else {
        eprintln!("cargo-nextest is not installed: using cargo test");
        let mut tests = cargo();
        tests
            .current_dir(root)
            .args(["test", "--workspace", "--no-fail-fast"]);
        run("cargo test", tests)
    }
}

fn bench(root: &Path, which: &[&str]) -> Result<()> {
    let which = if which.is_empty() {
        &["policy"][..]
    } else {
        which
    };
    for name in which {
        match *name {
            "policy" => {
                let mut bench = cargo();
                bench.current_dir(root).args([
                    "run",
                    "--release",
                    "-p",
                    "unifier-policy",
                    "--example",
                    "bench_policy",
                ]);
                run("bench policy", bench)?;
            }
            other => bail!("unknown benchmark `{other}`: expected `policy`"),
        }
    }
    Ok(())
}
