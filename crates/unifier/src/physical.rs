//! Physical plan rules of the facade, appended after DataFusion's own rules.
//!
//! - [`OrderedConcat`]: a `SortPreservingMergeExec` whose input partitions are each sorted
//!   on the merge key *and* cover disjoint key ranges (proved by exact statistics) is
//!   replaced by an [`OrderedConcatExec`], which reads every partition in parallel and
//!   emits them one after the other in key order: no row-by-row merge.
//! - [`DecodeJoinFilters`]: a parquet scan whose only predicate is a dynamic filter (the
//!   key set of a hash join's build side, a TopK bound) evaluates it while decoding, so rows
//!   that cannot join are dropped before the other columns are decoded. Static predicates
//!   keep DataFusion's `pushdown_filters` setting.
//!
//! Both only reorganize work: the rows and their order are the same with the rule off
//! (`[runtime] ordered_concat`, `decode_join_filters`).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{ColumnStatistics, Result, ScalarValue, internal_err};
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_expr::expressions::{Column, DynamicFilterPhysicalExpr};
use datafusion::physical_expr::utils::split_conjunction;
use datafusion::physical_expr::{LexOrdering, PhysicalExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use futures::StreamExt;
use tokio::sync::{Notify, mpsc};

/// Replaces an order-preserving merge of disjoint sorted partitions with their
/// concatenation in key order. See the module docs.
#[derive(Debug, Default)]
pub struct OrderedConcat;

impl PhysicalOptimizerRule for OrderedConcat {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_nodes(plan, |merge: &SortPreservingMergeExec| {
            Ok(OrderedConcatExec::replacing(merge)?.map(|c| Arc::new(c) as _))
        })
    }

    fn name(&self) -> &str {
        "unifier_ordered_concat"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The input partitions in the order that concatenates them into `ordering`, when exact
/// statistics prove each non-empty partition's range of the leading sort key lies wholly
/// before the next one's (and the key has no nulls); `None` when that cannot be proved.
fn disjoint_order(
    input: &Arc<dyn ExecutionPlan>,
    ordering: &LexOrdering,
) -> Result<Option<Vec<usize>>> {
    let partitions = input.output_partitioning().partition_count();
    if partitions < 2 {
        return Ok(None);
    }
    let lead = ordering.first();
    let Some(column) = lead.expr.downcast_ref::<Column>() else {
        return Ok(None);
    };
    let input = below_no_statistics(input);
    let stats = StatisticsContext::new();
    let mut ranges: Vec<(usize, ScalarValue, ScalarValue)> = Vec::with_capacity(partitions);
    for partition in 0..partitions {
        let s = stats.compute(
            input.as_ref(),
            &StatisticsArgs::new().with_partition(Some(partition)),
        )?;
        if s.num_rows == Precision::Exact(0) {
            continue;
        }
        let range = match s.column_statistics.get(column.index()) {
            Some(col) => exact_range(col),
            None => None,
        };
        let Some((min, max)) = range.or_else(|| files_range(input, column.name(), partition))
        else {
            return Ok(None);
        };
        ranges.push((partition, min, max));
    }
    // Ascending: by minimum; descending: by maximum, largest first.
    let descending = lead.options.descending;
    let mut failed = false;
    ranges.sort_by(|a, b| {
        let ord = if descending {
            b.2.partial_cmp(&a.2)
        } else {
            a.1.partial_cmp(&b.1)
        };
        ord.unwrap_or_else(|| {
            failed = true;
            Ordering::Equal
        })
    });
    if failed {
        return Ok(None);
    }
    // With one sort key, touching ranges (a tie at the boundary) still concatenate in
    // order; with more keys the tie would need the next key, so ranges must be apart.
    let touching_ok = ordering.len() == 1;
    for pair in ranges.windows(2) {
        let (before, after) = if descending {
            (&pair[1].2, &pair[0].1) // next max vs this min
        } else {
            (&pair[0].2, &pair[1].1) // this max vs next min
        };
        match before.partial_cmp(after) {
            Some(Ordering::Less) => {}
            Some(Ordering::Equal) if touching_ok => {}
            _ => return Ok(None),
        }
    }
    Ok(Some(ranges.into_iter().map(|(p, _, _)| p).collect()))
}

/// `(min, max)` when the statistics are exact and there are no nulls.
fn exact_range(col: &ColumnStatistics) -> Option<(ScalarValue, ScalarValue)> {
    match (&col.min_value, &col.max_value, &col.null_count) {
        (Precision::Exact(min), Precision::Exact(max), Precision::Exact(0))
            if !min.is_null() && !max.is_null() =>
        {
            Some((min.clone(), max.clone()))
        }
        _ => None,
    }
}

/// The range of `column` over the files of a scan's partition, from each file's own
/// statistics: file groups rebuilt by DataFusion's sort pushdown carry no group
/// statistics, their files still do.
fn files_range(
    plan: &Arc<dyn ExecutionPlan>,
    column: &str,
    partition: usize,
) -> Option<(ScalarValue, ScalarValue)> {
    let exec = plan.downcast_ref::<DataSourceExec>()?;
    let config = exec.data_source().downcast_ref::<FileScanConfig>()?;
    let table = config.file_source.table_schema().table_schema();
    let index = table.index_of(column).ok()?;
    let mut range: Option<(ScalarValue, ScalarValue)> = None;
    for file in config.file_groups.get(partition)?.iter() {
        let stats = file.statistics.as_ref()?;
        if stats.column_statistics.len() != table.fields().len() {
            return None;
        }
        let (min, max) = exact_range(&stats.column_statistics[index])?;
        range = Some(match range {
            None => (min, max),
            Some((lo, hi)) => (
                if min.partial_cmp(&lo)? == Ordering::Less {
                    min
                } else {
                    lo
                },
                if max.partial_cmp(&hi)? == Ordering::Greater {
                    max
                } else {
                    hi
                },
            ),
        });
    }
    range
}

/// Nodes that keep each partition's rows in that partition (same partitions, rows
/// only transformed, filtered or sorted within the partition); some do not report
/// statistics, which are then read below them.
const PER_PARTITION: [&str; 6] = [
    "SortExec",
    "ProjectionExec",
    "FilterExec",
    "BufferExec",
    "CoalesceBatchesExec",
    "CooperativeExec",
];
const NO_STATISTICS: [&str; 3] = ["BufferExec", "CoalesceBatchesExec", "CooperativeExec"];

/// `plan` with every file scan below it pinned to its file groups: by default DataFusion
/// lets a partition that runs dry take files from its siblings (work stealing), so a
/// partition's rows would not be those its statistics describe. `None` when the path to
/// the scan crosses a node that moves rows between partitions.
fn pin_file_groups(plan: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>() {
        let Some(pinned) = exec.data_source().with_preserve_order(true) else {
            return Ok(None);
        };
        return Ok(Some(Arc::new(exec.clone().with_data_source(pinned))));
    }
    let children = plan.children();
    let [child] = children.as_slice() else {
        return Ok(None);
    };
    if !PER_PARTITION.contains(&plan.name())
        || child.output_partitioning().partition_count()
            != plan.output_partitioning().partition_count()
    {
        return Ok(None);
    }
    match pin_file_groups(child)? {
        Some(pinned) => Ok(Some(Arc::clone(plan).replace_children(
            vec![pinned],
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )?)),
        None => Ok(None),
    }
}

fn below_no_statistics(plan: &Arc<dyn ExecutionPlan>) -> &Arc<dyn ExecutionPlan> {
    let mut plan = plan;
    while NO_STATISTICS.contains(&plan.name()) {
        let children = plan.children();
        let [child] = children.as_slice() else { break };
        if child.schema() != plan.schema() {
            break;
        }
        plan = child;
    }
    plan
}

/// Emits its input's partitions one after the other, in a given order, as one sorted
/// partition. Every partition is read at once; the batches of those not yet emitted wait
/// in memory, reserved from the memory pool: when the pool refuses, a partition pauses
/// until the emitted ones free room (the partition being emitted never waits).
#[derive(Debug)]
pub struct OrderedConcatExec {
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
    order: Vec<usize>,
    metrics: ExecutionPlanMetricsSet,
}

impl OrderedConcatExec {
    /// Concatenates `input`'s partitions in `order` (partitions not named are empty),
    /// with the properties of the merge it replaces.
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        properties: Arc<PlanProperties>,
        order: Vec<usize>,
    ) -> Self {
        Self {
            input,
            properties,
            order,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The concatenation that can replace `merge`: its input with the file scans pinned
    /// to their groups, when statistics prove the partitions disjoint in the merge's key;
    /// `None` otherwise (and for a merge with a limit, which stops early by itself).
    pub fn replacing(merge: &SortPreservingMergeExec) -> Result<Option<Self>> {
        if merge.fetch().is_some() {
            // Running every partition to its end in parallel would read more, not less.
            return Ok(None);
        }
        let Some(input) = pin_file_groups(merge.input())? else {
            return Ok(None);
        };
        Ok(disjoint_order(&input, merge.expr())?
            .map(|order| Self::new(input, merge.properties().clone(), order)))
    }

    /// The partitions, in the order they are emitted.
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl DisplayAs for OrderedConcatExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let order = self
            .order
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "OrderedConcatExec: partitions=[{order}]")
            }
            DisplayFormatType::TreeRender => write!(f, "partitions=[{order}]"),
        }
    }
}

