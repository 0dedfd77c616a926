//! `unifier shell`, driven as a user drives it: a script on stdin, a signal while a
//! statement runs, and a real terminal (a pty from `script`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::unifier_in;

/// A catalog with one csv dataset `cities` and the writer policy.
fn catalog() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cities.csv"),
        "name,population\nLyon,522000\nNantes,320000\nParis,2100000\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("unifier.toml"),
        "[policy]\npreset = \"writer\"\n\n[[datasets]]\nname = \"cities\"\nkind = \"csv\"\nlocation = \"cities.csv\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_script_runs_statements_and_dot_commands_through_the_gate() {
    let dir = catalog();
    let script = "\
.tables
.schema cities
-- a statement over two lines, a `;` inside a comment and a string
SELECT name -- ; not the end
  FROM cities WHERE name <> ';' ORDER BY population DESC LIMIT 1;
.format csv
SELECT 1 AS a; SELECT 2 AS b;
DROP TABLE cities;
SELECT count(*) AS n FROM cities;
.diagnostics 2
.policy
.schema nowhere
.timer on
SELECT 'last, without a semicolon' AS s
";
    let (code, out, err) = unifier_in(dir.path(), &["shell"], Some(script.as_bytes()));
    // The first failure decides a script's exit code: the denied DROP.
    assert_eq!(code, 3, "{out}{err}");
    for shown in [
        "cities (listing, csv), 2 columns, 1 file",
        "cities (listing)\n  name string\n  population bigint\n",
        "| Paris |",
        "a\n1\nb\n2\n",
        "n\n3\n",
        "| execute | ok     |",
        "# preset: writer",
        "allowed_classes = [\"query\", \"dml\"]",
        "s\n\"last, without a semicolon\"\n",
    ] {
        assert!(out.contains(shown), "`{shown}` missing from:\n{out}");
    }
    for shown in [
        "violation class_denied at line 1, column 1",
        "no dataset `nowhere` in the catalog; .tables lists them",
        "time: ",
    ] {
        assert!(err.contains(shown), "`{shown}` missing from:\n{err}");
    }
    // The denied statement ran nothing: the data is still there.
    assert!(dir.path().join("cities.csv").is_file());
}

#[test]
fn ctrl_c_cancels_the_running_statement_and_the_shell_goes_on() {
    let dir = catalog();
    let mut child = Command::new(env!("CARGO_BIN_EXE_unifier"))
        .current_dir(dir.path())
        .args(["shell", "--format", "csv"])
        .env_remove("UNIFIER_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Endless for a test: a hundred billion rows.
    stdin
        .write_all(b"SELECT count(*) FROM generate_series(1, 100000000000);\n")
        .unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    stdin.write_all(b"SELECT 42 AS answer;\n").unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the shell did not cancel the statement");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(err.contains("cancelled"), "{err}");
    assert_eq!(out, "answer\n42\n", "{err}");
    // The cancelled statement is the script's failure.
    assert_eq!(output.status.code(), Some(1));
}

/// Runs the shell in a pseudo-terminal (`script`), typing `keys` with pauses.
fn on_a_terminal(dir: &Path, keys: &[&str]) -> String {
    let command = format!("{} shell", env!("CARGO_BIN_EXE_unifier"));
    let mut child = Command::new("script")
        .current_dir(dir)
        .args(["-qfec", &command, "/dev/null"])
        .env_remove("UNIFIER_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    for key in keys {
        std::thread::sleep(Duration::from_millis(700));
        stdin.write_all(key.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(700));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn on_a_terminal_statements_span_lines_ctrl_c_clears_and_history_is_kept() {
    let dir = catalog();
    let screen = on_a_terminal(
        dir.path(),
        &[
            "SELECT 'typed, then abandoned' AS x\r",
            "\x03",
            "SELECT name FROM cities\r",
            "WHERE population > 1000000;\r",
            ".quit\r",
        ],
    );
    assert!(
        screen.contains("unifier shell over unifier.toml (1 datasets, policy writer)"),
        "{screen}"
    );
    assert!(screen.contains("| Paris |"), "{screen}");
    assert!(!screen.contains("| typed, then abandoned |"), "{screen}");
    let history = std::fs::read_to_string(dir.path().join(".unifier/shell_history")).unwrap();
    // One entry for the whole statement (rustyline keeps its newline escaped).
    assert!(
        history.contains("SELECT name FROM cities\\nWHERE population > 1000000;"),
        "{history}"
    );
    assert!(!history.contains("abandoned"), "{history}");
}

#[test]
fn query_output_files_appear_whole_or_not_at_all() {
    let dir = catalog();
    let run = |args: &[&str]| unifier_in(dir.path(), args, None);
    let (code, _, err) = run(&[
        "query",
        "-o",
        "out.csv",
        "SELECT name FROM cities ORDER BY name",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 rows written to out.csv"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "name\nLyon\nNantes\nParis\n"
    );
    // Parquet by extension, read back as a dataset of the catalog.
    let (code, _, err) = run(&[
        "query",
        "--output",
        "big.parquet",
        "SELECT name, population * 2 AS twice FROM cities",
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        dir.path().join("more.toml"),
        "[[datasets]]\nname = \"big\"\nkind = \"parquet\"\nlocation = \"big.parquet\"\n",
    )
    .unwrap();
    let (code, out, err) = unifier_in(
        dir.path(),
        &[
            "--catalog",
            "more.toml",
            "query",
            "--format",
            "ndjson",
            "SELECT max(twice) AS m FROM big",
        ],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "{\"m\":4200000}\n"), "{err}");
    // A failing query leaves no file, not even a partial one.
    let (code, _, err) = run(&[
        "query",
        "-o",
        "fail.csv",
        "SELECT population / (population - population) FROM cities",
    ]);
    assert_eq!(code, 1, "{err}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("fail")), "{names:?}");
    // Parquet is for files; an unknown extension needs --format.
    let (code, _, err) = run(&["query", "--format", "parquet", "SELECT 1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--output FILE.parquet"), "{err}");
    let (code, _, err) = run(&["query", "-o", "out.xyz", "SELECT 1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--output `out.xyz`: cannot tell the format"),
        "{err}"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let dir = catalog();
    let mut child = Command::new(env!("CARGO_BIN_EXE_unifier"))
        .current_dir(dir.path())
        .args([
            "query",
            "--format",
            "csv",
            "SELECT value FROM generate_series(1, 5000000)",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"value\n");
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}
