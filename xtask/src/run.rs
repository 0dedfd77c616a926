//! How xtask starts things: `cargo` as a shell would, the steps of a gate, the one
//! release build, and the binaries it built.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

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
pub(crate) fn cargo_step(
    root: &Path,
    step: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
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

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The one release build: the `unifier` binary and every example, in one cargo
/// invocation. The features of dependencies they share (regex through tracing-subscriber's
/// env filter, libc through rustyline, tracing-subscriber itself, ...) then resolve once,
/// so DataFusion and deltalake are built once in release for both: `cargo xtask release`
/// after `cargo xtask bench` (or the other way round) rebuilds nothing. Building
/// `-p unifier-cli` alone, or one example alone, resolves other features and rebuilds
/// DataFusion (about 35 minutes here).
pub(crate) const RELEASE_BUILD: &[&str] = &[
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

/// Runs [`RELEASE_BUILD`]; returns the release directory.
pub(crate) fn release(root: &Path) -> Result<PathBuf> {
    cargo_step(
        root,
        "release build (the binary and the examples, one feature resolution)",
        RELEASE_BUILD,
        &[],
    )?;
    Ok(target_dir(root).join("release"))
}

/// Runs a release example built by [`release`].
pub(crate) fn run_example(
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
pub(crate) fn run_built(
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
