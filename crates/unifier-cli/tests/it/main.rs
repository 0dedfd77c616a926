//! End-to-end tests of the `unifier` binary: outputs (insta snapshots) and exit codes.

mod catalog;
mod delta;
mod demo;
mod faults;
mod shell;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// This crate's directory as the test runner reports it when the test runs: a test binary
/// can have been built in another clone sharing the target directory (cargo reuses it),
/// and the compile-time path would name that clone.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// Runs `unifier` with `args` and `stdin`; returns (exit code, stdout, stderr).
fn unifier(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    unifier_in(&manifest_dir(), args, stdin)
}

/// Runs `unifier` in `dir`.
fn unifier_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_unifier"))
        .current_dir(dir)
        .env_remove("UNIFIER_LOG")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the unifier binary starts");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            input.write_all(bytes).expect("write stdin");
        }
    }
    let output = child.wait_with_output().expect("unifier runs");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The snapshot settings, defined once: fingerprints and temp paths are redacted.
fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let crate_dir: String = manifest_dir()
        .to_string_lossy()
        .chars()
        .flat_map(|c| {
            let escape = !(c.is_alphanumeric() || c == '/' || c == '_');
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect();
    settings.add_filter(&crate_dir, "[CRATE]");
    // DataFusion prints local paths without their leading `/`.
    settings.add_filter(&crate_dir[1..], "[CRATE]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    settings.add_filter(r"/tmp/[^\s`'\x22,\]]+", "[TMP]");
    settings.add_filter(
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[UUID]",
    );
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    settings.add_filter(r#""duration_us":\d+"#, r#""duration_us":[DURATION]"#);
    settings.add_filter(r"plan_hash: [0-9a-f]{16}", "plan_hash: [HASH]");
    settings.set_prepend_module_to_snapshot(false);
    // Where this checkout keeps them, not where the binary was compiled.
    settings.set_snapshot_path(manifest_dir().join("tests/it/snapshots"));
    settings
}

fn snapshot(name: &str, args: &[&str], stdin: Option<&[u8]>) -> i32 {
    snapshot_in(&manifest_dir(), name, args, stdin)
}

fn snapshot_in(dir: &Path, name: &str, args: &[&str], stdin: Option<&[u8]>) -> i32 {
    let (code, stdout, stderr) = unifier_in(dir, args, stdin);
    let shown = format!(
        "$ unifier {}\nexit: {code}\n{stdout}{stderr}",
        args.join(" ")
    );
    settings().bind(|| insta::assert_snapshot!(name, shown));
    code
}

fn fixture(name: &str) -> String {
    format!("{}/tests/it/{name}", manifest_dir().display())
}

#[test]
fn text_output() {
    snapshot(
        "text_allow",
        &["check", "select a, count(*) from t group by a"],
        None,
    );
    snapshot(
        "text_deny",
        &[
            "check",
            "SELECT 1;\nDELETE FROM t WHERE id IN (SELECT id FROM 's3://b/k')",
        ],
        None,
    );
    snapshot("text_error", &["check", "SELECT a\nFROM t\nWHERE"], None);
    let warn = fixture("warn-postgres.toml");
    snapshot(
        "text_warning",
        &["check", "--policy", &warn, "SELECT * FROM t FOR UPDATE"],
        None,
    );
}

#[test]
fn json_output() {
    snapshot(
        "json_allow",
        &[
            "check",
            "--format",
            "json",
            "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        ],
        None,
    );
    snapshot(
        "json_deny",
        &[
            "check",
            "--format",
            "json",
            "--policy",
            "writer",
            "COPY (SELECT 1) TO '/tmp/out.parquet'",
        ],
        None,
    );
    snapshot(
        "json_error",
        &["check", "--format", "json", "-"],
        Some(b"SELECT (1"),
    );
    snapshot(
        "json_function_denied",
        &[
            "check",
            "--format",
            "json",
            "--policy",
            &fixture("warn-postgres.toml"),
            "SELECT pg_sleep(1)",
        ],
        None,
    );
}

#[test]
fn json_is_one_object_with_the_documented_keys() {
    let (_, stdout, _) = unifier(&["check", "--format", "json", "DELETE FROM t"], None);
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "verdict",
        "classes",
        "violations",
        "canonical_sql",
        "ast_fingerprint",
        "policy_fingerprint",
        "dialect",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(value["verdict"], "deny");
    assert_eq!(value["classes"], serde_json::json!(["dml"]));
    assert_eq!(value["violations"][0]["code"], "class_denied");
    assert_eq!(value["violations"][0]["line"], 1);
}

#[test]
fn exit_codes() {
    let warn = fixture("warn-postgres.toml");
    let broken = fixture("broken.toml");
    type Case<'a> = (&'a [&'a str], Option<&'a [u8]>, i32);
    let cases: &[Case] = &[
        (&["check", "SELECT 1"], None, 0),
        (&["check", "-"], Some(b"SELECT 1"), 0),
        (&["check"], Some(b"SELECT 1\n"), 0),
        (
            &["check", "--policy", "writer", "INSERT INTO t VALUES (1)"],
            None,
            0,
        ),
        (
            &["check", "--policy", &warn, "SELECT * FROM t FOR UPDATE"],
            None,
            0,
        ),
        (&["check", "INSERT INTO t VALUES (1)"], None, 3),
        (&["check", "SELECT 1; SELECT 2"], None, 3),
        (&["check", "SELECT * FROM 'x.parquet'"], None, 3),
        (&["check", "SELEC 1"], None, 4),
        (&["check", ""], None, 4),
        (&["check"], Some(b"SELECT \xff\xfe"), 4),
        (
            &["check", "--dialect", "mssql", "SELECT [a] FROM [t]"],
            None,
            0,
        ),
        (&["check", "--dialect", "klingon", "SELECT 1"], None, 2),
        (&["check", "--policy", "superuser", "SELECT 1"], None, 2),
        (&["check", "--policy", &broken, "SELECT 1"], None, 2),
        (&["check", "--format", "yaml", "SELECT 1"], None, 2),
        (&["check", "--frobnicate"], None, 2),
        (&["frobnicate"], None, 2),
        (&["--help"], None, 0),
    ];
    for (args, stdin, expected) in cases {
        let (code, stdout, stderr) = unifier(args, *stdin);
        assert_eq!(
            code, *expected,
            "unifier {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
    }
}

#[test]
fn usage_errors_name_the_input() {
    let (_, _, stderr) = unifier(
        &["check", "--policy", &fixture("broken.toml"), "SELECT 1"],
        None,
    );
    assert!(
        stderr.contains("broken.toml") && stderr.contains("max_depht"),
        "{stderr}"
    );
    let (_, _, stderr) = unifier(&["check", "--dialect", "klingon", "SELECT 1"], None);
    assert!(
        stderr.contains("`klingon`") && stderr.contains("postgresql"),
        "{stderr}"
    );
}
