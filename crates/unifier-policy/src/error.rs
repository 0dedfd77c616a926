//! Errors of the policy crate: SQL that cannot be checked, and profiles that cannot be read.
//!
//! A refusal is not an error: a statement that parses but breaks the policy gives
//! [`Verdict::Deny`](crate::Verdict::Deny). Only SQL that cannot be parsed, or breaks a hard
//! limit, is an [`Error::Sql`].

use std::fmt;

use serde::Serialize;

use crate::position::Position;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the policy crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL could not be checked: it does not parse, or breaks a hard limit.
    #[error("{}", SqlErrorsDisplay(.errors))]
    Sql {
        /// Every error found; at least one. More than one only with `error_level = "collect"`.
        errors: Vec<SqlError>,
    },
    /// A policy profile (TOML) could not be read.
    #[error("policy profile `{origin}` is not valid")]
    Profile {
        /// Where the profile came from (a file path, or a description of the text).
        origin: String,
        /// What TOML or serde reported, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A profile is well-formed TOML but its values do not make sense together.
    #[error("policy profile `{origin}` is not valid: {message}")]
    InvalidProfile {
        /// Where the profile came from.
        origin: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A name (dialect, preset, class, level) that this crate does not know.
    #[error("unknown {what} `{name}`: expected one of {expected}")]
    UnknownName {
        /// What kind of name it is (`dialect`, `preset`, ...).
        what: &'static str,
        /// The name as given.
        name: String,
        /// The accepted names, comma separated.
        expected: String,
    },
}

impl Error {
    /// The SQL errors, when this is an [`Error::Sql`].
    pub fn sql_errors(&self) -> &[SqlError] {
        match self {
            Error::Sql { errors } => errors,
            _ => &[],
        }
    }

    pub(crate) fn sql(error: SqlError) -> Self {
        Error::Sql {
            errors: vec![error],
        }
    }
}

struct SqlErrorsDisplay<'a>(&'a [SqlError]);

impl fmt::Display for SqlErrorsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("sql error"),
            [one] => write!(f, "{one}"),
            [first, rest @ ..] => write!(f, "{first} (and {} more)", rest.len()),
        }
    }
}

/// The code of an error: the SQL was not checked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The SQL does not parse in the read dialect (or is empty).
    ParseError,
    /// The SQL is longer than `max_sql_bytes`.
    TooLong,
    /// The SQL nests deeper than `max_depth`.
    TooDeep,
}

impl ErrorCode {
    /// The stable code, as it appears in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "parse_error",
            ErrorCode::TooLong => "too_long",
            ErrorCode::TooDeep => "too_deep",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One SQL error with its position and a caret snippet of the offending line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlError {
    /// The stable code.
    pub code: ErrorCode,
    /// What is wrong, lowercase, without the position.
    pub message: String,
    /// Where, 1-based.
    #[serde(flatten)]
    pub position: Position,
    /// The offending line with a caret under the column.
    #[serde(skip)]
    pub snippet: String,
}

impl SqlError {
    pub(crate) fn new(
        code: ErrorCode,
        message: impl Into<String>,
        sql: &str,
        position: Position,
    ) -> Self {
        SqlError {
            code,
            message: message.into(),
            position,
            snippet: crate::position::caret_snippet(sql, position),
        }
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} at line {}, column {}",
            self.code, self.message, self.position.line, self.position.column
        )
    }
}

impl std::error::Error for SqlError {}
