//! Prepared statements, kept by the facade rather than DataFusion's session, so that
//! `EXECUTE p(…)` compiles to the prepared plan with its parameters bound — and that
//! plan, not an opaque `EXECUTE` node, is what the gates check and what runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::FieldRef;
use datafusion::common::metadata::ScalarAndMetadata;
use datafusion::common::{DataFusionError, ParamValues, Result};
use datafusion::execution::SessionState;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Execute, Expr, LogicalPlan, Prepare};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;

#[derive(Debug, Clone)]
struct PreparedPlan {
    plan: LogicalPlan,
    fields: Vec<FieldRef>,
}

/// The prepared statements of one `Unifier` (shared by its clones).
#[derive(Debug, Clone, Default)]
pub(crate) struct PreparedPlans {
    plans: Arc<Mutex<HashMap<String, PreparedPlan>>>,
}

impl PreparedPlans {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PreparedPlan>> {
        self.plans.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `PREPARE name AS …` (already checked: its input is part of the plan the
    /// gates walked).
    pub(crate) fn store(&self, prepare: &Prepare) -> Result<()> {
        if !prepare.fields.is_empty() {
            let names = prepare.input.get_parameter_names()?;
            if names.len() != prepare.fields.len() {
                return Err(DataFusionError::Plan(format!(
                    "prepare `{}` declares {} parameter types but its statement has {} parameters",
                    prepare.name,
                    prepare.fields.len(),
                    names.len()
                )));
            }
        }
        self.lock().insert(
            prepare.name.clone(),
            PreparedPlan {
                plan: prepare.input.as_ref().clone(),
                fields: prepare.fields.clone(),
            },
        );
        Ok(())
    }

    /// `DEALLOCATE name`.
    pub(crate) fn remove(&self, name: &str) -> Result<()> {
        match self.lock().remove(name) {
            Some(_) => Ok(()),
            None => Err(DataFusionError::Plan(format!(
                "prepared statement `{name}` does not exist"
            ))),
        }
    }

    /// The prepared plan of `EXECUTE name(params)`, parameters bound (literals only,
    /// cast to the declared types).
    pub(crate) fn resolve(&self, state: &SessionState, execute: &Execute) -> Result<LogicalPlan> {
        let prepared = self.lock().get(&execute.name).cloned().ok_or_else(|| {
            DataFusionError::Plan(format!(
                "prepared statement `{}` does not exist; PREPARE it first",
                execute.name
            ))
        })?;
        let context = SimplifyContext::builder()
            .with_schema(Arc::clone(prepared.plan.schema()))
            .with_config_options(Arc::clone(state.config_options()))
            .build();
        let simplifier = ExprSimplifier::new(context);
        let mut params: Vec<ScalarAndMetadata> = execute
            .parameters
            .iter()
            .map(|e| match simplifier.simplify(e.clone())? {
                Expr::Literal(scalar, metadata) => Ok(ScalarAndMetadata::new(scalar, metadata)),
                other => Err(DataFusionError::Plan(format!(
                    "EXECUTE takes literal parameters, got `{other}`"
                ))),
            })
            .collect::<Result<_>>()?;
        if !prepared.fields.is_empty() {
            if params.len() != prepared.fields.len() {
                return Err(DataFusionError::Plan(format!(
                    "prepared statement `{}` expects {} parameters, {} given",
                    execute.name,
                    prepared.fields.len(),
                    params.len()
                )));
            }
            params = params
                .into_iter()
                .zip(&prepared.fields)
                .map(|(p, f)| p.cast_storage_to(f.data_type()))
                .collect::<Result<_>>()?;
        }
        prepared
            .plan
            .replace_params_with_values(&ParamValues::List(params))
    }
}
