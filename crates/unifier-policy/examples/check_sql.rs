//! Checks SQL against a preset with the policy crate alone.
//!
//! `cargo run -p unifier-policy --example check_sql -- writer "DELETE FROM t WHERE id = 1"`

use unifier_policy::{Policy, Preset};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let preset: Preset = args.next().as_deref().unwrap_or("read_only").parse()?;
    let sql = args
        .next()
        .unwrap_or_else(|| "SELECT l_returnflag, sum(l_quantity) FROM lineitem GROUP BY 1".into());
    let policy = Policy::new(preset.profile())?;
    match policy.check(&sql) {
        Ok(report) => {
            println!("verdict:   {}", report.verdict.as_str());
            println!("classes:   {:?}", report.classes);
            for violation in report.verdict.violations() {
                println!("violation: {violation}");
            }
            for warning in &report.warnings {
                println!("warning:   {warning}");
            }
            println!("canonical: {}", report.canonical_sql);
            println!("ast:       {}", report.ast_fingerprint);
            println!("policy:    {}", report.policy_fingerprint);
        }
        Err(error) => {
            for sql_error in error.sql_errors() {
                print!("error: {sql_error}\n{}", sql_error.snippet);
            }
            if error.sql_errors().is_empty() {
                println!("error: {error}");
            }
        }
    }
    Ok(())
}
