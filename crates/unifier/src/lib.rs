//! `unifier`: the facade of the unifier workspace.
//!
//! One entry point in front of the layers; each layer is re-exported as a module so a
//! downstream crate can depend on `unifier` alone and still pick the layer it needs, at
//! versions that match.
//!
//! Today the facade carries the policy gate ([`check`]); the governed read path
//! (compile, execute, register) joins it with the IO adapter and diagnostics layers.
//!
//! ```
//! let policy = unifier::policy::Policy::new(unifier::policy::Preset::ReadOnly.profile())?;
//! let report = unifier::check(&policy, "SELECT 1")?;
//! assert!(report.verdict.is_allow());
//! # Ok::<(), unifier::policy::Error>(())
//! ```

/// The policy layer: strict parsing, the statement-class gate, canonical SQL and
/// fingerprints (`unifier-policy`).
pub mod policy {
    pub use unifier_policy::*;
}

/// Checks `sql` against `policy` without running anything: the first step of every
/// statement unifier accepts.
pub fn check(policy: &policy::Policy, sql: &str) -> Result<policy::PolicyReport, policy::Error> {
    policy.check(sql)
}
