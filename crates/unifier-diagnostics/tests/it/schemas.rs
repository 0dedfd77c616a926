//! Schemas are a boundary: a change without a version bump fails here, and
//! `docs/event-schemas.md` is generated from the registry.
//!
//! After an intended change (with its version bump), regenerate both files with
//! `UNIFIER_BLESS=1 cargo nextest run -p unifier-diagnostics schemas`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use unifier_diagnostics::arrow::datatypes::SchemaRef;
use unifier_diagnostics::{
    COMMON_COLUMNS, EventKind, RECORDER_TABLE, SCHEMA_VERSION_KEY, all_schemas,
};

fn crate_dir() -> PathBuf {
    crate::manifest_dir()
}

fn bless() -> bool {
    std::env::var_os("UNIFIER_BLESS").is_some()
}

fn render_columns(schema: &SchemaRef) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let null = if f.is_nullable() { "null" } else { "not null" };
            format!("{} {} {null}", f.name(), f.data_type())
        })
        .collect()
}

fn version(schema: &SchemaRef) -> u32 {
    schema.metadata()[SCHEMA_VERSION_KEY].parse().unwrap()
}

/// `[table vN]` followed by one line per column.
fn render_lock() -> String {
    let mut out = String::new();
    for (table, schema) in all_schemas() {
        out.push_str(&format!("[{table} v{}]\n", version(&schema)));
        for column in render_columns(&schema) {
            out.push_str(&column);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn parse_lock(text: &str) -> BTreeMap<String, (u32, Vec<String>)> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (name, v) = header.split_once(" v").unwrap();
            tables.insert(name.to_owned(), (v.parse().unwrap(), Vec::new()));
            current = Some(name.to_owned());
        } else {
            let name = current.as_ref().unwrap();
            tables.get_mut(name).unwrap().1.push(line.to_owned());
        }
    }
    tables
}

fn check_or_bless(path: &Path, expected: &str, what: &str) {
    if bless() {
        std::fs::write(path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date with the {what}; run with UNIFIER_BLESS=1 to regenerate",
        path.display()
    );
}

#[test]
fn a_schema_change_needs_a_version_bump() {
    let path = crate_dir().join("schemas.lock");
    let locked = parse_lock(&std::fs::read_to_string(&path).unwrap_or_default());
    let mut problems = Vec::new();
    for (table, schema) in all_schemas() {
        let (v, columns) = (version(&schema), render_columns(&schema));
        match locked.get(table) {
            Some((lv, lcols)) if *lv == v && *lcols != columns => problems.push(format!(
                "diagnostics.{table} changed but is still v{v}: bump its schema_version"
            )),
            Some((lv, _)) if *lv > v => {
                problems.push(format!("diagnostics.{table} went back from v{lv} to v{v}"))
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Bumped or new tables: the lock must be regenerated on purpose.
    check_or_bless(&path, &render_lock(), "schema registry");
}

#[test]
fn every_schema_carries_its_version_and_the_common_columns() {
    for (table, schema) in all_schemas() {
        assert!(version(&schema) >= 1, "{table}");
        assert_eq!(schema.metadata()["table"], format!("diagnostics.{table}"));
        if table != RECORDER_TABLE {
            let names: Vec<&str> = schema
                .fields()
                .iter()
                .take(COMMON_COLUMNS.len())
                .map(|f| f.name().as_str())
                .collect();
            let common: Vec<&str> = COMMON_COLUMNS.iter().map(|c| c.name).collect();
            assert_eq!(names, common, "{table}");
        }
    }
    for kind in EventKind::ALL {
        let documented: Vec<&str> = kind.column_docs().iter().map(|c| c.name).collect();
        let fields: Vec<String> = kind.fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(documented, fields, "{kind}");
        assert!(
            kind.column_docs().iter().all(|c| !c.doc.trim().is_empty()),
            "{kind}"
        );
    }
}

fn render_docs() -> String {
    let mut out = String::from(
        "# Diagnostics event schemas\n\n\
         <!-- Generated from `unifier-diagnostics`' schema registry by its test\n\
         `schemas::docs_match_the_registry`; edit the event declarations, then run\n\
         `UNIFIER_BLESS=1 cargo nextest run -p unifier-diagnostics schemas`. -->\n\n\
         Every event kind is a table under `diagnostics.`; its Arrow schema carries the\n\
         metadata key `schema_version`, bumped whenever its columns change (a test keeps\n\
         `crates/unifier-diagnostics/schemas.lock` in step). Events persisted as JSON lines carry\n\
         the version they were written with; lines of a newer version are skipped (and counted\n\
         in `diagnostics.recorder.history_skipped`), older ones read with defaults for new\n\
         fields.\n\n",
    );
    let table =
        |out: &mut String, schema: &SchemaRef, docs: &mut dyn Iterator<Item = (&str, &str)>| {
            out.push_str("| column | type | doc |\n|---|---|---|\n");
            let docs: BTreeMap<&str, &str> = docs.collect();
            for field in schema.fields() {
                let null = if field.is_nullable() {
                    ", nullable"
                } else {
                    ""
                };
                let doc = docs.get(field.name().as_str()).copied().unwrap_or("");
                out.push_str(&format!(
                    "| `{}` | `{}`{null} | {doc} |\n",
                    field.name(),
                    field.data_type()
                ));
            }
            out.push('\n');
        };
    for (name, schema) in all_schemas() {
        out.push_str(&format!(
            "## `diagnostics.{name}` (v{})\n\n",
            version(&schema)
        ));
        let kind = EventKind::ALL.iter().find(|k| k.name() == name);
        match (name, kind) {
            (_, Some(kind)) => {
                out.push_str(&format!(
                    "{}. The common columns, then:\n\n",
                    kind.doc().trim().trim_end_matches('.')
                ));
                let own = unifier_diagnostics::arrow::datatypes::Schema::new(kind.fields());
                let own: SchemaRef = own.into();
                table(
                    &mut out,
                    &own,
                    &mut kind.column_docs().iter().map(|c| (c.name, c.doc.trim())),
                );
            }
            (RECORDER_TABLE, None) => {
                out.push_str(
                    "One row: this session's buffer capacity and counters (events recorded, \
                    buffered, dropped when the buffer was full, loaded from and skipped in the \
                    JSON-lines history, failed sink writes).\n\n",
                );
                table(&mut out, &schema, &mut std::iter::empty());
            }
            _ => {
                out.push_str("Every event with the common columns only; each kind table starts with these.\n\n");
                table(
                    &mut out,
                    &schema,
                    &mut COMMON_COLUMNS.iter().map(|c| (c.name, c.doc)),
                );
            }
        }
    }
    out.trim_end().to_owned() + "\n"
}

#[test]
fn docs_match_the_registry() {
    let path = crate_dir().join("../../docs/event-schemas.md");
    check_or_bless(&path, &render_docs(), "schema registry");
}
