//! `compile`: the policy gate, then the same AST planned by DataFusion, then every
//! plan-level check (`verify_plan`, write capabilities, prepared statements resolved).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{LogicalPlan, Statement};
use datafusion::prelude::SQLOptions;
use unifier_diagnostics::{CompileEvent, DiagnosticsContext, PolicyEvent, Status};
use unifier_policy::StatementClass;

use crate::audit::{SqlText, denial_text, hex16, micros, record_error};
use crate::convert::to_datafusion;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::result::{Compiled, CompiledQuery, DeniedQuery};
use crate::route::{Routing, analyzed_delta_writes, check_writes, explains_a_write};
use crate::unifier::Unifier;

impl Unifier {
    /// Checks `sql` with the policy; when allowed, plans *the same AST* with DataFusion and
    /// verifies the plan with `SQLOptions` mirroring the policy. A refusal is
    /// `Ok(Compiled::Denied)`; nothing reaches DataFusion then.
    pub async fn compile(&self, sql: &str, params: Params) -> Result<Compiled> {
        let diag = self.recorder().begin("compile");
        let mut text = None;
        let result = self.compile_in(&diag, sql, &params, &mut text).await;
        if let Err(error) = &result {
            // Text that did not parse has no literals to name: every quoted string goes.
            let text =
                text.or_else(|| (!self.profile.diagnostics.full_sql).then(SqlText::unparsed));
            record_error(&diag, "compile", error, None, text.as_ref());
        }
        result
    }

    /// Compiles `sql` and requires a query: a denial, or a statement of another class,
    /// is [`Error::Unsupported`] naming `what` needed the query (`view \`v\``, `the
    /// source of a write`).
    pub async fn compile_query(
        &self,
        sql: &str,
        params: Params,
        what: &str,
    ) -> Result<CompiledQuery> {
        match self.compile(sql, params).await? {
            Compiled::Allowed(query) if query.is_query() => Ok(*query),
            Compiled::Allowed(query) => Err(Error::Unsupported {
                sql: query.canonical_sql,
                reason: format!("{what} must be a query"),
            }),
            Compiled::Denied(denied) => Err(Error::Unsupported {
                sql: denied.report.canonical_sql.clone(),
                reason: format!(
                    "{what} is denied by the policy: {}",
                    denial_text(&denied.report)
                ),
            }),
        }
    }

