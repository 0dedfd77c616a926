//! The gate: limits → parse → walk → verdict, canonical SQL and fingerprints.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::class::StatementClass;
use crate::dialect::SqlDialect;
use crate::error::{Error, ErrorCode, Result, SqlError};
use crate::inspect::{Findings, inspect};
use crate::location::is_allowed;
use crate::parser::{Parsed, parse_script};
use crate::position::Position;
use crate::profile::{ErrorLevel, PolicyProfile, UnsupportedLevel, hex};
use crate::report::{CheckedStatement, PolicyReport, Verdict, Violation, ViolationCode};

/// A checked, ready-to-use policy: a validated [`PolicyProfile`] and its fingerprint.
///
/// ```
/// use unifier_policy::{Policy, Preset, ViolationCode};
///
/// let policy = Policy::new(Preset::ReadOnly.profile()).unwrap();
/// let report = policy.check("SELECT a, count(*) FROM t GROUP BY a").unwrap();
/// assert!(report.verdict.is_allow());
///
/// let report = policy.check("DELETE FROM t").unwrap();
/// assert_eq!(report.verdict.violations()[0].code, ViolationCode::ClassDenied);
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    profile: PolicyProfile,
    fingerprint: String,
}

impl Policy {
    /// Validates `profile` and prepares it for checking.
    pub fn new(profile: PolicyProfile) -> Result<Self> {
        profile.validate("profile")?;
        let profile = profile.normalized();
        let fingerprint = profile.fingerprint();
        Ok(Policy {
            profile,
            fingerprint,
        })
    }

    /// The profile, as checked (function names lowercased).
    pub fn profile(&self) -> &PolicyProfile {
        &self.profile
    }

    /// sha256 of the profile's canonical serialization.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Why reading or writing `location` (a file or URL, named by `what`: `FROM`, `COPY
    /// TO`, `file`) is refused under this policy, or `None` when it is allowed: the rule
    /// SQL's file access is held to (`allow_external_access`, `allowed_locations`), for
    /// reads that reach files without SQL.
    pub fn location_refusal(&self, what: &str, location: &str) -> Option<String> {
        let profile = &self.profile;
        if !profile.allow_external_access {
            Some(format!(
                "{what} `{location}` is a file or URL, and this policy allows no external access: register the data as a table"
            ))
        } else if !is_allowed(location, &profile.allowed_locations) {
            Some(format!(
                "{what} `{location}` is not under allowed_locations ({})",
                profile.allowed_locations.join(", ")
            ))
        } else {
            None
        }
    }

    /// Checks `sql` against the policy.
    ///
    /// `Ok` carries the verdict (a refusal is `Verdict::Deny`, not an error); `Err` means
    /// the SQL could not be checked at all: it does not parse (`parse_error`), is longer
    /// than `max_sql_bytes` (`too_long`) or nests deeper than `max_depth` (`too_deep`).
    /// Never panics and never overflows the stack, whatever the input.
    pub fn check(&self, sql: &str) -> Result<PolicyReport> {
        let profile = &self.profile;
        if sql.len() > profile.max_sql_bytes {
            return Err(Error::sql(SqlError::new(
                ErrorCode::TooLong,
                format!(
                    "sql is {} bytes, more than max_sql_bytes = {}",
                    sql.len(),
                    profile.max_sql_bytes
                ),
                sql,
                Position::at_byte(sql, profile.max_sql_bytes),
            )));
        }

        let parsed = parse_script(
            sql,
            profile.read_dialect.parser_dialect(),
            profile.max_depth,
            profile.error_level == ErrorLevel::Collect,
        )
        .map_err(|errors| Error::Sql { errors })?;

        let mut findings = Vec::with_capacity(parsed.len());
        let mut errors = Vec::new();
        for statement in &parsed {
            match inspect(&statement.statement, statement.position, profile.max_depth) {
                Ok(found) => findings.push(found),
                Err(at) => {
                    errors.push(SqlError::new(
                        ErrorCode::TooDeep,
                        format!(
                            "statement nests deeper than max_depth = {} (expressions, subqueries, set operations and joins count)",
                            profile.max_depth
                        ),
                        sql,
                        at,
                    ));
                    if profile.error_level == ErrorLevel::Raise {
                        break;
                    }
                }
            }
        }
        if !errors.is_empty() {
            drop_deep(parsed);
            return Err(Error::Sql { errors });
        }
        // The canonical text must read back as the statement it prints (fingerprints and
        // the audit trail rely on it). sqlparser's printer is not always the inverse of its
        // parser on odd input (found by the property tests and `cargo xtask fuzz`: quotes
        // next to a backslash or another quote, `- -1` printed as a `--` comment, `1.FROM`,
        // `NOT:x`, keywords as aliases), so every statement is printed and read again, and
        // one that does not read back as itself is refused.
        for statement in &parsed {
            if !reads_back(&statement.statement, profile) {
                let error = SqlError::new(
                    ErrorCode::ParseError,
                    "this statement does not print back as itself (sqlparser would print it as a different statement); write it more plainly (quotes, signs, spacing)",
                    sql,
                    statement.position,
                );
                drop_deep(parsed);
                return Err(Error::sql(error));
            }
        }
        Ok(self.decide(sql, parsed, findings))
    }

