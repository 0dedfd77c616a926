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
/// appears once; a cause whose text is already in the message is skipped (engine errors
/// that embed their own source). A backtrace an engine put into its text (delta-kernel
/// does when `RUST_BACKTRACE` is set) is cut off: it is for a debugger, not for a user.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = without_backtrace(&error.to_string()).to_owned();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        let text = without_backtrace(&text);
        if !text.is_empty() && !out.contains(text) {
            out.push_str(": ");
            out.push_str(text);
        }
        source = cause.source();
    }
    out
}

/// `text` up to the first line of a backtrace (`   0: frame`, `Stack backtrace:`),
/// trailing white space removed.
fn without_backtrace(text: &str) -> &str {
    let mut end = text.len();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let frame = trimmed
            .split_once(": ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            && line.starts_with(' ');
        if at > 0 && (frame || trimmed.starts_with("Stack backtrace:")) {
            end = at;
            break;
        }
        at += line.len();
    }
    text[..end].trim_end()
}
