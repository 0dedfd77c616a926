//! The JSON-lines sink: events of earlier sessions come back as history.

use std::io::Write;

use unifier_diagnostics::{DiagnosticsRecorder, EventKind};

use crate::record_execute;

#[test]
fn a_second_session_reads_the_first_sessions_events() {
    let dir = tempfile::tempdir().unwrap();
    let first = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .build()
        .unwrap();
    for rows in 0..3 {
        record_execute(&first, rows);
    }
    let first_events = first.events(None);
    drop(first);

    let second = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .build()
        .unwrap();
    assert_eq!(second.stats().history_loaded, 3);
    record_execute(&second, 99);
    let events = second.events(Some(EventKind::Execute));
    assert_eq!(events.len(), 4);
    assert_eq!(&events[..3], &first_events[..]);
    assert_ne!(events[3].session_id, events[0].session_id);
    assert_eq!(events[3].event_id, 1, "event ids count per session");

    // Without history the buffer starts empty but the file still grows.
    let third = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .with_history(false)
        .build()
        .unwrap();
    assert_eq!(third.stats().buffered, 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn history_keeps_the_newest_and_skips_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let first = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .build()
        .unwrap();
    for rows in 0..5 {
        record_execute(&first, rows);
    }
    let path = first.jsonl_path().unwrap();
    drop(first);

    // A line from a newer schema version, a torn line, a line of an unknown kind.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let line = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let newer = line.replace("\"schema_version\":1", "\"schema_version\":99");
    writeln!(file, "{newer}").unwrap();
    writeln!(file, "{}", &line[..line.len() / 2]).unwrap();
    writeln!(
        file,
        "{}",
        line.replace("\"kind\":\"execute\"", "\"kind\":\"teleport\"")
    )
    .unwrap();
    drop(file);

    let second = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .with_capacity(3)
        .build()
        .unwrap();
    let stats = second.stats();
    assert_eq!((stats.history_loaded, stats.history_skipped), (3, 3));
    let rows: Vec<String> = second
        .events(None)
        .iter()
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(rows, ["2 rows", "3 rows", "4 rows"]);
}

#[test]
fn an_unwritable_dir_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = DiagnosticsRecorder::builder()
        .with_jsonl_dir(&file)
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("diagnostics dir `{}`", file.display())),
        "{message}"
    );
}
