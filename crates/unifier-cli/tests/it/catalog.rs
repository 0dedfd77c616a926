//! `query`, `explain`, `tables`, `diagnostics` over a catalog manifest.

use std::path::{Path, PathBuf};

use crate::{fixture, snapshot_in, unifier_in};

/// A temp dir with `unifier.toml` over the checked-in data (`tests/it/data`) and the
/// diagnostics directory inside the temp dir.
struct Catalog {
    dir: tempfile::TempDir,
}

impl Catalog {
    fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = fixture("data");
        let manifest = format!(
            r#"[policy]
preset = "read_only"

[runtime]
query_timeout_ms = 60000

[scan]
target_partitions = 2

[diagnostics]
dir = "events"

[[datasets]]
name = "trips"
kind = "csv"
location = "{data}/trips"
sort_order = [{{ column = "id", direction = "asc" }}]

[[datasets]]
name = "zones"
kind = "json"
location = "{data}/zones"

[[views]]
name = "fares"
sql = "SELECT z.name, sum(t.fare) AS total FROM trips t JOIN zones z ON t.zone = z.zone GROUP BY z.name"
{extra}"#
        );
        std::fs::write(dir.path().join("unifier.toml"), manifest).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn manifest(&self) -> PathBuf {
        self.path().join("unifier.toml")
    }
}

#[test]
fn query_in_every_format() {
    let c = Catalog::new("");
    let sql = "SELECT name, total FROM fares ORDER BY total DESC";
    for format in ["table", "csv", "json", "ndjson"] {
        snapshot_in(
            c.path(),
            &format!("query_{format}"),
            &["query", "--format", format, sql],
            None,
        );
    }
    // An empty result still has its header.
    snapshot_in(
        c.path(),
        "query_empty_csv",
        &[
            "query",
            "--format",
            "csv",
            "SELECT id FROM trips WHERE id > 100",
        ],
        None,
    );
}

#[test]
fn json_rows_are_objects_and_ndjson_is_one_per_line() {
    let c = Catalog::new("");
    let (code, out, _) = unifier_in(
        c.path(),
        &[
            "query",
            "--format",
            "json",
            "SELECT id, zone FROM trips ORDER BY id",
        ],
        None,
    );
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 6);
    assert_eq!(rows[0], serde_json::json!({"id": 1, "zone": "a"}));
    let (_, out, _) = unifier_in(
        c.path(),
        &[
            "query",
            "--format",
            "ndjson",
            "SELECT id FROM trips ORDER BY id",
        ],
        None,
    );
    assert_eq!(out.lines().count(), 6);
}

#[test]
fn explain_shows_the_verdict_the_plan_and_the_sort_decision() {
    let c = Catalog::new("");
    snapshot_in(
        c.path(),
        "explain_sorted",
        &["explain", "SELECT id FROM trips ORDER BY id"],
        None,
    );
    let (code, out, _) = unifier_in(
        c.path(),
        &[
            "explain",
            "--analyze",
            "SELECT id FROM trips WHERE id > 2 ORDER BY id",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("sort elided"), "{out}");
    assert!(out.contains("pruning: "), "{out}");
    assert!(out.contains("rows: 4"), "{out}");
    assert!(out.contains("output_rows="), "metrics are shown: {out}");
}

#[test]
fn tables_lists_capabilities() {
    let c = Catalog::new("");
    snapshot_in(c.path(), "tables_text", &["tables"], None);
    let (code, out, _) = unifier_in(c.path(), &["tables", "--format", "json"], None);
    assert_eq!(code, 0);
    let tables: serde_json::Value = serde_json::from_str(&out).unwrap();
    let trips = tables
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "trips")
        .unwrap();
    assert_eq!(trips["sort_verification"]["state"], "verified");
    assert_eq!(trips["capabilities"]["append"], false);
    assert_eq!(trips["delta"], serde_json::Value::Null);
    assert_eq!(trips["columns"][0]["name"], "id");
}

