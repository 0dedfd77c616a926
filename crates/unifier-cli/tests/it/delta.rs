//! Delta through the binary: SQL writes under the writer preset, `write` from a query and
//! from a file, `changes` with a cursor that hands out each change exactly once across
//! runs, and time travel in the manifest.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::unifier_in;

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temp dir with a copy of the Spark-written `simple_table_with_cdc` (CDF on,
/// `id INT, name STRING`; version 0 empty, version 2 one row) declared as `t`, and `t_v0` pinned at version 0.
pub(crate) fn catalog() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = crate::manifest_dir().join("../../testdata/delta/simple_table_with_cdc");
    copy_dir(&fixture, &dir.path().join("t"));
    std::fs::write(
        dir.path().join("unifier.toml"),
        r#"[policy]
preset = "writer"
read_diagnostics = true
# `write --file` reads files no dataset names: file access must be allowed.
allow_external_access = true

[[datasets]]
name = "t"
kind = "delta"
location = "t"

[[datasets]]
name = "t_v0"
kind = "delta"
location = "t"
version = 0
"#,
    )
    .unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    unifier_in(dir, args, None)
}

#[test]
fn sql_writes_write_and_changes_with_a_cursor() {
    let dir = catalog();
    let d = dir.path();
    let (code, out, err) = run(
        d,
        &["query", "--format", "csv", "SELECT count(*) AS n FROM t"],
    );
    assert_eq!((code, out.as_str()), (0, "n\n1\n"), "{err}");

    let (code, out, err) = run(d, &["query", "INSERT INTO t VALUES (100, 'a'), (101, 'b')"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("2 rows appended to `t`: version 2 -> 3 (insert path"),
        "{out}"
    );

    let (code, out, err) = run(
        d,
        &[
            "write",
            "t",
            "--sql",
            "SELECT CAST(200 AS INT) AS id, 'c' AS name",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("1 row appended to `t`: version 3 -> 4 (streaming path"),
        "{out}"
    );

    std::fs::write(
        d.join("more.ndjson"),
        "{\"id\": 300, \"name\": \"d\"}\n{\"id\": 301, \"name\": \"e\"}\n",
    )
    .unwrap();
    let (code, out, err) = run(d, &["write", "t", "--file", "more.ndjson"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("2 rows appended to `t`: version 4 -> 5"),
        "{out}"
    );

    let (code, out, err) = run(d, &["query", "DELETE FROM t WHERE id = 100"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("1 row deleted from `t`: version 5 -> 6 (operation path"),
        "{out}"
    );

    // The cursor hands out every change once: all of them, then nothing, then the new one.
    let changes = |d: &Path| run(d, &["changes", "t", "--cursor", "etl", "--format", "csv"]);
    let (code, out, err) = changes(d);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("id,name,_change_type,_commit_version"),
        "{out}"
    );
    assert!(
        out.contains("100,a,insert,3,") && out.contains("100,a,delete,6,"),
        "{out}"
    );
    let (code, out, err) = changes(d);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains("no new changes of `t` for cursor `etl`"),
        "{err}"
    );
    run(d, &["query", "INSERT INTO t VALUES (400, 'f')"]);
    let (code, out, _) = changes(d);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("400,f,insert,7,"), "{out}");

    // Time travel is read-only, and still reads version 0.
    let (code, _, err) = run(d, &["query", "INSERT INTO t_v0 VALUES (1, 'x')"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("table `t_v0` does not accept append"), "{err}");
    let (code, out, _) = run(
        d,
        &["query", "--format", "csv", "SELECT count(*) AS n FROM t_v0"],
    );
    assert_eq!((code, out.as_str()), (0, "n\n0\n"));

    let (code, out, _) = run(
        d,
        &[
            "query",
            "--format",
            "csv",
            "SELECT mode, path, commit FROM diagnostics.write ORDER BY ts",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "mode,path,commit\nappend,insert,committed\nappend,streaming,committed\nappend,streaming,committed\ndelete,operation,committed\nappend,insert,committed\n"
    );

    // The table shows the key figures of a kind; --wide every column.
    let (code, out, _) = run(d, &["diagnostics", "--kind", "write", "--limit", "2"]);
    assert_eq!(code, 0);
    let header = out.lines().nth(1).unwrap();
    assert!(
        header.contains("version_after") && header.contains("commit"),
        "{out}"
    );
    assert!(!header.contains("path_reason"), "{out}");
    assert!(out.contains("append `t`: 1 row, version 7"), "{out}");
    let (_, wide, _) = run(
        d,
        &["diagnostics", "--kind", "write", "--limit", "2", "--wide"],
    );
    assert!(
        wide.lines().nth(1).unwrap().contains("path_reason"),
        "{wide}"
    );
}

#[test]
fn a_view_with_declared_columns_is_checked_when_created() {
    let dir = catalog();
    let d = dir.path();
    let manifest = std::fs::read_to_string(d.join("unifier.toml")).unwrap();
    std::fs::write(
        d.join("unifier.toml"),
        format!(
            "{manifest}\n[[views]]\nname = \"ids\"\nsql = \"SELECT id FROM t\"\ncolumns = [{{ name = \"id\", type = \"bigint\" }}]\n"
        ),
    )
    .unwrap();
    let (code, _, err) = run(d, &["query", "SELECT * FROM ids"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("dataset `ids` is not available: it failed to register: view `ids` does not have its declared schema: column `id`: expected Int64, found Int32"),
        "{err}"
    );
    std::fs::write(
        d.join("unifier.toml"),
        format!(
            "{manifest}\n[[views]]\nname = \"ids\"\nsql = \"SELECT CAST(id AS BIGINT) AS id, name FROM t\"\ncolumns = [{{ name = \"id\", type = \"bigint\" }}]\nschema_mode = \"additive\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) = run(
        d,
        &["query", "--format", "csv", "SELECT count(*) AS n FROM ids"],
    );
    assert_eq!((code, out.as_str()), (0, "n\n1\n"), "{err}");
}

#[test]
fn check_uses_the_catalogs_policy_unless_told_otherwise() {
    let dir = catalog();
    let d = dir.path();
    // The catalog's preset is `writer`: a DELETE is allowed.
    let (code, out, _) = run(d, &["check", "DELETE FROM t"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = run(d, &["check", "--policy", "read_only", "DELETE FROM t"]);
    assert_eq!(code, 3);
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, _, _) = run(elsewhere.path(), &["check", "DELETE FROM t"]);
    assert_eq!(code, 3, "without a catalog: read_only");
}

#[test]
fn query_limits_rows_and_binds_named_parameters() {
    let dir = catalog();
    let d = dir.path();
    run(
        d,
        &["query", "INSERT INTO t VALUES (5, 'e'), (6, 'f'), (7, 'g')"],
    );
    let (code, out, err) = run(
        d,
        &[
            "query",
            "--format",
            "csv",
            "--limit",
            "2",
            "SELECT id FROM t ORDER BY id",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "id\n0\n5\n"), "{err}");
    let (code, out, err) = run(
        d,
        &[
            "query",
            "--format",
            "ndjson",
            "--param",
            "low=6",
            "--param",
            "name=g",
            "SELECT id FROM t WHERE id >= $low AND name = $name",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "{\"id\":7}\n"), "{err}");
    let (code, _, err) = run(d, &["query", "--param", "oops", "SELECT 1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--param `oops`: use NAME=VALUE"), "{err}");
}

#[test]
fn reading_events_writes_no_event_file() {
    let dir = catalog();
    let d = dir.path();
    run(d, &["query", "SELECT 1"]);
    let events = d.join(".unifier/diagnostics");
    let count = || std::fs::read_dir(&events).unwrap().count();
    let before = count();
    assert!(before >= 1);
    let (code, out, _) = run(d, &["diagnostics", "--kind", "execute"]);
    assert_eq!(code, 0);
    assert!(out.contains("execute"), "{out}");
    assert_eq!(count(), before, "`diagnostics` created a file");
}

#[test]
fn plan_errors_point_at_the_sql() {
    let dir = catalog();
    let (code, _, err) = run(dir.path(), &["query", "SELECT id,\n  idd FROM t"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("No field named idd"), "{err}");
    assert!(
        err.contains("at line 2, column 3: column 'idd' not found\n  |\n2 |   idd FROM t\n  |   ^"),
        "{err}"
    );
}

#[test]
fn a_delta_dataset_with_columns_is_created_when_missing_and_checked_when_present() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = |columns: &str| {
        format!(
            "[policy]\npreset = \"writer\"\n\n[[datasets]]\nname = \"events\"\nkind = \"delta\"\nlocation = \"lake/events\"\nchange_data_feed = true\npartition_by = [\"day\"]\ncolumns = [{columns}]\n"
        )
    };
    std::fs::write(
        dir.path().join("unifier.toml"),
        manifest(r#"{ name = "id", type = "bigint", nullable = false }, { name = "amount", type = "decimal(10, 2)" }, { name = "day", type = "date" }"#),
    )
    .unwrap();
    let (code, out, err) = run(dir.path(), &["tables"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "events (delta), 3 columns, 0 files, partitioned by day:date, delta version 0"
        ),
        "{out}"
    );
    assert!(out.contains("changeDataFeed"), "{out}");
    let (code, out, err) = run(
        dir.path(),
        &[
            "query",
            "INSERT INTO events VALUES (1, 12.50, DATE '2026-11-27')",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("version 0 -> 1"), "{out}");
    assert!(dir.path().join("lake/events/day=2026-11-27").is_dir());
    let (code, out, _) = run(
        dir.path(),
        &["query", "--format", "csv", "SELECT id, amount FROM events"],
    );
    assert_eq!((code, out.as_str()), (0, "id,amount\n1,12.50\n"));

    // The table is there now: declared columns that differ name the difference.
    std::fs::write(
        dir.path().join("unifier.toml"),
        manifest(r#"{ name = "id", type = "bigint", nullable = false }, { name = "amount", type = "double" }, { name = "day", type = "date" }"#),
    )
    .unwrap();
    let (code, _, err) = run(dir.path(), &["query", "SELECT count(*) FROM events"]);
    assert_eq!(code, 1);
    assert!(err.contains("dataset `events` is unavailable"), "{err}");
    assert!(err.contains("amount"), "{err}");

    // Creation settings without columns are a manifest error.
    std::fs::write(
        dir.path().join("unifier.toml"),
        "[[datasets]]\nname = \"events\"\nkind = \"delta\"\nlocation = \"lake/events\"\nchange_data_feed = true\n",
    )
    .unwrap();
    let (code, _, err) = run(dir.path(), &["tables"]);
    assert_eq!(code, 2);
    assert!(err.contains("unifier.toml:1: dataset `events`: `change_data_feed` and `partition_by` describe the table to create: declare its `columns` too"), "{err}");
}

#[test]
fn a_cursor_acknowledges_only_what_a_reader_that_stayed_received() {
    use std::io::BufRead;
    let dir = catalog();
    let d = dir.path();
    // Enough changes that they cannot all sit in the pipe's buffer.
    let (code, _, err) = run(
        d,
        &[
            "query",
            "INSERT INTO t SELECT value, 'row ' || value FROM generate_series(1000, 60000)",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // `| head -2`: the reader takes two lines and leaves.
    let mut child = Command::new(env!("CARGO_BIN_EXE_unifier"))
        .current_dir(d)
        .args(["changes", "t", "--cursor", "etl", "--format", "csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    lines.next().unwrap().unwrap();
    lines.next().unwrap().unwrap();
    drop(lines);
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("cursor `etl` stays where it was"), "{err}");
    // Nothing was acknowledged: the next reader gets every change.
    let (code, out, err) = run(d, &["changes", "t", "--cursor", "etl", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let (_, everything, _) = run(d, &["changes", "t", "--format", "csv"]);
    assert_eq!(out, everything, "{err}");
    assert!(out.lines().count() > 59_001, "{err}");
    let (_, out, err) = run(d, &["changes", "t", "--cursor", "etl", "--format", "csv"]);
    assert!(out.is_empty() && err.contains("no new changes"), "{err}");

    // A new cursor may start at a version; an existing one may not be moved so.
    let (code, out, err) = run(
        d,
        &[
            "changes",
            "t",
            "--cursor",
            "late",
            "--starting-version",
            "1",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, from_one, _) = run(
        d,
        &["changes", "t", "--starting-version", "1", "--format", "csv"],
    );
    assert_eq!(out, from_one);
    let (code, _, err) = run(
        d,
        &[
            "changes",
            "t",
            "--cursor",
            "late",
            "--starting-version",
            "1",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--starting-version only starts a new cursor"),
        "{err}"
    );
}

#[test]
fn a_read_only_catalog_writes_nothing_and_offers_no_writes() {
    let dir = catalog();
    let d = dir.path();
    std::fs::write(
        d.join("unifier.toml"),
        r#"[policy]
preset = "read_only"

[[datasets]]
name = "t"
kind = "delta"
location = "t"

[[datasets]]
name = "events"
kind = "delta"
location = "lake/events"
columns = [{ name = "id", type = "bigint" }]
"#,
    )
    .unwrap();
    let (code, out, err) = run(d, &["tables"]);
    assert_eq!(code, 0, "{err}");
    // The declared table is not created: no directory, no log, and it says why.
    assert!(!d.join("lake").exists(), "a read-only command wrote {out}");
    assert!(
        out.contains("events (delta): UNAVAILABLE") && out.contains("this policy allows no writes"),
        "{out}"
    );
    // An existing table is listed without the writes the policy forbids.
    let t = out.lines().find(|l| l.starts_with("t (delta")).unwrap();
    assert!(!t.contains("writes:"), "{t}");
    let (code, out, _) = run(
        d,
        &[
            "query",
            "--format",
            "csv",
            "SELECT name, cardinality(capabilities) AS writes FROM system.datasets WHERE name = 't'",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(out, "name,writes\nt,0\n");
}
