//! Change Data Feed reads: a provider over deltalake's CDF scan that validates the range
//! against the table's history up front and records a `cdf` event (table, versions,
//! rows) once a scan of it has run; and the SQL table function
//! `table_changes('name', start_version [, end_version])` over registered Delta tables.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use deltalake::DeltaTable;
use deltalake::delta_datafusion::DeltaCdfTableProvider;
use futures::StreamExt;
use unifier_diagnostics::{CdfEvent, DiagnosticsRecorder, Status};

use crate::error::{Error, Result};
use crate::metadata::DeltaInfo;

/// The bounds of a change-feed read, as asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CdfBounds {
    pub(crate) starting_version: Option<u64>,
    pub(crate) ending_version: Option<u64>,
    pub(crate) starting_timestamp: Option<String>,
    pub(crate) ending_timestamp: Option<String>,
}

fn parse_time(name: &str, what: &str, value: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::InvalidOption {
            option: format!("{what} of `{name}`"),
            value: value.into(),
            expected: "an RFC 3339 time such as 2024-01-31T12:00:00Z".into(),
        })
}

/// What a finished scan records.
struct Tracker {
    recorder: DiagnosticsRecorder,
    table: String,
    source: &'static str,
    range: CdfBounds,
    started: Instant,
    executed: AtomicBool,
    rows: AtomicU64,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if !self.executed.load(Ordering::Acquire) {
            return;
        }
        let rows = self.rows.load(Ordering::Acquire);
        let diag = self.recorder.begin("cdf");
        let shown = |v: Option<u64>| v.map_or_else(|| "latest".to_owned(), |v| v.to_string());
        let signed = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
        diag.record(
            Status::Ok,
            self.started.elapsed(),
            format!(
                "read {rows} changes of `{}` (versions {}..={})",
                self.table,
                shown(self.range.starting_version),
                shown(self.range.ending_version)
            ),
            CdfEvent {
                table: self.table.clone(),
                source: self.source.into(),
                starting_version: signed(self.range.starting_version),
                ending_version: signed(self.range.ending_version),
                starting_timestamp: self.range.starting_timestamp.clone(),
                ending_timestamp: self.range.ending_timestamp.clone(),
                rows,
                cursor: None,
            },
        );
    }
}

/// A Delta table's change feed over a validated range; records a `cdf` event per scan
/// that ran.
pub(crate) struct RecordedCdf {
    inner: Arc<dyn TableProvider>,
    table: String,
    source: &'static str,
    range: CdfBounds,
    recorder: DiagnosticsRecorder,
}

impl fmt::Debug for RecordedCdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedCdf")
            .field("table", &self.table)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl RecordedCdf {
    /// Validates `range` against the table's history (`info`, read at registration)
    /// and builds the provider. A range without a start begins at the earliest version.
    pub(crate) fn try_new(
        name: &str,
        table: &DeltaTable,
        info: &DeltaInfo,
        mut range: CdfBounds,
        source: &'static str,
        recorder: DiagnosticsRecorder,
    ) -> Result<Self> {
        let location = info.table_url.clone();
        if !info.change_data_feed {
            return Err(Error::CdfNotEnabled {
                name: name.into(),
                location,
                earliest: info.earliest_version,
                latest: info.version,
            });
        }
        let out_of_range = |what: String| Error::VersionRange {
            name: name.into(),
            what,
            earliest: info.earliest_version,
            latest: info.version,
        };
        if range.starting_version.is_none() && range.starting_timestamp.is_none() {
            range.starting_version = Some(info.earliest_version);
        }
        if let Some(start) = range.starting_version
            && (start < info.earliest_version || start > info.version)
        {
            return Err(out_of_range(format!("starting version {start}")));
        }
        if let Some(end) = range.ending_version {
            if end > info.version {
                return Err(out_of_range(format!("ending version {end}")));
            }
            if let Some(start) = range.starting_version
                && end < start
            {
                return Err(out_of_range(format!("versions {start}..={end}")));
            }
        }
        let mut builder = table.clone().scan_cdf();
        if let Some(v) = range.starting_version {
            builder = builder.with_starting_version(v);
        }
        if let Some(v) = range.ending_version {
            builder = builder.with_ending_version(v);
        }
        if let Some(ts) = &range.starting_timestamp {
            builder = builder.with_starting_timestamp(parse_time(name, "starting_timestamp", ts)?);
        }
        if let Some(ts) = &range.ending_timestamp {
            builder = builder.with_ending_timestamp(parse_time(name, "ending_timestamp", ts)?);
        }
        let provider = DeltaCdfTableProvider::try_new(builder).map_err(|source| Error::Delta {
            name: name.into(),
            location: info.table_url.clone(),
            source: Box::new(source),
        })?;
        Ok(Self {
            inner: Arc::new(provider),
            table: name.into(),
            source,
            range,
            recorder,
        })
    }
}