#[test]
fn denied_statements_exit_3_and_run_nothing() {
    let c = Catalog::new("");
    let (code, out, err) = unifier_in(c.path(), &["query", "DROP TABLE trips"], None);
    assert_eq!((code, out.as_str()), (3, ""));
    assert!(err.contains("violation class_denied"), "{err}");
    let (code, _, err) = unifier_in(c.path(), &["query", "SELEC 1"], None);
    assert_eq!(code, 4, "{err}");
    // No execute event was recorded for either.
    let (_, out, _) = unifier_in(
        c.path(),
        &["diagnostics", "--kind", "execute", "--format", "ndjson"],
        None,
    );
    assert_eq!(out, "", "{out}");
    let (_, out, _) = unifier_in(
        c.path(),
        &["diagnostics", "--kind", "policy", "--format", "ndjson"],
        None,
    );
    assert!(
        out.contains(r#""verdict":"deny""#) && out.contains(r#""codes":["class_denied"]"#),
        "{out}"
    );
}

#[test]
fn diagnostics_show_events_of_earlier_runs() {
    let c = Catalog::new("");
    for _ in 0..2 {
        let (code, _, err) = unifier_in(c.path(), &["query", "SELECT count(*) FROM trips"], None);
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = unifier_in(
        c.path(),
        &["diagnostics", "--kind", "execute", "--format", "ndjson"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{out}");
    assert_ne!(
        events[0]["session_id"], events[1]["session_id"],
        "two processes, two sessions"
    );
    assert_eq!(events[0]["rows"], 1);
    assert_eq!(events[0]["inputs"], serde_json::json!(["trips"]));
    let (_, out, _) = unifier_in(
        c.path(),
        &["diagnostics", "--limit", "1", "--format", "json"],
        None,
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (code, _, err) = unifier_in(c.path(), &["diagnostics", "--kind", "nope"], None);
    assert_eq!(code, 2);
    assert!(err.contains("unknown event kind `nope`"), "{err}");
}

#[test]
fn the_default_manifest_is_the_one_in_the_current_directory() {
    let c = Catalog::new("");
    let (code, out, _) = unifier_in(
        c.path(),
        &["query", "SELECT count(*) AS n FROM zones"],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("| 3 |"), "{out}");
    let elsewhere = tempfile::tempdir().unwrap();
    let manifest = c.manifest();
    let (code, out, _) = unifier_in(
        elsewhere.path(),
        &[
            "query",
            "--catalog",
            manifest.to_str().unwrap(),
            "SELECT count(*) AS n FROM zones",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("| 3 |"), "{out}");
    // Without a manifest there is no `zones`.
    let (code, _, err) = unifier_in(
        elsewhere.path(),
        &["query", "SELECT count(*) FROM zones"],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("zones"), "{err}");
}

#[test]
fn manifest_errors_name_the_file_line_and_key() {
    let cases = [
        ("[diagnostics.extra]\nx = 1\n", "unknown field `extra`"),
        (
            "[[datasets]]\nname = \"bad\"\nkind = \"listing\"\nlocation = \"x\"\n",
            "needs `format`",
        ),
        (
            "[[datasets]]\nname = \"trips\"\nkind = \"csv\"\nlocation = \"x\"\n",
            "`trips` is declared twice (first on line 13)",
        ),
        (
            "[[datasets]]\nname = \"p\"\nkind = \"csv\"\nlocation = \"x\"\npartition_cols = [{ name = \"d\", type = \"when\" }]\n",
            "invalid column type `when`",
        ),
    ];
    for (extra, expected) in cases {
        let c = Catalog::new(extra);
        let (code, _, err) = unifier_in(c.path(), &["tables"], None);
        assert_eq!(code, 2, "{extra}: {err}");
        assert!(err.contains("unifier.toml"), "the file is named: {err}");
        assert!(err.contains(expected), "{extra}: {err}");
    }
    let c = Catalog::new("");
    std::fs::write(c.manifest(), "[policy]\npreset = \"root\"\n").unwrap();
    let (code, _, err) = unifier_in(c.path(), &["tables"], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unifier.toml [policy]") && err.contains("`root`"),
        "{err}"
    );
    // A bad value is shown at its own line of the manifest, not of a copy of the section.
    std::fs::write(
        c.manifest(),
        "# the catalog\n\n[policy]\npreset = \"read_only\"\nmax_sql_bytes = \"lots\"\n",
    )
    .unwrap();
    let (code, _, err) = unifier_in(c.path(), &["tables"], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("at line 5, column 17") && err.contains("5 | max_sql_bytes = \"lots\""),
        "{err}"
    );
    // An error in the data (not the manifest's text) leaves the others queryable; the
    // broken dataset is listed with its cause, and a query that reads it exits 1.
    let c = Catalog::new(
        "[[datasets]]\nname = \"gone\"\nkind = \"parquet\"\nlocation = \"no/such/dir\"\n",
    );
    let (code, out, err) = unifier_in(c.path(), &["tables"], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "warning: unifier.toml:27: dataset `gone` is unavailable: table `gone`: location"
        ),
        "{err}"
    );
    assert!(
        out.contains("gone (listing): UNAVAILABLE: table `gone`: location"),
        "{out}"
    );
    let (code, out, _) = unifier_in(
        c.path(),
        &["query", "--format", "csv", "SELECT 1 AS one"],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "one\n1\n"));
    let (code, out, _) = unifier_in(
        c.path(),
        &[
            "query",
            "--format",
            "csv",
            "SELECT name, error IS NOT NULL AS failed FROM system.datasets WHERE name = 'gone'",
        ],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "name,failed\ngone,true\n"));
    let (code, _, err) = unifier_in(c.path(), &["query", "SELECT count(*) FROM gone"], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "dataset `gone` is not available: it failed to register: table `gone`: location"
        ),
        "{err}"
    );
    // Semantic errors carry the line of the entry.
    let c = Catalog::new("\n[[datasets]]\nname = \"bad\"\nkind = \"listing\"\nlocation = \"x\"\n");
    let (_, _, err) = unifier_in(c.path(), &["tables"], None);
    assert!(err.contains("unifier.toml:28: dataset `bad`"), "{err}");
}

#[test]
fn a_verified_order_is_remembered_until_a_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sorted.csv");
    std::fs::write(&csv, "k,v\n1,a\n2,b\n3,c\n").unwrap();
    std::fs::write(
        dir.path().join("unifier.toml"),
        "[[datasets]]\nname = \"s\"\nkind = \"csv\"\nlocation = \"sorted.csv\"\nsort_order = [{ column = \"k\" }]\nsort_check = \"full\"\n",
    )
    .unwrap();
    let tables = |dir: &Path| unifier_in(dir, &["tables"], None);
    let (code, out, err) = tables(dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("sorted by k ASC NULLS LAST (verified)"),
        "{out}"
    );
    assert!(dir.path().join(".unifier/sort-cache.json").is_file());

    // Same size, same modification time: the remembered verification is used, so even
    // an order broken this way goes unnoticed (the documented limit of the key) ...
    let modified = std::fs::metadata(&csv).unwrap().modified().unwrap();
    std::fs::write(&csv, "k,v\n3,a\n2,b\n1,c\n").unwrap();
    std::fs::File::options()
        .append(true)
        .open(&csv)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let (code, out, _) = tables(dir.path());
    assert_eq!(code, 0);
    assert!(out.contains("(verified)"), "{out}");

    // ... and a file that changed as files do (a new modification time) is read again.
    std::fs::File::options()
        .append(true)
        .open(&csv)
        .unwrap()
        .set_modified(modified + std::time::Duration::from_secs(1))
        .unwrap();
    let (code, out, err) = tables(dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("s (listing): UNAVAILABLE"), "{out}");
    assert!(err.contains("contradicted"), "{err}");
}

#[test]
fn history_is_read_only_by_queries_of_diagnostics_and_kept_within_retention() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("unifier.toml"),
        "[diagnostics]\nretention_days = 30\n",
    )
    .unwrap();
    let events = dir.path().join(".unifier/diagnostics");
    std::fs::create_dir_all(&events).unwrap();
    // A session file from 40 days ago, and one the history reader cannot read.
    // (Named as the recorder names its files: retention deletes nothing else.)
    let old = events.join("events-00000000-0000-4000-8000-000000000040.jsonl");
    std::fs::write(&old, "").unwrap();
    std::fs::File::options()
        .append(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400))
        .unwrap();
    std::fs::create_dir(events.join("events-00000000-0000-4000-8000-0000000000bb.jsonl")).unwrap();

    let (code, out, err) = unifier_in(
        dir.path(),
        &["query", "--format", "csv", "SELECT 1 AS one"],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "one\n1\n"), "{err}");
    assert!(
        !old.exists(),
        "retention_days = 30 deletes a 40-day-old session file"
    );

    // The default policy (read_only) does not read the audit trail.
    let (code, _, err) = unifier_in(
        dir.path(),
        &["query", "SELECT history_skipped FROM diagnostics.recorder"],
        None,
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("diagnostics_denied"), "{err}");
    std::fs::write(
        dir.path().join("unifier.toml"),
        "[policy]\nread_diagnostics = true\n\n[diagnostics]\nretention_days = 30\n",
    )
    .unwrap();

    // Only a query of diagnostics.* reads history; the unreadable entry is counted.
    let (code, out, err) = unifier_in(
        dir.path(),
        &[
            "query",
            "--format",
            "csv",
            "SELECT history_skipped FROM diagnostics.recorder",
        ],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "history_skipped\n1\n"), "{err}");
}

