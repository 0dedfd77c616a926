//! `unifier-policy`: the SQL gate of unifier.
//!
//! Strict parsing with sqlparser (the exact version DataFusion 55.2 plans with) plus
//! DataFusion's own statements, a statement-class gate with presets, canonical SQL and
//! fingerprints. A refusal is data ([`Verdict::Deny`]), not an error; only SQL that cannot
//! be parsed or breaks a hard limit is an [`Error`].
//!
//! This crate depends on sqlparser, serde, toml and sha2 only: no DataFusion, no tokio,
//! no IO. Use it alone:
//!
//! ```
//! use unifier_policy::{Policy, PolicyProfile, Preset, StatementClass};
//!
//! let policy = Policy::new(Preset::Writer.profile())?;
//! let report = policy.check("insert into t select * from s")?;
//! assert!(report.verdict.is_allow());
//! assert!(report.classes.contains(&StatementClass::Dml));
//! assert_eq!(report.canonical_sql, "INSERT INTO t SELECT * FROM s");
//!
//! // Whitespace, comments and keyword/identifier case do not change the fingerprint.
//! let again = policy.check("INSERT  INTO T -- load\n SELECT * FROM S")?;
//! assert_eq!(report.ast_fingerprint, again.ast_fingerprint);
//! # Ok::<(), unifier_policy::Error>(())
//! ```
//!
//! See `docs/policy.md` for classes, presets, violation codes and exit codes.

mod ast;
mod class;
mod dialect;
mod error;
mod external_table;
mod failure;
mod gate;
mod grammar;
mod inspect;
mod location;
mod normalize;
mod parser;
mod position;
mod profile;
mod report;
mod unsupported;
mod utility;

pub use ast::{CopySource, CopyTo, CreateExternalTable, Explain, ExplainOptions, PolicyStatement};
pub use class::StatementClass;
pub use dialect::SqlDialect;
pub use error::{Error, ErrorCode, Result, SqlError};
pub use gate::Policy;
pub use normalize::{normalize, normalized_sql};
pub use position::{Position, caret_snippet};
pub use profile::{ErrorLevel, PolicyProfile, Preset, UnsupportedLevel};
pub use report::{CheckedStatement, PolicyReport, Verdict, Violation, ViolationCode};
pub use unsupported::{UNSUPPORTED, UnsupportedConstruct};

/// The sqlparser this crate parses with: the same version DataFusion plans with.
pub use sqlparser;
