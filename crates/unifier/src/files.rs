//! Rows of files that no dataset names (a write's source file): held to the policy's
//! file-access rule, as `FROM 'file'` in SQL is, and recorded like a query.

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::Schema;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{LogicalPlanBuilder, cast, col};
use datafusion::physical_plan::SendableRecordBatchStream;
use unifier_diagnostics::{PolicyEvent, Status};
use unifier_io_adapter::ListingSpec;

use crate::audit::{hex16, record_error};
use crate::error::{Error, Result};
use crate::stream::{Pending, RecordedStream};
use crate::unifier::Unifier;

impl Unifier {
    /// The rows of the files of `spec` (listed, typed and verified as a registration
    /// would be, but not registered), with each column cast to the type of the field of
    /// the same name in `cast_to` when given (a write's source file, whose types are
    /// inferred, into a table whose types are declared). Reads only the named files.
    ///
    /// The location is held to the policy's file access (`allow_external_access`,
    /// `allowed_locations`) like a file named in SQL: a refusal is
    /// [`Error::LocationDenied`] with a `policy` event (verdict `deny`, code
    /// `external_access`). The read records an `execute` event when the stream ends,
    /// within the profile's memory limit and query timeout.
    pub async fn read_files(
        &self,
        spec: ListingSpec,
        cast_to: Option<&Schema>,
    ) -> Result<SendableRecordBatchStream> {
        let started = Instant::now();
        let location = spec.location.clone();
        if let Some(mut reason) = self.policy.location_refusal("file", &location) {
            if !self.policy.profile().allow_external_access {
                reason.push_str(", or let the policy read files (allow_external_access = true, with allowed_locations)");
            }
            let diag = self.recorder().begin("read_files");
            diag.record(
                Status::Denied,
                diag.elapsed(),
                reason.clone(),
                PolicyEvent {
                    verdict: "deny".into(),
                    codes: vec!["external_access".into()],
                    dialect: self.policy.profile().read_dialect.to_string(),
                    profile_fingerprint: self.policy.fingerprint().into(),
                    ..Default::default()
                },
            );
            let error = Error::LocationDenied { location, reason };
            record_error(&diag, "read_files", &error, None, None);
            return Err(error);
        }
        let diag = self.recorder().begin("execute");
        let failed = |source| Error::ReadFiles {
            location: location.clone(),
            source: Box::new(source),
        };
        let opened = async {
            let plan = self.io.scan_files(spec).await?;
            let plan = match cast_to {
                Some(target) => cast_columns(plan, target).map_err(failed)?,
                None => plan,
            };
            let state = self.io.session().state();
            let physical = state.create_physical_plan(&plan).await.map_err(failed)?;
            let stream = datafusion::physical_plan::execute_stream(
                physical.clone(),
                Arc::new(TaskContext::from(&state)),
            )
            .map_err(failed)?;
            Ok::<_, Error>((hex16(&plan.display_indent().to_string()), physical, stream))
        };
        let (plan_hash, physical, stream) = match opened.await {
            Ok(opened) => opened,
            Err(error) => {
                record_error(&diag, "execute", &error, None, None);
                return Err(error);
            }
        };
        let pending = Pending {
            diag,
            started,
            plan_hash,
            inputs: vec![location.clone()],
            sorts: false,
            memory_limit_mb: self.memory_limit_mb,
            timeout_ms: self.profile.runtime.query_timeout_ms,
            sql: format!("read files `{location}`"),
            fingerprint: None,
            text: None,
        };
        Ok(Box::pin(RecordedStream::new(stream, physical, pending)))
    }
}

/// `plan` with each column cast to the type of the field of the same name in `target`.
fn cast_columns(
    plan: datafusion::logical_expr::LogicalPlan,
    target: &Schema,
) -> datafusion::error::Result<datafusion::logical_expr::LogicalPlan> {
    let exprs: Vec<_> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let column = col(format!("\"{}\"", f.name()));
            match target.field_with_name(f.name()) {
                Ok(t) if t.data_type() != f.data_type() => {
                    cast(column, t.data_type().clone()).alias(f.name())
                }
                _ => column,
            }
        })
        .collect();
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}
