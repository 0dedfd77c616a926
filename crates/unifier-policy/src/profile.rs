//! Policy profiles: presets, TOML loading and the profile fingerprint.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::class::StatementClass;
use crate::dialect::SqlDialect;
use crate::error::{Error, Result};

/// What happens at the first SQL error of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorLevel {
    /// The first parse error is the error.
    #[default]
    Raise,
    /// Every statement of the script is parsed and all errors are reported.
    Collect,
}

/// What happens to a construct that parses but that DataFusion 55 cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnsupportedLevel {
    /// An `unsupported` violation: the statement is denied.
    #[default]
    Raise,
    /// An `unsupported` warning in the report; the verdict is unaffected.
    Warn,
    /// Nothing.
    Ignore,
}

/// A named starting point for a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Queries, SHOW, DESCRIBE, EXPLAIN (and EXPLAIN ANALYZE) of queries. No file access.
    #[default]
    ReadOnly,
    /// `read_only` plus INSERT, UPDATE, DELETE, MERGE, TRUNCATE on registered tables.
    Writer,
    /// Everything, including DDL, COPY and SET; file access under `allowed_locations`
    /// (empty = anywhere).
    Admin,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 3] = [Preset::ReadOnly, Preset::Writer, Preset::Admin];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::ReadOnly => "read_only",
            Preset::Writer => "writer",
            Preset::Admin => "admin",
        }
    }

    /// The profile this preset stands for.
    pub fn profile(self) -> PolicyProfile {
        let mut profile = PolicyProfile::default();
        match self {
            Preset::ReadOnly => {}
            Preset::Writer => {
                profile.allowed_classes.insert(StatementClass::Dml);
            }
            Preset::Admin => {
                profile.allowed_classes = StatementClass::ALL.into_iter().collect();
                profile.allow_external_access = true;
                profile.read_diagnostics = true;
            }
        }
        profile
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().replace('-', "_");
        Preset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| Error::UnknownName {
                what: "policy preset",
                name: s.to_owned(),
                expected: Preset::ALL.map(Preset::name).join(", "),
            })
    }
}

/// Everything the gate decides with. Serializable; loadable from TOML with
/// [`PolicyProfile::from_toml`]. The default is the `read_only` preset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyProfile {
    /// The dialect SQL is parsed with.
    pub read_dialect: SqlDialect,
    /// The dialect canonical SQL is written in (and must re-parse in).
    pub write_dialect: SqlDialect,
    /// `raise` or `collect`.
    pub error_level: ErrorLevel,
    /// `raise`, `warn` or `ignore`.
    pub unsupported_level: UnsupportedLevel,
    /// The statement classes that may run.
    pub allowed_classes: BTreeSet<StatementClass>,
    /// Most statements in one input (default 1).
    pub max_statements: usize,
    /// Longest input in bytes (default 1 MiB).
    pub max_sql_bytes: usize,
    /// Deepest nesting of brackets, expressions, subqueries, set operations, joins and
    /// statements (default 64).
    pub max_depth: usize,
    /// Whether file paths and URLs may be read or written at all.
    pub allow_external_access: bool,
    /// URL or path prefixes that external access must fall under (empty = anywhere).
    pub allowed_locations: Vec<String>,
    /// Function names that may not be called (case-insensitive; qualified or bare).
    pub denied_functions: BTreeSet<String>,
    /// Whether the facade's explicit escape hatch (`Unifier::unchecked_io`: the raw
    /// session, plans run without this gate) may be used. Off in every preset; each use
    /// is recorded.
    #[serde(default)]
    pub allow_unchecked: bool,
    /// Whether the `diagnostics.*` tables (the audit trail: every earlier statement,
    /// normalized) may be read. On in the `admin` preset only.
    #[serde(default)]
    pub read_diagnostics: bool,
}

impl Default for PolicyProfile {
    fn default() -> Self {
        PolicyProfile {
            read_dialect: SqlDialect::Generic,
            write_dialect: SqlDialect::Generic,
            error_level: ErrorLevel::Raise,
            unsupported_level: UnsupportedLevel::Raise,
            allowed_classes: BTreeSet::from([StatementClass::Query]),
            max_statements: 1,
            max_sql_bytes: 1 << 20,
            max_depth: 64,
            allow_external_access: false,
            allowed_locations: Vec::new(),
            denied_functions: BTreeSet::new(),
            allow_unchecked: false,
            read_diagnostics: false,
        }
    }
}

/// The TOML form: an optional `preset` and any fields overriding it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    preset: Option<Preset>,
    read_dialect: Option<SqlDialect>,
    write_dialect: Option<SqlDialect>,
    /// Sets both dialects.
    dialect: Option<SqlDialect>,
    error_level: Option<ErrorLevel>,
    unsupported_level: Option<UnsupportedLevel>,
    allowed_classes: Option<BTreeSet<StatementClass>>,
    max_statements: Option<usize>,
    max_sql_bytes: Option<usize>,
    max_depth: Option<usize>,
    allow_external_access: Option<bool>,
    allowed_locations: Option<Vec<String>>,
    denied_functions: Option<BTreeSet<String>>,
    allow_unchecked: Option<bool>,
    read_diagnostics: Option<bool>,
}

