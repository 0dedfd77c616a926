//! What events keep of a statement and of its failures: the text shown (normalized
//! unless the profile keeps it whole), a denial's violations, an error's `error` event.

use std::time::Duration;

use sha2::{Digest, Sha256};
use unifier_diagnostics::{DiagnosticsContext, ErrorEvent, Status};
use unifier_policy::PolicyReport;

use crate::error::Error;

/// `text` with the contents of every single-quoted string replaced by `…`.
fn blank_single_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '\'' {
            if !inside {
                out.push_str("'…");
            }
            inside = !inside;
            if !inside {
                out.push('\'');
            }
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// A statement as events show it: normalized (literals replaced by `$1`, `$2`, …) unless
/// the profile keeps full text.
#[derive(Debug, Clone)]
pub(crate) struct SqlText {
    /// The canonical SQL, literals included.
    canonical: String,
    /// What events keep.
    pub(crate) shown: String,
    /// The literals taken out (none when the full text is kept).
    literals: Vec<String>,
    /// Text that did not parse: every single-quoted string is blanked.
    unparsed: bool,
}

impl SqlText {
    /// The statements of `report` as events show them (`full`: the canonical text).
    pub(crate) fn of(report: &unifier_policy::PolicyReport, full: bool) -> Self {
        if full {
            return Self {
                canonical: report.canonical_sql.clone(),
                shown: report.canonical_sql.clone(),
                literals: Vec::new(),
                unparsed: false,
            };
        }
        let mut shown = Vec::with_capacity(report.statements.len());
        let mut literals = Vec::new();
        for checked in &report.statements {
            let (sql, mut taken) = unifier_policy::normalize(&checked.statement);
            shown.push(sql);
            literals.append(&mut taken);
        }
        Self {
            canonical: report.canonical_sql.clone(),
            shown: shown.join("; "),
            literals,
            unparsed: false,
        }
    }

    /// For text that did not parse (nothing to show but redactions).
    pub(crate) fn unparsed() -> Self {
        Self {
            canonical: String::new(),
            shown: String::new(),
            literals: Vec::new(),
            unparsed: true,
        }
    }

    /// `message` (an error's text) as events may keep it: the statement normalized, and
    /// every literal of it that appears quoted blanked.
    pub(crate) fn redact(&self, message: &str) -> String {
        if self.unparsed {
            return blank_single_quoted(message);
        }
        if self.literals.is_empty() {
            return message.to_owned();
        }
        let mut out = message.replace(&self.canonical, &self.shown);
        for literal in &self.literals {
            for quote in ['\'', '"', '`'] {
                let quoted = format!("{quote}{literal}{quote}");
                if out.contains(&quoted) {
                    out = out.replace(&quoted, &format!("{quote}…{quote}"));
                }
            }
        }
        out
    }
}

/// A duration in whole microseconds, as events hold it.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A denial's violations, `code: message`, joined by `; `.
pub(crate) fn denial_text(report: &PolicyReport) -> String {
    report
        .verdict
        .violations()
        .iter()
        .map(|v| format!("{}: {}", v.code.as_str(), v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Records the `error` event of `operation`, its message redacted as `text` says.
pub(crate) fn record_error(
    diag: &DiagnosticsContext,
    operation: &str,
    error: &Error,
    fingerprint: Option<&String>,
    text: Option<&SqlText>,
) {
    let message = crate::error::error_chain(error);
    diag.record(
        Status::Error,
        diag.elapsed(),
        match text {
            Some(text) => text.redact(&message),
            None => message,
        },
        ErrorEvent {
            operation: operation.into(),
            error_kind: error.kind().into(),
            sql_fingerprint: fingerprint.cloned(),
        },
    );
}

/// sha256 of `text`, first 16 hex digits (a plan's hash).
pub(crate) fn hex16(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