    async fn compile_in(
        &self,
        diag: &DiagnosticsContext,
        sql: &str,
        params: &Params,
        text: &mut Option<SqlText>,
    ) -> Result<Compiled> {
        let started = Instant::now();
        let profile = self.policy.profile();
        let report = match self.policy.check(sql) {
            Ok(report) => report,
            Err(error) => {
                let message = unifier_diagnostics::error_chain(&error);
                diag.record(
                    Status::Error,
                    started.elapsed(),
                    if self.profile.diagnostics.full_sql {
                        message
                    } else {
                        SqlText::unparsed().redact(&message)
                    },
                    PolicyEvent {
                        verdict: "error".into(),
                        dialect: profile.read_dialect.to_string(),
                        profile_fingerprint: self.policy.fingerprint().into(),
                        error_code: error.sql_errors().first().map(|e| e.code.as_str().into()),
                        ..Default::default()
                    },
                );
                return Err(error.into());
            }
        };
        let policy_time = started.elapsed();
        let shown = SqlText::of(&report, self.profile.diagnostics.full_sql);
        let denied = !report.verdict.is_allow();
        diag.record(
            if denied { Status::Denied } else { Status::Ok },
            policy_time,
            if denied {
                shown.redact(&denial_text(&report))
            } else {
                "allow".into()
            },
            PolicyEvent {
                verdict: report.verdict.as_str().into(),
                codes: report
                    .verdict
                    .violations()
                    .iter()
                    .map(|v| v.code.as_str().into())
                    .collect(),
                classes: report.classes.iter().map(|c| c.name().into()).collect(),
                statements: report.statements.len() as u64,
                dialect: report.read_dialect.to_string(),
                sql_fingerprint: Some(report.ast_fingerprint.clone()),
                error_code: None,
                profile_fingerprint: report.policy_fingerprint.clone(),
                sql: Some(shown.shown.clone()),
            },
        );
        *text = Some(shown.clone());
        if denied {
            return Ok(Compiled::Denied(Box::new(DeniedQuery {
                operation_id: diag.operation_id(),
                report,
            })));
        }
        if report.statements.len() != 1 {
            return Err(Error::MultipleStatements {
                count: report.statements.len(),
            });
        }

        let plan_started = Instant::now();
        let checked = &report.statements[0];
        let canonical_sql = checked.canonical_sql.clone();
        let plan_err = |source: DataFusionError| Error::Plan {
            sql: canonical_sql.clone(),
            source: Box::new(source),
        };
        let statement = to_datafusion(&checked.statement).map_err(plan_err)?;
        let mut state = self.io.session().state();
        // A dataset that failed to register is refused by name, with its cause, before
        // the planner reports it as missing.
        if let Ok(references) = state.resolve_table_references(&statement) {
            let defaults = &state.config_options().catalog;
            let (catalog, schema) = (
                defaults.default_catalog.clone(),
                defaults.default_schema.clone(),
            );
            for reference in references {
                // The policy saw the names as written; a bare name resolved through a
                // changed default schema is held to the same rule here.
                let resolved = reference.clone().resolve(&catalog, &schema);
                if &*resolved.schema == "diagnostics" && !profile.read_diagnostics {
                    return Err(Error::PlanRefused {
                        sql: canonical_sql.clone(),
                        source: Box::new(DataFusionError::Plan(format!(
                            "`{reference}` resolves to `{resolved}`, part of the audit trail, and this policy does not let it be read (read_diagnostics)"
                        ))),
                    });
                }
                let name = reference.to_string();
                if let Some(cause) = self.io.dataset(&name).and_then(|d| d.error) {
                    return Err(Error::DatasetUnavailable { name, cause });
                }
            }
        }
        let mut plan = state.statement_to_plan(statement).await.map_err(plan_err)?;
        if let LogicalPlan::Statement(Statement::Execute(execute)) = &plan {
            // The gates check what will run: the prepared plan, parameters bound.
            plan = self.prepared.resolve(&state, execute).map_err(plan_err)?;
        }
        let allowed = &profile.allowed_classes;
        let options = SQLOptions::new()
            .with_allow_ddl(allowed.contains(&StatementClass::Ddl))
            .with_allow_dml(
                allowed.contains(&StatementClass::Dml) || allowed.contains(&StatementClass::Copy),
            )
            .with_allow_statements(
                [
                    StatementClass::Set,
                    StatementClass::Transaction,
                    StatementClass::Prepare,
                ]
                .iter()
                .any(|c| allowed.contains(c)),
            );
        options
            .verify_plan(&plan)
            .map_err(|source| Error::PlanRefused {
                sql: canonical_sql.clone(),
                source: Box::new(source),
            })?;
        let routing = Routing::of(&plan);
        check_writes(&self.io, &routing.writes, &canonical_sql)?;
        if let Some(table) = analyzed_delta_writes(&self.io, &plan, &routing).first() {
            return Err(Error::Unsupported {
                sql: canonical_sql.clone(),
                reason: format!(
                    "EXPLAIN ANALYZE does not run writes into Delta table `{table}`: run the statement itself (its write event has the metrics)"
                ),
            });
        }
        if explains_a_write(&plan, &routing) {
            // Building the physical plan of a write can change data already (a memory
            // table deletes while planning): EXPLAIN shows the logical plan only.
            state.config_mut().options_mut().explain.logical_plan_only = true;
        }
        if let Some(values) = params.to_param_values() {
            plan = plan.with_param_values(values).map_err(plan_err)?;
        }
        let inputs = plan_inputs(&plan);
        let plan_hash = hex16(&plan.display_indent().to_string());
        let plan_time = plan_started.elapsed();
        diag.record(
            Status::Ok,
            plan_time,
            format!("planned {}", shown.shown),
            CompileEvent {
                sql_fingerprint: checked.ast_fingerprint.clone(),
                plan_hash: plan_hash.clone(),
                class: checked
                    .classes
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(","),
                inputs: inputs.clone(),
                policy_us: micros(policy_time),
                plan_us: micros(plan_time),
                params: params.len() as u64,
            },
        );
        Ok(Compiled::Allowed(Box::new(CompiledQuery {
            state: Arc::new(state),
            operation_id: diag.operation_id(),
            fingerprint: checked.ast_fingerprint.clone(),
            classes: checked.classes.clone(),
            canonical_sql,
            report,
            plan,
            routing,
            plan_hash,
            inputs,
            policy_time,
            plan_time,
            text: shown,
        })))
    }
}

/// Names of the tables a plan scans (views not expanded).
fn plan_inputs(plan: &LogicalPlan) -> Vec<String> {
    let mut inputs = BTreeSet::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            inputs.insert(scan.table_name.to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok();
    inputs.into_iter().collect()
}
