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
    let version = EventKind::Execute.schema_version();
    let newer = line.replace(
        &format!("\"schema_version\":{version}"),
        "\"schema_version\":99",
    );
    assert_ne!(newer, line);
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

#[test]
fn history_is_read_when_first_asked_for_not_when_the_recorder_starts() {
    let dir = tempfile::tempdir().unwrap();
    let first = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .build()
        .unwrap();
    record_execute(&first, 1);
    let first_file = first.jsonl_path().unwrap();
    drop(first);

    let second = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .build()
        .unwrap();
    record_execute(&second, 2);
    second.flush().unwrap();
    // Gone before anyone asked: a recorder that read history at start would still have it.
    std::fs::remove_file(&first_file).unwrap();
    let events = second.events(None);
    assert_eq!(events.len(), 1, "{events:?}");
    // Its own file is in the directory too, and is not read back twice.
    assert_eq!(second.stats().history_loaded, 0);

    // Asked for later, history goes before this session's events, within capacity.
    let third = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .with_capacity(3)
        .build()
        .unwrap();
    record_execute(&third, 3);
    record_execute(&third, 4);
    let events = third.events(None);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].session_id, second.session_id().into());
    assert!(
        events[1..]
            .iter()
            .all(|e| &*e.session_id == third.session_id())
    );
    assert_eq!(third.stats().history_loaded, 1);
}

#[test]
fn retention_deletes_old_sessions_then_the_oldest_beyond_the_size() {
    use std::time::{Duration, SystemTime};
    use unifier_diagnostics::Retention;

    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for days_ago in [40u64, 20, 10, 0] {
        let recorder = DiagnosticsRecorder::builder()
            .with_jsonl_dir(dir.path())
            .with_history(false)
            .build()
            .unwrap();
        for rows in 0..10 {
            record_execute(&recorder, rows);
        }
        recorder.flush().unwrap();
        let path = recorder.jsonl_path().unwrap();
        drop(recorder);
        let when = SystemTime::now() - Duration::from_secs(days_ago * 86_400);
        std::fs::File::options()
            .append(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        files.push(path);
    }
    let size = std::fs::metadata(&files[3]).unwrap().len();
    let keep_two = Retention {
        max_age: Some(Duration::from_secs(30 * 86_400)),
        max_bytes: Some(2 * size + size / 2),
    };
    // A user's own JSON-lines files in the same directory, old and large: not ours.
    let theirs = [
        dir.path().join("events.jsonl"),
        dir.path().join("events-2026.jsonl"),
    ];
    for path in &theirs {
        std::fs::write(path, "{\"kind\":\"execute\"}\n".repeat(10_000)).unwrap();
        std::fs::File::options()
            .append(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(400 * 86_400))
            .unwrap();
    }
    let recorder = DiagnosticsRecorder::builder()
        .with_jsonl_dir(dir.path())
        .with_retention(keep_two)
        .build()
        .unwrap();
    // 40 days: too old; 20 days: the oldest left while over the size; then two fit.
    let left: Vec<bool> = files.iter().map(|f| f.exists()).collect();
    assert_eq!(left, [false, false, true, true]);
    assert_eq!(recorder.stats().history_loaded, 20);
    assert_eq!(
        recorder.stats().history_skipped,
        0,
        "their files are not read"
    );
    assert!(
        theirs.iter().all(|p| p.exists()),
        "a user's files were deleted"
    );
}
