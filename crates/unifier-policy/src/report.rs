//! What a check returns: violations, the verdict and the whole report.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::ast::PolicyStatement;
use crate::class::StatementClass;
use crate::dialect::SqlDialect;
use crate::position::Position;

/// The stable code of a policy violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationCode {
    /// The statement (or a part of it) belongs to a class the policy does not allow.
    ClassDenied,
    /// More statements than `max_statements`.
    MultipleStatements,
    /// A file path, URL or location outside what the policy allows.
    ExternalAccess,
    /// A call of a function in `denied_functions`.
    FunctionDenied,
    /// A construct that parses but that DataFusion 55 cannot run (see `docs/policy.md`).
    Unsupported,
    /// A table of the `diagnostics` schema (the audit trail) under a policy without
    /// `read_diagnostics`.
    DiagnosticsDenied,
}

impl ViolationCode {
    /// The stable code, as it appears in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::ClassDenied => "class_denied",
            ViolationCode::MultipleStatements => "multiple_statements",
            ViolationCode::ExternalAccess => "external_access",
            ViolationCode::FunctionDenied => "function_denied",
            ViolationCode::Unsupported => "unsupported",
            ViolationCode::DiagnosticsDenied => "diagnostics_denied",
        }
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason for a refusal (or, for warnings, one thing worth knowing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The stable code.
    pub code: ViolationCode,
    /// What was found, naming the construct, and what to do.
    pub message: String,
    /// Where it was found.
    #[serde(flatten)]
    pub position: Position,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} at {}", self.code, self.message, self.position)
    }
}

/// The decision of the gate. A refusal is a value, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every statement passed the gate.
    Allow,
    /// At least one statement broke the policy; nothing may run.
    Deny {
        /// Every violation found, in source order.
        violations: Vec<Violation>,
    },
}

impl Verdict {
    /// `true` for [`Verdict::Allow`].
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }

    /// The violations (empty when allowed).
    pub fn violations(&self) -> &[Violation] {
        match self {
            Verdict::Allow => &[],
            Verdict::Deny { violations } => violations,
        }
    }

    /// `allow` or `deny`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny { .. } => "deny",
        }
    }
}

/// One statement of a checked script.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedStatement {
    /// The parsed statement: the AST that a planner must use (never re-parse the text).
    pub statement: PolicyStatement,
    /// Every class found by walking the whole statement.
    pub classes: BTreeSet<StatementClass>,
    /// Where the statement starts.
    pub position: Position,
    /// The statement rendered in the write dialect.
    pub canonical_sql: String,
    /// sha256 of the normalized canonical form, lowercase hex.
    pub ast_fingerprint: String,
}

/// The full result of [`Policy::check`](crate::Policy::check).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyReport {
    /// Allow, or deny with violations.
    pub verdict: Verdict,
    /// The statements, in source order.
    pub statements: Vec<CheckedStatement>,
    /// Findings that do not deny (e.g. `unsupported` when `unsupported_level = "warn"`).
    pub warnings: Vec<Violation>,
    /// The union of the statements' classes.
    pub classes: BTreeSet<StatementClass>,
    /// The whole script rendered in the write dialect, statements separated by `;\n`.
    pub canonical_sql: String,
    /// sha256 over the statements' normalized canonical forms, lowercase hex.
    pub ast_fingerprint: String,
    /// sha256 of the profile's canonical serialization, lowercase hex.
    pub policy_fingerprint: String,
    /// The dialect the SQL was read with.
    pub read_dialect: SqlDialect,
    /// The dialect the canonical SQL is written in.
    pub write_dialect: SqlDialect,
}
