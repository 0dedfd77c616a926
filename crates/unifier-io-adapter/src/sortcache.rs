//! Remembered sort verifications: a dataset whose files (path, size, modification time),
//! declared order and check are unchanged is not verified again. One JSON file, one
//! entry per dataset name; written atomically (a temporary file renamed over it). A
//! changed, added or removed file changes the fingerprint, so the dataset is verified
//! again. Only orders that held are remembered: a contradiction is always found afresh.
//!
//! What the key cannot see: a file rewritten in place with the same size and
//! modification time (the same trade-off `make` and cargo make).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use object_store::ObjectMeta;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sortcheck::VerifiedBy;
use crate::spec::ListingSpec;

/// The version of the file's layout; another version is ignored (and rewritten).
const VERSION: u32 = 1;

/// What is remembered of one verified dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Remembered {
    /// Of the spec and the files it was verified over.
    fingerprint: String,
    /// How it was verified.
    pub(crate) by: VerifiedBy,
    /// Rows, when the footers told.
    pub(crate) rows: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    datasets: BTreeMap<String, Remembered>,
}

/// The cache: its file, read once when first needed.
#[derive(Debug)]
pub(crate) struct SortCache {
    path: PathBuf,
    entries: Mutex<Option<BTreeMap<String, Remembered>>>,
}

/// The fingerprint of a spec's order and check over `files`.
pub(crate) fn fingerprint(spec: &ListingSpec, files: &[(String, ObjectMeta)]) -> String {
    let mut hash = Sha256::new();
    let spec = serde_json::to_string(spec).unwrap_or_default();
    hash.update(spec.as_bytes());
    for (_, meta) in files {
        hash.update(
            format!(
                "\n{}\t{}\t{}\t{}",
                meta.location,
                meta.size,
                meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
                meta.e_tag.as_deref().unwrap_or_default()
            )
            .as_bytes(),
        );
    }
    format!("{:x}", hash.finalize())
}

impl SortCache {
    /// A cache kept in `path` (created when something is first remembered).
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            entries: Mutex::new(None),
        }
    }

    fn with_entries<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Remembered>) -> T) -> T {
        let mut guard = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entries = guard.get_or_insert_with(|| read(&self.path));
        f(entries)
    }

    /// The verification remembered for `name` under `fingerprint`.
    pub(crate) fn get(&self, name: &str, fingerprint: &str) -> Option<Remembered> {
        self.with_entries(|entries| {
            entries
                .get(name)
                .filter(|r| r.fingerprint == fingerprint)
                .cloned()
        })
    }

    /// Remembers that `name`'s order held under `fingerprint`. A cache that cannot be
    /// written is only a slower next start: the error is returned for a warning.
    pub(crate) fn put(
        &self,
        name: &str,
        fingerprint: String,
        by: VerifiedBy,
        rows: Option<u64>,
    ) -> std::io::Result<()> {
        let file = self.with_entries(|entries| {
            entries.insert(
                name.to_owned(),
                Remembered {
                    fingerprint,
                    by,
                    rows,
                },
            );
            CacheFile {
                version: VERSION,
                datasets: entries.clone(),
            }
        });
        write(&self.path, &file)
    }

    /// Forgets `name` (its order no longer holds, or it is gone).
    pub(crate) fn forget(&self, name: &str) -> std::io::Result<()> {
        let file = self.with_entries(|entries| {
            entries.remove(name).map(|_| CacheFile {
                version: VERSION,
                datasets: entries.clone(),
            })
        });
        match file {
            Some(file) => write(&self.path, &file),
            None => Ok(()),
        }
    }
}

/// The entries of `path`; a missing, unreadable or other-version file is empty.
fn read(path: &Path) -> BTreeMap<String, Remembered> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
        .filter(|file| file.version == VERSION)
        .map(|file| file.datasets)
        .unwrap_or_default()
}

fn write(path: &Path, file: &CacheFile) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = path
        .file_name()
        .map_or_else(|| "sort-cache".into(), |n| n.to_string_lossy().into_owned());
    let partial = path.with_file_name(format!(".{name}.{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?;
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}
