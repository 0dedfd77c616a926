//! `explain`: the plans of a compiled statement, with the sort and pruning decisions.

use datafusion::error::DataFusionError;
use datafusion::physical_plan::display::DisplayableExecutionPlan;

use crate::error::{Error, Result};
use crate::metrics::ScanMetrics;
use crate::result::{CompiledQuery, ExecutionResult, Explained};
use crate::route::route;
use crate::unifier::Unifier;

impl Unifier {
    /// The plans of a compiled statement: the optimized logical plan and the physical
    /// plan; with `analyze`, the statement runs (recorded like [`Unifier::execute`]) and
    /// the physical plan carries its metrics.
    pub async fn explain(&self, query: &CompiledQuery, analyze: bool) -> Result<Explained> {
        let sql = &query.canonical_sql;
        let exec_err = |source: DataFusionError| self.classify(sql, source);
        let state = &query.state;
        let optimized = state.optimize(&query.plan).map_err(exec_err)?;
        let datasets = query
            .inputs
            .iter()
            .filter_map(|name| self.io.dataset(name))
            .collect();
        let sorts = query.routing.sorts;
        let runs_as_query = route(&query.plan).is_query();
        let (physical, result) = match (runs_as_query, analyze) {
            (false, true) => {
                return Err(Error::Unsupported {
                    sql: sql.clone(),
                    reason: "explain --analyze runs queries only; this statement changes state"
                        .into(),
                });
            }
            (false, false) => (None, None),
            (true, false) => (
                Some(
                    state
                        .create_physical_plan(&query.plan)
                        .await
                        .map_err(exec_err)?,
                ),
                None,
            ),
            (true, true) => {
                let (result, physical) = self.execute_recorded(query).await?;
                (physical, Some(result))
            }
        };
        let metrics = result.as_ref().map(|r| r.provenance().metrics).or_else(|| {
            physical
                .as_ref()
                .map(|p| ScanMetrics::from_plan(p.as_ref(), sorts))
        });
        Ok(Explained {
            logical_plan: optimized.display_indent().to_string(),
            physical_plan: physical.as_ref().map(|p| {
                let shown = if analyze {
                    DisplayableExecutionPlan::with_metrics(p.as_ref())
                } else {
                    DisplayableExecutionPlan::new(p.as_ref())
                };
                shown.indent(false).to_string()
            }),
            sorts,
            metrics,
            rows: result.as_ref().map(ExecutionResult::rows),
            datasets,
        })
    }
}