impl ExecutionPlan for OrderedConcatExec {
    fn name(&self) -> &'static str {
        "OrderedConcatExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("OrderedConcatExec takes one child, got {}", children.len());
        }
        let input = children.swap_remove(0);
        // A new input may no longer be disjoint: then it is merged.
        let merge = SortPreservingMergeExec::new(self.merge_ordering()?, input);
        match Self::replacing(&merge)? {
            Some(concat) => Ok(Arc::new(concat)),
            None => Ok(Arc::new(merge)),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("OrderedConcatExec has one partition, asked for {partition}");
        }
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let shared = Arc::new(Shared {
            current: AtomicUsize::new(0),
            freed: Notify::new(),
        });
        let mut receivers = Vec::with_capacity(self.order.len());
        let mut tasks = Vec::with_capacity(self.order.len());
        for (position, &input_partition) in self.order.iter().enumerate() {
            let stream = self.input.execute(input_partition, Arc::clone(&context))?;
            let reservation = Arc::new(
                MemoryConsumer::new(format!("OrderedConcatExec[{input_partition}]"))
                    .register(context.memory_pool()),
            );
            let (tx, rx) = mpsc::unbounded_channel();
            tasks.push(SpawnedTask::spawn(produce(
                stream,
                tx,
                Arc::clone(&reservation),
                Arc::clone(&shared),
                position,
            )));
            receivers.push((rx, reservation));
        }
        let state = ConsumeState {
            receivers,
            position: 0,
            shared,
            _tasks: tasks,
            baseline,
        };
        let stream = futures::stream::unfold(state, |mut state| async move {
            loop {
                let (rx, reservation) = state.receivers.get_mut(state.position)?;
                match rx.recv().await {
                    Some(Ok((batch, size))) => {
                        reservation.shrink(size);
                        state.shared.freed.notify_waiters();
                        state.baseline.record_output(batch.num_rows());
                        return Some((Ok(batch), state));
                    }
                    Some(Err(e)) => {
                        state.position = state.receivers.len();
                        return Some((Err(e), state));
                    }
                    None => {
                        state.position += 1;
                        state
                            .shared
                            .current
                            .store(state.position, AtomicOrdering::SeqCst);
                        state.shared.freed.notify_waiters();
                        if state.position == state.receivers.len() {
                            state.baseline.done();
                        }
                    }
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

impl OrderedConcatExec {
    fn merge_ordering(&self) -> Result<LexOrdering> {
        match self.properties.output_ordering() {
            Some(ordering) => Ok(ordering.clone()),
            None => internal_err!("OrderedConcatExec without an output ordering"),
        }
    }

    fn schema(&self) -> SchemaRef {
        self.properties.eq_properties.schema().clone()
    }
}

/// What the producers and the consumer share: which position is being emitted, and a
/// wake-up when memory was freed or the position moved.
#[derive(Debug)]
struct Shared {
    current: AtomicUsize,
    freed: Notify,
}

/// A partition's batches with the bytes each one reserved.
type Batches = mpsc::UnboundedReceiver<Result<(RecordBatch, usize)>>;

struct ConsumeState {
    receivers: Vec<(Batches, Arc<MemoryReservation>)>,
    position: usize,
    shared: Arc<Shared>,
    _tasks: Vec<SpawnedTask<()>>,
    baseline: BaselineMetrics,
}

/// Drains one input partition into its channel, reserving each batch's memory first; the
/// partition being emitted reserves without asking (it is drained as it goes), the others
/// wait for room.
async fn produce(
    mut stream: SendableRecordBatchStream,
    tx: mpsc::UnboundedSender<Result<(RecordBatch, usize)>>,
    reservation: Arc<MemoryReservation>,
    shared: Arc<Shared>,
    position: usize,
) {
    while let Some(item) = stream.next().await {
        let batch = match item {
            Ok(batch) => batch,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let size = batch.get_array_memory_size();
        loop {
            let freed = shared.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if shared.current.load(AtomicOrdering::SeqCst) >= position {
                reservation.grow(size);
                break;
            }
            if reservation.try_grow(size).is_ok() {
                break;
            }
            freed.await;
        }
        if tx.send(Ok((batch, size))).is_err() {
            return; // the consumer is gone
        }
    }
}

/// Lets a parquet scan evaluate a predicate made only of dynamic filters while decoding.
/// See the module docs.
#[derive(Debug, Default)]
pub struct DecodeJoinFilters;

impl PhysicalOptimizerRule for DecodeJoinFilters {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_nodes(plan, |exec: &DataSourceExec| {
            let Some(scan) = exec.data_source().downcast_ref::<FileScanConfig>() else {
                return Ok(None);
            };
            let Some(parquet) = scan.file_source.downcast_ref::<ParquetSource>() else {
                return Ok(None);
            };
            if parquet.table_parquet_options().global.pushdown_filters {
                return Ok(None);
            }
            let Some(predicate) = FileSource::filter(parquet) else {
                return Ok(None);
            };
            let only_dynamic = split_conjunction(&predicate)
                .iter()
                .all(|e| e.downcast_ref::<DynamicFilterPhysicalExpr>().is_some());
            if !only_dynamic {
                return Ok(None);
            }
            let mut config = scan.clone();
            config.file_source = Arc::new(parquet.clone().with_pushdown_filters(true));
            let replaced = exec.clone().with_data_source(Arc::new(config));
            Ok(Some(Arc::new(replaced) as _))
        })
    }

    fn name(&self) -> &str {
        "unifier_decode_join_filters"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `plan` with every node of type `T` that `replace` returns a replacement for replaced,
/// bottom up.
fn replace_nodes<T: ExecutionPlan + 'static>(
    plan: Arc<dyn ExecutionPlan>,
    replace: impl Fn(&T) -> Result<Option<Arc<dyn ExecutionPlan>>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let replacement = match node.downcast_ref::<T>() {
            Some(typed) => replace(typed)?,
            None => None,
        };
        Ok(match replacement {
            Some(new) => Transformed::yes(new),
            None => Transformed::no(node),
        })
    })
    .data()
}