    fn decide(&self, sql: &str, parsed: Vec<Parsed>, findings: Vec<Findings>) -> PolicyReport {
        let profile = &self.profile;
        let mut violations = Vec::new();
        let mut warnings = Vec::new();

        if parsed.len() > profile.max_statements {
            violations.push(Violation {
                code: ViolationCode::MultipleStatements,
                message: format!(
                    "{} statements, but the policy allows at most {}: send one statement at a time",
                    parsed.len(),
                    profile.max_statements
                ),
                position: parsed[profile.max_statements].position,
            });
        }

        for (statement, found) in parsed.iter().zip(&findings) {
            self.gate_statement(sql, statement, found, &mut violations, &mut warnings);
        }

        let mut classes = BTreeSet::new();
        let mut statements = Vec::with_capacity(parsed.len());
        let mut script = Sha256::new();
        script.update(b"unifier-ast/v1\n");
        for (parsed, found) in parsed.into_iter().zip(findings) {
            let canonical_sql = parsed.statement.to_string();
            let fingerprint = ast_fingerprint(&canonical_sql, profile.write_dialect);
            script.update(fingerprint.as_bytes());
            script.update(b"\n");
            classes.extend(found.classes.iter().copied());
            statements.push(CheckedStatement {
                statement: parsed.statement,
                classes: found.classes,
                position: parsed.position,
                canonical_sql,
                ast_fingerprint: fingerprint,
            });
        }
        violations.sort_by_key(|v| v.position);
        let verdict = if violations.is_empty() {
            Verdict::Allow
        } else {
            Verdict::Deny { violations }
        };
        PolicyReport {
            verdict,
            canonical_sql: statements
                .iter()
                .map(|s| s.canonical_sql.as_str())
                .collect::<Vec<_>>()
                .join(";\n"),
            ast_fingerprint: hex(&script.finalize()),
            statements,
            warnings,
            classes,
            policy_fingerprint: self.fingerprint.clone(),
            read_dialect: profile.read_dialect,
            write_dialect: profile.write_dialect,
        }
    }