#[async_trait]
impl TableProvider for RecordedCdf {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let input = self.inner.scan(state, projection, filters, limit).await?;
        let tracker = Arc::new(Tracker {
            recorder: self.recorder.clone(),
            table: self.table.clone(),
            source: self.source,
            range: self.range.clone(),
            started: Instant::now(),
            executed: AtomicBool::new(false),
            rows: AtomicU64::new(0),
        });
        Ok(Arc::new(CdfReadExec { input, tracker }))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}

/// Passes the change-feed scan through, counting rows for the `cdf` event.
struct CdfReadExec {
    input: Arc<dyn ExecutionPlan>,
    tracker: Arc<Tracker>,
}

impl fmt::Debug for CdfReadExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CdfReadExec")
            .field("table", &self.tracker.table)
            .finish_non_exhaustive()
    }
}

impl DisplayAs for CdfReadExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.tracker.range;
        let shown = |v: Option<u64>| v.map_or_else(|| "latest".to_owned(), |v| v.to_string());
        write!(
            f,
            "CdfReadExec: table={}, versions={}..={}",
            self.tracker.table,
            shown(r.starting_version),
            shown(r.ending_version)
        )
    }
}

impl ExecutionPlan for CdfReadExec {
    fn name(&self) -> &str {
        "CdfReadExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let input = children
            .pop()
            .filter(|_| children.is_empty())
            .ok_or_else(|| DataFusionError::Internal("CdfReadExec has one child".into()))?;
        Ok(Arc::new(CdfReadExec {
            input,
            tracker: self.tracker.clone(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let stream = self.input.execute(partition, context)?;
        self.tracker.executed.store(true, Ordering::Release);
        let tracker = self.tracker.clone();
        let schema = stream.schema();
        let counted = stream.map(move |batch| {
            if let Ok(batch) = &batch {
                tracker
                    .rows
                    .fetch_add(batch.num_rows() as u64, Ordering::AcqRel);
            }
            batch
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, counted)))
    }
}

/// `table_changes('name', start_version [, end_version])`: the change feed of a
/// registered Delta table, planned like any table (and so gated like any query).
pub(crate) struct TableChanges {
    adapter: Weak<dyn ResolveDelta>,
}

/// How the table function finds registered Delta tables (the adapter, weakly held).
pub(crate) trait ResolveDelta: Send + Sync {
    /// The Delta table and what was read of it at registration.
    fn resolve(&self, name: &str) -> Result<(DeltaTable, DeltaInfo), String>;
    /// The recorder for `cdf` events.
    fn cdf_recorder(&self) -> DiagnosticsRecorder;
}

impl TableChanges {
    pub(crate) fn new(adapter: Weak<dyn ResolveDelta>) -> Self {
        Self { adapter }
    }
}

impl fmt::Debug for TableChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TableChanges")
    }
}

fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value),
        _ => None,
    }
}

fn version_arg(args: &[Expr], at: usize, what: &str) -> DfResult<Option<u64>> {
    let Some(expr) = args.get(at) else {
        return Ok(None);
    };
    let value = literal(expr).and_then(|v| match v {
        ScalarValue::Int8(Some(v)) => u64::try_from(*v).ok(),
        ScalarValue::Int16(Some(v)) => u64::try_from(*v).ok(),
        ScalarValue::Int32(Some(v)) => u64::try_from(*v).ok(),
        ScalarValue::Int64(Some(v)) => u64::try_from(*v).ok(),
        ScalarValue::UInt8(Some(v)) => Some(u64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(u64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(u64::from(*v)),
        ScalarValue::UInt64(Some(v)) => Some(*v),
        _ => None,
    });
    value.map(Some).ok_or_else(|| {
        DataFusionError::Plan(format!(
            "table_changes: {what} must be a non-negative integer literal, got `{expr}`"
        ))
    })
}

impl TableFunctionImpl for TableChanges {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let usage = "table_changes('table', start_version [, end_version])";
        if exprs.len() < 2 || exprs.len() > 3 {
            return Err(DataFusionError::Plan(format!(
                "table_changes takes 2 or 3 arguments: {usage}"
            )));
        }
        let name = match exprs.first().and_then(literal) {
            Some(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s))) => s.clone(),
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "table_changes: the first argument must be the name of a registered Delta table as a string: {usage}"
                )));
            }
        };
        let starting_version = version_arg(exprs, 1, "start_version")?;
        let ending_version = version_arg(exprs, 2, "end_version")?;
        let adapter = self
            .adapter
            .upgrade()
            .ok_or_else(|| DataFusionError::Plan("table_changes: the catalog is gone".into()))?;
        let (table, info) = adapter
            .resolve(&name)
            .map_err(|e| DataFusionError::Plan(format!("table_changes: {e}")))?;
        let range = CdfBounds {
            starting_version,
            ending_version,
            ..CdfBounds::default()
        };
        let provider = RecordedCdf::try_new(
            &name,
            &table,
            &info,
            range,
            "table_changes",
            adapter.cdf_recorder(),
        )
        .map_err(|e| DataFusionError::Plan(unifier_diagnostics::error_chain(&e)))?;
        Ok(Arc::new(provider))
    }
}
