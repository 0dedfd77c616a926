//! The JSON-lines file sink: one file per session in a directory, read back as history.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::event::Event;

/// Extension of the files the sink writes.
const EXTENSION: &str = "jsonl";

/// Whether `path` is a session file this crate wrote (`events-<uuid>.jsonl`): history
/// and retention touch nothing else, so a directory shared with other `.jsonl` files
/// (a user's data) loses none of them.
fn is_session_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("events-"))
        .and_then(|n| n.strip_suffix(EXTENSION)?.strip_suffix('.'))
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
}

/// Appends events as JSON lines to `<dir>/events-<session>.jsonl`.
/// Bytes of JSON lines gathered before one `write` call.
const WRITE_BUFFER: usize = 256 * 1024;

#[derive(Debug)]
pub(crate) struct JsonlSink {
    path: PathBuf,
    writer: BufWriter<File>,
}

impl JsonlSink {
    pub(crate) fn open(dir: &Path, session_id: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(format!("events-{session_id}.{EXTENSION}"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            path,
            // Large enough that a burst of events costs few write calls.
            writer: BufWriter::with_capacity(WRITE_BUFFER, file),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one serialised event and its newline.
    pub(crate) fn write_line(&mut self, line: &[u8]) -> Result<()> {
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        self.writer.write_all(line).map_err(io)?;
        self.writer.write_all(b"\n").map_err(io)
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        self.writer.flush().map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Events read back from a directory, and how many lines were skipped.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) events: Vec<Event>,
    /// Lines that did not parse, or were written by a newer schema version.
    pub(crate) skipped: u64,
}

/// Reads every `*.jsonl` file in `dir` (a missing dir is empty history), oldest first.
pub(crate) fn read_history(dir: &Path) -> Result<History> {
    let mut history = History::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(history),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    for entry in entries {
        let path = entry
            .map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if !is_session_file(&path) {
            continue;
        }
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let reader = BufReader::new(File::open(&path).map_err(io)?);
        for line in reader.lines() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Event>(&line) {
                Ok(event) if event.schema_version <= event.kind().schema_version() => {
                    history.events.push(event);
                }
                // A line cut short by a crash, or written by a newer unifier.
                _ => history.skipped += 1,
            }
        }
    }
    history
        .events
        .sort_by_key(|e| (e.ts_us, e.session_id.clone(), e.event_id));
    Ok(history)
}

/// How much of the JSON-lines directory is kept: files of earlier sessions older than
/// `max_age`, then the oldest beyond `max_bytes` in all, are deleted when a writing
/// recorder is built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Delete session files last written longer ago than this.
    pub max_age: Option<Duration>,
    /// Then delete the oldest session files until the directory holds at most this.
    pub max_bytes: Option<u64>,
}

/// Deletes session files of `dir` last modified before `retention.max_age`, then the
/// oldest until the files hold at most `retention.max_bytes`. A missing dir is fine.
pub(crate) fn apply_retention(dir: &Path, retention: Retention) -> Result<()> {
    if retention.max_age.is_none() && retention.max_bytes.is_none() {
        return Ok(());
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(io(dir)(source)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if !is_session_file(&path) {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(io(&path))?;
        let modified = meta.modified().map_err(io(&path))?;
        files.push((modified, meta.len(), path));
    }
    files.sort();
    let now = std::time::SystemTime::now();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    for (modified, len, path) in files {
        let too_old = retention
            .max_age
            .is_some_and(|age| now.duration_since(modified).is_ok_and(|d| d > age));
        let too_big = retention.max_bytes.is_some_and(|max| total > max);
        if too_old || too_big {
            match std::fs::remove_file(&path) {
                Ok(()) => total -= len,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= len,
                Err(source) => return Err(io(&path)(source)),
            }
        }
    }
    Ok(())
}