    fn gate_statement(
        &self,
        sql: &str,
        statement: &Parsed,
        found: &Findings,
        violations: &mut Vec<Violation>,
        warnings: &mut Vec<Violation>,
    ) {
        let profile = &self.profile;
        for class in &found.classes {
            if !profile.allowed_classes.contains(class) {
                violations.push(Violation {
                    code: ViolationCode::ClassDenied,
                    message: format!(
                        "statement class `{class}` is not allowed by this policy (allowed: {})",
                        class_list(&profile.allowed_classes)
                    ),
                    position: statement.position,
                });
            }
        }
        for access in &found.accesses {
            let Some(message) = self.location_refusal(access.clause, &access.location) else {
                continue;
            };
            // sqlparser keeps no position for some of these (quoted table names, LOCATION,
            // COPY targets): find the text itself after the statement's start.
            let position = if access.position == statement.position {
                let from = statement.position.byte_offset(sql);
                sql[from..]
                    .find(access.location.as_str())
                    .map_or(access.position, |at| Position::at_byte(sql, from + at))
            } else {
                access.position
            };
            violations.push(Violation {
                code: ViolationCode::ExternalAccess,
                message,
                position,
            });
        }
        if !profile.read_diagnostics {
            for (parts, position) in &found.relations {
                let schema = match parts.as_slice() {
                    [schema, _] | [_, schema, _] => schema.as_str(),
                    _ => continue,
                };
                if schema == "diagnostics" {
                    violations.push(Violation {
                        code: ViolationCode::DiagnosticsDenied,
                        message: format!(
                            "`{}` is part of the audit trail (every earlier statement), and this policy does not let it be read: set read_diagnostics = true in the policy, or use `unifier diagnostics`",
                            parts.join(".")
                        ),
                        position: *position,
                    });
                }
            }
        }
        for (full, last, position) in &found.functions {
            if profile.denied_functions.contains(full) || profile.denied_functions.contains(last) {
                violations.push(Violation {
                    code: ViolationCode::FunctionDenied,
                    message: format!("function `{full}` is denied by this policy"),
                    position: *position,
                });
            }
        }
        for (construct, detail, position) in &found.unsupported {
            let what = if detail.is_empty() {
                construct.construct.to_owned()
            } else {
                format!("{} `{detail}`", construct.construct)
            };
            let finding = Violation {
                code: ViolationCode::Unsupported,
                message: format!(
                    "{what} is not supported by DataFusion 55 ({}) [{}]",
                    construct.datafusion, construct.id
                ),
                position: *position,
            };
            match profile.unsupported_level {
                UnsupportedLevel::Raise => violations.push(finding),
                UnsupportedLevel::Warn => warnings.push(finding),
                UnsupportedLevel::Ignore => {}
            }
        }
    }
}

fn class_list(classes: &BTreeSet<StatementClass>) -> String {
    if classes.is_empty() {
        return "none".to_owned();
    }
    classes
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `statement` printed and parsed again (in the write dialect) is the same
/// statement.
fn reads_back(statement: &crate::ast::PolicyStatement, profile: &PolicyProfile) -> bool {
    let canonical = statement.to_string();
    match parse_script(
        &canonical,
        profile.write_dialect.parser_dialect(),
        profile.max_depth,
        false,
    ) {
        Ok(again) => again.len() == 1 && again[0].statement == *statement,
        Err(_) => false,
    }
}

/// sha256 of the canonical SQL with everything outside quotes lowercased: keyword and
/// unquoted identifier case do not count (DataFusion folds unquoted identifiers), while
/// string literals and quoted identifiers keep their case.
pub(crate) fn ast_fingerprint(canonical_sql: &str, dialect: SqlDialect) -> String {
    let brackets_quote = dialect == SqlDialect::Mssql;
    let mut normalized = String::with_capacity(canonical_sql.len());
    let mut quote: Option<char> = None;
    for c in canonical_sql.chars() {
        match quote {
            Some(close) => {
                if c == close {
                    quote = None;
                }
                normalized.push(c);
            }
            None => {
                match c {
                    '\'' | '"' | '`' => quote = Some(c),
                    '[' if brackets_quote => quote = Some(']'),
                    _ => {}
                }
                if c.is_ascii() {
                    // The common case, without `to_lowercase`'s iterator.
                    normalized.push(c.to_ascii_lowercase());
                } else {
                    normalized.extend(c.to_lowercase());
                }
            }
        }
    }
    hex(&Sha256::digest(normalized.as_bytes()))
}

/// Drops statements on a thread with a large stack: an AST that failed the depth check
/// can be deep enough to overflow the caller's stack in its recursive drop.
fn drop_deep(parsed: Vec<Parsed>) {
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<Parsed>>();
    let spawned = std::thread::Builder::new()
        .name("unifier-policy-drop".to_owned())
        .stack_size(512 << 20)
        .spawn(move || drop(receiver.recv()));
    match spawned {
        Ok(handle) => {
            if let Err(unsent) = sender.send(parsed) {
                std::mem::forget(unsent.0);
            }
            let _ = handle.join();
        }
        // No thread to drop it on: leak it rather than risk the caller's stack.
        Err(_) => std::mem::forget(parsed),
    }
}
