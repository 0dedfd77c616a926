//! Scan metrics read off an executed physical plan.

use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricValue;

/// What the scans of one execution did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanMetrics {
    /// Files read: opened and not skipped by their statistics.
    pub files_scanned: u64,
    /// Files (or file ranges) skipped by statistics after listing.
    pub files_pruned: u64,
    /// Parquet row groups skipped by statistics.
    pub row_groups_pruned: u64,
    /// Parquet row groups that statistics could not skip.
    pub row_groups_matched: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
    /// SortExec operators in the plan.
    pub sort_execs: u64,
    /// The statement sorts, yet the plan has no SortExec: a verified ordering served it.
    pub sort_elided: bool,
    /// Spill files written by operators that ran short of memory.
    pub spill_count: u64,
    /// Bytes written to spill files.
    pub spilled_bytes: u64,
}

impl ScanMetrics {
    /// The `execute` event of a run that returned `rows` in `batches` with these metrics.
    pub(crate) fn execute_event(
        &self,
        plan_hash: String,
        inputs: Vec<String>,
        rows: u64,
        batches: u64,
    ) -> unifier_diagnostics::ExecuteEvent {
        unifier_diagnostics::ExecuteEvent {
            plan_hash,
            inputs,
            rows,
            batches,
            files_scanned: self.files_scanned,
            files_pruned: self.files_pruned,
            row_groups_pruned: self.row_groups_pruned,
            row_groups_matched: self.row_groups_matched,
            bytes_scanned: self.bytes_scanned,
            sort_elided: self.sort_elided,
            sort_execs: self.sort_execs,
            spill_count: self.spill_count,
            spilled_bytes: self.spilled_bytes,
        }
    }

    /// Sums the metrics of every operator of `plan`; `sorts` says whether the logical
    /// plan asked for a sort.
    pub fn from_plan(plan: &dyn ExecutionPlan, sorts: bool) -> Self {
        let mut m = ScanMetrics::default();
        visit(plan, &mut m);
        // DataFusion counts a file as opened before its statistics prune it.
        m.files_scanned = m.files_scanned.saturating_sub(m.files_pruned);
        m.sort_elided = sorts && m.sort_execs == 0;
        m
    }
}

fn visit(plan: &dyn ExecutionPlan, m: &mut ScanMetrics) {
    if plan.name() == "SortExec" {
        m.sort_execs += 1;
    }
    if let Some(metrics) = plan.metrics() {
        for metric in metrics.iter() {
            match metric.value() {
                MetricValue::SpillCount(count) => m.spill_count += count.value() as u64,
                MetricValue::SpilledBytes(count) => m.spilled_bytes += count.value() as u64,
                MetricValue::Count { name, count } => match name.as_ref() {
                    "files_opened" => m.files_scanned += count.value() as u64,
                    "bytes_scanned" => m.bytes_scanned += count.value() as u64,
                    _ => {}
                },
                MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } => match name.as_ref() {
                    "files_ranges_pruned_statistics" => {
                        m.files_pruned += pruning_metrics.pruned() as u64
                    }
                    "row_groups_pruned_statistics" => {
                        m.row_groups_pruned += pruning_metrics.pruned() as u64;
                        m.row_groups_matched += pruning_metrics.matched() as u64;
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    for child in plan.children() {
        visit(child.as_ref(), m);
    }
}