impl PolicyProfile {
    /// The profile of a preset.
    pub fn preset(preset: Preset) -> Self {
        preset.profile()
    }

    /// Reads a profile from TOML: `preset = "writer"` (default `read_only`) and any field
    /// of [`PolicyProfile`] to override it; `dialect` sets both dialects. `origin` names
    /// the text in errors (usually the file path).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let file: ProfileFile = toml::from_str(text).map_err(|source| Error::Profile {
            origin: origin.to_owned(),
            source,
        })?;
        let mut profile = file.preset.unwrap_or_default().profile();
        if let Some(d) = file.dialect {
            profile.read_dialect = d;
            profile.write_dialect = d;
        }
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = file.$field { profile.$field = v; } )* };
        }
        set!(
            read_dialect,
            write_dialect,
            error_level,
            unsupported_level,
            allowed_classes,
            max_statements,
            max_sql_bytes,
            max_depth,
            allow_external_access,
            allowed_locations,
            denied_functions,
            allow_unchecked,
            read_diagnostics
        );
        profile.validate(origin)?;
        Ok(profile)
    }

    /// Checks that the values make sense together; names `origin` in the error.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let invalid = |message: &str| {
            Err(Error::InvalidProfile {
                origin: origin.to_owned(),
                message: message.to_owned(),
            })
        };
        if self.max_statements == 0 {
            return invalid("max_statements must be at least 1");
        }
        if self.max_sql_bytes == 0 {
            return invalid("max_sql_bytes must be at least 1");
        }
        if self.max_depth < 2 {
            return invalid("max_depth must be at least 2");
        }
        if !self.allow_external_access && !self.allowed_locations.is_empty() {
            return invalid(
                "allowed_locations is set but allow_external_access is false: set allow_external_access = true or remove allowed_locations",
            );
        }
        Ok(())
    }

    /// The profile with every name normalized (lowercase function names), as checked.
    pub(crate) fn normalized(mut self) -> Self {
        self.denied_functions = self
            .denied_functions
            .iter()
            .map(|f| f.trim().to_lowercase())
            .collect();
        self
    }

    /// The canonical serialization: JSON with fields in declaration order and sets sorted.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// sha256 of [`canonical_json`](Self::canonical_json), lowercase hex. Equal profiles
    /// (however they were written) have equal fingerprints.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"unifier-policy-profile/v1\n");
        hasher.update(self.canonical_json().as_bytes());
        hex(&hasher.finalize())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_grow() {
        let read_only = Preset::ReadOnly.profile();
        let writer = Preset::Writer.profile();
        let admin = Preset::Admin.profile();
        assert_eq!(read_only, PolicyProfile::default());
        assert!(read_only.allowed_classes.is_subset(&writer.allowed_classes));
        assert!(writer.allowed_classes.is_subset(&admin.allowed_classes));
        assert!(!writer.allow_external_access && admin.allow_external_access);
        assert_eq!(admin.allowed_classes.len(), StatementClass::ALL.len());
    }

    #[test]
    fn toml_overrides_a_preset() {
        let profile = PolicyProfile::from_toml(
            r#"
            preset = "writer"
            dialect = "postgres"
            max_statements = 5
            denied_functions = ["pg_sleep"]
            "#,
            "test.toml",
        )
        .unwrap();
        assert!(profile.allowed_classes.contains(&StatementClass::Dml));
        assert_eq!(profile.read_dialect, SqlDialect::Postgresql);
        assert_eq!(profile.write_dialect, SqlDialect::Postgresql);
        assert_eq!(profile.max_statements, 5);
    }

    /// The error and its causes, as the CLI prints them.
    fn chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    #[test]
    fn toml_errors_name_the_file_line_and_key() {
        let err = chain(
            &PolicyProfile::from_toml("preset = \"writer\"\nmax_depht = 3\n", "p.toml")
                .unwrap_err(),
        );
        assert!(err.contains("`p.toml`"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("max_depht"), "{err}");

        let err = chain(
            &PolicyProfile::from_toml("allowed_classes = [\"reads\"]", "p.toml").unwrap_err(),
        );
        assert!(err.contains("reads"), "{err}");
    }

    #[test]
    fn contradictory_profiles_are_refused() {
        let err = PolicyProfile::from_toml("allowed_locations = [\"/data\"]", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("allow_external_access"), "{err}");
    }

    #[test]
    fn fingerprint_is_stable_and_sensitive() {
        let a = Preset::ReadOnly.profile();
        let b = PolicyProfile::from_toml("", "empty").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
        let mut c = a.clone();
        c.max_depth = 65;
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_ne!(a.fingerprint(), Preset::Writer.profile().fingerprint());
    }
}
