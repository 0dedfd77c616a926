//! Errors of the diagnostics layer.

use std::path::PathBuf;

/// Result with the diagnostics [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the diagnostics layer. Recording itself never fails: sink
/// failures are counted ([`crate::RecorderStats::sink_errors`]) and traced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The JSON-lines directory could not be created, read or written.
    #[error("diagnostics dir `{}`", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Events could not be turned into Arrow record batches.
    #[error("cannot build diagnostics table `{table}`")]
    Arrow {
        /// The table being built.
        table: String,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// An event kind name that does not exist.
    #[error("unknown event kind `{name}`; known kinds: {known}")]
    UnknownKind {
        /// The name given.
        name: String,
        /// The known kinds, comma separated.
        known: String,
    },
}

/// An error and every cause under it, joined by `: ` — the form events and the CLI
/// show. Messages in this workspace do not repeat their `#[source]`, so each cause
/// appears once. A cause whose text the previous message already ends with is skipped
/// (engine errors that embed their own source).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
