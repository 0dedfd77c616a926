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
    #[error("diagnostics dir `{}`: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Events could not be turned into Arrow record batches.
    #[error("cannot build diagnostics table `{table}`: {source}")]
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
