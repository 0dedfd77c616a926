//! Each `[scan]` setting, tested by its effect on a real scan of a real parquet file:
//! the counters DataFusion's parquet scan keeps, read off the executed plan.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{ExecutionPlan, collect};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use unifier_diagnostics::DiagnosticsRecorder;
use unifier_io_adapter::{FileFormatKind, IoAdapter, ListingSpec, RegisterOptions, ScanPolicy};

/// 10,000 rows, `id` 0..10000 in order: 10 row groups of 1,000, pages of 100 rows, and a
/// key-value entry in the file's schema metadata.
fn write_file(path: &Path) {
    let mut metadata = HashMap::new();
    metadata.insert("written_by".to_owned(), "the scan settings test".to_owned());
    let schema = Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
        ],
        metadata,
    ));
    let ids: Vec<i64> = (0..10_000).collect();
    let names: StringArray = ids.iter().map(|i| Some(format!("n{i}"))).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from(ids)), Arc::new(names)],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(1_000))
        .set_data_page_row_count_limit(100)
        .set_write_batch_size(100)
        .build();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// What one scan did, summed over the plan's operators.
#[derive(Debug, Default)]
struct Counters {
    row_groups_pruned: usize,
    page_rows_pruned: usize,
    pushdown_rows_pruned: usize,
    rows: usize,
}

fn count(plan: &dyn ExecutionPlan, c: &mut Counters) {
    if let Some(metrics) = plan.metrics() {
        for metric in metrics.iter() {
            match metric.value() {
                MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } if name.as_ref() == "row_groups_pruned_statistics" => {
                    c.row_groups_pruned += pruning_metrics.pruned();
                }
                MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } if name.as_ref() == "page_index_rows_pruned" => {
                    c.page_rows_pruned += pruning_metrics.pruned();
                }
                MetricValue::Count { name, count } if name.as_ref() == "pushdown_rows_pruned" => {
                    c.pushdown_rows_pruned += count.value();
                }
                _ => {}
            }
        }
    }
    for child in plan.children() {
        count(child.as_ref(), c);
    }
}

/// Registers the file as `t` under `scan` and runs a point lookup; returns the counters.
async fn scan(path: &Path, scan: ScanPolicy) -> (Counters, IoAdapter) {
    let adapter = IoAdapter::with_defaults(scan, DiagnosticsRecorder::new(1_000)).unwrap();
    adapter
        .register(
            "t",
            ListingSpec::new(path.display().to_string(), FileFormatKind::Parquet),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    let ctx = adapter.session();
    let plan = ctx
        .sql("SELECT id, name FROM t WHERE id = 4242")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let batches = collect(plan.clone(), ctx.task_ctx()).await.unwrap();
    let mut counters = Counters {
        rows: batches.iter().map(RecordBatch::num_rows).sum(),
        ..Counters::default()
    };
    count(plan.as_ref(), &mut counters);
    (counters, adapter)
}

fn policy() -> ScanPolicy {
    ScanPolicy {
        target_partitions: 1,
        ..ScanPolicy::default()
    }
}

#[tokio::test]
async fn each_parquet_setting_changes_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.parquet");
    write_file(&path);

    // The defaults: statistics skip 9 of 10 row groups, the page index 9 of 10 pages of
    // the one left, no filter pushdown into the decoder.
    let (on, _) = scan(&path, policy()).await;
    assert_eq!(on.rows, 1);
    assert_eq!(on.row_groups_pruned, 9, "{on:?}");
    assert_eq!(on.page_rows_pruned, 900, "{on:?}");
    assert_eq!(on.pushdown_rows_pruned, 0, "{on:?}");

    let (off, _) = scan(
        &path,
        ScanPolicy {
            parquet_pruning: false,
            ..policy()
        },
    )
    .await;
    assert_eq!(off.rows, 1);
    assert_eq!(off.row_groups_pruned, 0, "parquet_pruning = false: {off:?}");

    let (off, _) = scan(
        &path,
        ScanPolicy {
            page_index: false,
            ..policy()
        },
    )
    .await;
    assert_eq!(off.rows, 1);
    assert_eq!(off.row_groups_pruned, 9, "{off:?}");
    assert_eq!(off.page_rows_pruned, 0, "page_index = false: {off:?}");

    // Filters evaluated while decoding drop the other 99 rows of the page read.
    let (pushed, _) = scan(
        &path,
        ScanPolicy {
            pushdown_filters: true,
            reorder_filters: true,
            ..policy()
        },
    )
    .await;
    assert_eq!(pushed.rows, 1);
    assert_eq!(
        pushed.pushdown_rows_pruned, 99,
        "pushdown_filters = true: {pushed:?}"
    );
}

#[tokio::test]
async fn skip_metadata_decides_whether_the_files_metadata_reaches_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.parquet");
    write_file(&path);
    let (_, skipped) = scan(&path, policy()).await;
    let schema = skipped.dataset("t").unwrap().schema;
    assert!(schema.metadata().is_empty(), "{:?}", schema.metadata());

    let (_, kept) = scan(
        &path,
        ScanPolicy {
            skip_metadata: false,
            ..policy()
        },
    )
    .await;
    let schema = kept.dataset("t").unwrap().schema;
    assert_eq!(
        schema.metadata().get("written_by").map(String::as_str),
        Some("the scan settings test")
    );
}
