//! [`CdfCursor`]: per consumer, the last change-feed version acknowledged, kept durably
//! in a directory (next to the catalog) and advanced only on acknowledgement, so every
//! change is handed out until it is acknowledged, and never after.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use unifier_diagnostics::{CdfEvent, DiagnosticsRecorder, Status};

use crate::error::{Error, Result};
use crate::metadata::TableProviderMetadata;

/// The versions a cursor read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdfRange {
    /// First version (inclusive).
    pub starting_version: u64,
    /// Last version (inclusive).
    pub ending_version: u64,
}

/// What the cursor file holds: table → last acknowledged version.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Positions {
    tables: BTreeMap<String, u64>,
}

/// A named consumer's position in the change feeds of Delta tables.
#[derive(Debug, Clone)]
pub struct CdfCursor {
    file: PathBuf,
    consumer: String,
}

fn valid_consumer(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl CdfCursor {
    /// The cursor `consumer` stored under `dir` (created when missing).
    pub fn open(dir: impl AsRef<Path>, consumer: &str) -> Result<Self> {
        if !valid_consumer(consumer) {
            return Err(Error::InvalidOption {
                option: "cursor name".into(),
                value: consumer.into(),
                expected: "letters, digits, `_` and `-`".into(),
            });
        }
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::Cursor {
            consumer: consumer.into(),
            path: dir.display().to_string(),
            source: e,
        })?;
        Ok(Self {
            file: dir.join(format!("{consumer}.json")),
            consumer: consumer.into(),
        })
    }

    /// The consumer's name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    fn io_err(&self, source: std::io::Error) -> Error {
        Error::Cursor {
            consumer: self.consumer.clone(),
            path: self.file.display().to_string(),
            source,
        }
    }

    fn load(&self) -> Result<Positions> {
        match std::fs::read_to_string(&self.file) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| self.io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Positions::default()),
            Err(e) => Err(self.io_err(e)),
        }
    }

    /// The last version of `table` this consumer acknowledged.
    pub fn position(&self, table: &str) -> Result<Option<u64>> {
        Ok(self.load()?.tables.get(table).copied())
    }

    /// The versions not yet acknowledged, up to the table's registered version; `None`
    /// when there is nothing new.
    pub fn pending(&self, table: &TableProviderMetadata) -> Result<Option<CdfRange>> {
        let info = table.delta.as_ref().ok_or_else(|| Error::InvalidOption {
            option: format!("change feed of `{}`", table.name),
            value: table.kind.as_str().into(),
            expected: "a Delta table".into(),
        })?;
        let start = match self.position(&table.name)? {
            Some(done) => done + 1,
            None => info.earliest_version,
        };
        Ok((start <= info.version).then_some(CdfRange {
            starting_version: start,
            ending_version: info.version,
        }))
    }

    /// Advances the cursor past `range`, atomically (a temporary file renamed over the
    /// old one), and only if nobody moved it since `range` was handed out. Records a
    /// `cdf` event for the acknowledgement.
    pub fn acknowledge(
        &self,
        table: &str,
        range: CdfRange,
        rows: u64,
        recorder: &DiagnosticsRecorder,
    ) -> Result<()> {
        let mut positions = self.load()?;
        let current = positions.tables.get(table).copied();
        let expected = range.starting_version.checked_sub(1);
        if current.is_some() && current != expected {
            return Err(Error::CursorMoved {
                consumer: self.consumer.clone(),
                table: table.into(),
                expected,
                found: current,
            });
        }
        positions.tables.insert(table.into(), range.ending_version);
        let text = serde_json::to_string_pretty(&positions)
            .map_err(|e| self.io_err(std::io::Error::other(e)))?;
        let temp = self
            .file
            .with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&temp, text).map_err(|e| self.io_err(e))?;
        std::fs::rename(&temp, &self.file).map_err(|e| self.io_err(e))?;
        let signed = |v: u64| i64::try_from(v).ok();
        recorder.begin("cdf").record(
            Status::Ok,
            std::time::Duration::ZERO,
            format!(
                "cursor `{}` acknowledged versions {}..={} of `{table}` ({rows} changes)",
                self.consumer, range.starting_version, range.ending_version
            ),
            CdfEvent {
                table: table.into(),
                source: "cursor".into(),
                starting_version: signed(range.starting_version),
                ending_version: signed(range.ending_version),
                rows,
                cursor: Some(self.consumer.clone()),
                ..CdfEvent::default()
            },
        );
        Ok(())
    }
}