/// `[diagnostics] full_sql`, as docs/catalog.md shows it: off, the events on disk hold
/// the statement with `$1` for its literal; on, the literal itself.
#[test]
fn diagnostics_full_sql_keeps_literals_only_when_asked() {
    for full_sql in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("unifier.toml"),
            format!("[diagnostics]\ndir = \"events\"\nfull_sql = {full_sql}\n"),
        )
        .unwrap();
        let (code, _, err) =
            unifier_in(dir.path(), &["query", "SELECT 'secret-literal' AS x"], None);
        assert_eq!(code, 0, "{err}");
        let mut text = String::new();
        for entry in std::fs::read_dir(dir.path().join("events")).unwrap() {
            text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
        assert!(text.contains("\"kind\":\"policy\""), "{text}");
        assert_eq!(text.contains("secret-literal"), full_sql, "{text}");
        assert_eq!(text.contains("SELECT $1 AS x"), !full_sql, "{text}");
    }
}

/// Found by `cargo xtask fuzz --manifest`: both settings made the binary panic with
/// "capacity overflow" (the second in `main`). Now the manifest is refused, naming them.
#[test]
fn absurd_runtime_sizes_in_a_manifest_are_usage_errors() {
    for (section, setting) in [
        ("runtime", "batch_size = 9223372036854775807"),
        ("scan", "target_partitions = 18446744073709551615"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("unifier.toml"),
            format!("[{section}]\n{setting}\n"),
        )
        .unwrap();
        let (code, out, err) = unifier_in(dir.path(), &["query", "SELECT 1"], None);
        assert_eq!(code, 2, "{setting}: {err}");
        assert!(out.is_empty());
        assert!(!err.contains("panicked"), "{err}");
        let name = setting.split(" = ").next().unwrap();
        assert!(
            err.contains(&format!("{setting} is too large")),
            "{name}: {err}"
        );
    }
}
