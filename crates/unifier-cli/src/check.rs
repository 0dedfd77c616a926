//! `unifier check`: the policy gate from the shell.

use std::io::Read;
use std::path::Path;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use unifier::policy::{
    ErrorCode, Policy, PolicyProfile, PolicyReport, Position, Preset, SqlDialect, SqlError,
    Violation, caret_snippet,
};

use crate::Exit;

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Human-readable, with a caret under each position.
    Text,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// A preset (read_only, writer, admin) or a TOML profile file [default: the catalog's
    /// policy (`--catalog`, or ./unifier.toml when present), else read_only].
    #[arg(long, value_name = "PRESET|FILE.toml")]
    policy: Option<String>,
    /// Read (and write) the SQL in this dialect, overriding the policy's dialects.
    #[arg(long, value_name = "NAME")]
    dialect: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The SQL to check; read from stdin when absent or `-`.
    sql: Option<String>,
}

/// What the command decided, before rendering.
pub(crate) enum Outcome {
    /// The policy decided.
    Checked(PolicyReport),
    /// The SQL could not be checked.
    Failed(Vec<SqlError>),
}

pub(crate) fn run(catalog: Option<&Path>, args: CheckArgs) -> Exit {
    let policy = match load_policy(catalog, &args) {
        Ok(policy) => policy,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let sql = match read_sql(args.sql.as_deref()) {
        Ok(Ok(sql)) => sql,
        Ok(Err(utf8)) => {
            let rendered = render(&policy, "", &Outcome::Failed(vec![utf8]), args.format);
            return crate::print_out(&rendered, Exit::SqlError);
        }
        Err(error) => {
            eprintln!("error: cannot read sql from stdin: {error}");
            return Exit::Runtime;
        }
    };
    let (outcome, exit) = match policy.check(&sql) {
        Ok(report) => {
            let exit = if report.verdict.is_allow() {
                Exit::Ok
            } else {
                Exit::Denied
            };
            (Outcome::Checked(report), exit)
        }
        Err(error) => match error.sql_errors() {
            [] => {
                eprintln!("error: {}", crate::chain(&error));
                return Exit::Runtime;
            }
            errors => (Outcome::Failed(errors.to_vec()), Exit::SqlError),
        },
    };
    crate::print_out(&render(&policy, &sql, &outcome, args.format), exit)
}

fn load_policy(catalog: Option<&Path>, args: &CheckArgs) -> Result<Policy, String> {
    let mut profile = match &args.policy {
        // The catalog's policy: the one `query` would apply.
        None => crate::manifest::Manifest::locate(catalog)?.profile.policy,
        Some(policy) => profile_of(policy)?,
    };
    if let Some(name) = &args.dialect {
        let dialect: SqlDialect = name.parse().map_err(|e| format!("--dialect: {e}"))?;
        profile.read_dialect = dialect;
        profile.write_dialect = dialect;
    }
    Policy::new(profile).map_err(|e| e.to_string())
}

/// `--policy`: a preset name or a TOML profile file.
fn profile_of(policy: &str) -> Result<PolicyProfile, String> {
    match policy.parse::<Preset>() {
        Ok(preset) => Ok(preset.profile()),
        Err(preset_error) => {
            let path = Path::new(policy);
            if !path.exists() {
                return Err(format!(
                    "--policy `{policy}` is neither a preset nor a file: {preset_error}"
                ));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read policy file `{}`: {e}", path.display()))?;
            PolicyProfile::from_toml(&text, &path.display().to_string())
                .map_err(|e| crate::chain(&e))
        }
    }
}

/// Reads the SQL; the inner `Err` is a UTF-8 error, reported like a parse error.
pub(crate) fn read_sql(arg: Option<&str>) -> std::io::Result<Result<String, SqlError>> {
    if let Some(sql) = arg.filter(|s| *s != "-") {
        return Ok(Ok(sql.to_owned()));
    }
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes)?;
    Ok(String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&error.as_bytes()[..valid]).into_owned();
        let position = Position::end_of(&prefix);
        SqlError {
            code: ErrorCode::ParseError,
            message: format!("stdin is not valid UTF-8 (invalid byte at offset {valid})"),
            position,
            snippet: caret_snippet(&prefix, position),
        }
    }))
}

pub(crate) fn render(policy: &Policy, sql: &str, outcome: &Outcome, format: Format) -> String {
    match format {
        Format::Text => render_text(policy, sql, outcome),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&render_json(policy, outcome))
                .unwrap_or_else(|e| format!("{{\"verdict\":\"error\",\"message\":\"{e}\"}}"));
            text.push('\n');
            text
        }
    }
}

fn finding_json(code: &str, message: &str, position: Position) -> Value {
    json!({
        "code": code,
        "message": message,
        "line": position.line,
        "column": position.column,
    })
}

fn violation_json(v: &Violation) -> Value {
    finding_json(v.code.as_str(), &v.message, v.position)
}

fn render_json(policy: &Policy, outcome: &Outcome) -> Value {
    let dialect = policy.profile().read_dialect.name();
    match outcome {
        Outcome::Checked(report) => json!({
            "verdict": report.verdict.as_str(),
            "classes": report.classes.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "violations": report.verdict.violations().iter().map(violation_json).collect::<Vec<_>>(),
            "warnings": report.warnings.iter().map(violation_json).collect::<Vec<_>>(),
            "canonical_sql": report.canonical_sql,
            "ast_fingerprint": report.ast_fingerprint,
            "policy_fingerprint": report.policy_fingerprint,
            "dialect": dialect,
        }),
        Outcome::Failed(errors) => json!({
            "verdict": "error",
            "classes": [],
            "violations": errors
                .iter()
                .map(|e| finding_json(e.code.as_str(), &e.message, e.position))
                .collect::<Vec<_>>(),
            "warnings": [],
            "canonical_sql": null,
            "ast_fingerprint": null,
            "policy_fingerprint": policy.fingerprint(),
            "dialect": dialect,
        }),
    }
}

fn render_text(policy: &Policy, sql: &str, outcome: &Outcome) -> String {
    let mut out = String::new();
    let mut finding =
        |kind: &str, code: &str, message: &str, position: Position, snippet: String| {
            out.push_str(&format!(
                "{kind} {code} at {position}: {message}\n{snippet}"
            ));
        };
    let dialect = policy.profile().read_dialect;
    match outcome {
        Outcome::Checked(report) => {
            let verdict = report.verdict.as_str();
            let classes: Vec<&str> = report.classes.iter().map(|c| c.name()).collect();
            let header = format!("verdict: {verdict}\nclasses: {}\n", classes.join(", "));
            let labelled = report.verdict.violations().iter().map(|v| ("violation", v));
            for (kind, v) in labelled.chain(report.warnings.iter().map(|w| ("warning", w))) {
                let snippet = caret_snippet(sql, v.position);
                finding(kind, v.code.as_str(), &v.message, v.position, snippet);
            }
            format!(
                "{header}{out}canonical_sql: {}\nast_fingerprint: {}\npolicy_fingerprint: {}\ndialect: {dialect}\n",
                report.canonical_sql, report.ast_fingerprint, report.policy_fingerprint
            )
        }
        Outcome::Failed(errors) => {
            for e in errors {
                finding(
                    "error",
                    e.code.as_str(),
                    &e.message,
                    e.position,
                    e.snippet.clone(),
                );
            }
            format!(
                "verdict: error\n{out}policy_fingerprint: {}\ndialect: {dialect}\n",
                policy.fingerprint()
            )
        }
    }
}
