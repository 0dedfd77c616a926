//! Registers a sorted parquet directory through the IO adapter alone, shows the verified
//! ordering, the plan without a sort, `system.datasets` and the `register` event.
//!
//! `cargo run -p unifier-io-adapter --example register_listing`

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::physical_plan::displayable;
use unifier_diagnostics::DiagnosticsRecorder;
use unifier_io_adapter::{
    FileFormatKind, IoAdapter, ListingSpec, RegisterOptions, ScanPolicy, SortColumn,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("unifier-io-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    for part in 0..3i64 {
        let ids = Int64Array::from_iter_values(part * 1000..part * 1000 + 1000);
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(ids)])?;
        let file = std::fs::File::create(dir.join(format!("part-{part}.parquet")))?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None)?;
        writer.write(&batch)?;
        writer.close()?;
    }

    let adapter = IoAdapter::with_defaults(ScanPolicy::default(), DiagnosticsRecorder::default())?;
    let spec = ListingSpec::new(dir.to_str().unwrap_or_default(), FileFormatKind::Parquet)
        .with_sort_order(vec![SortColumn::asc("id")]);
    let meta = adapter
        .register("ids", spec, RegisterOptions::default())
        .await?;
    println!(
        "registered `{}`: {} files, {:?} rows, order {:?}",
        meta.name,
        meta.files.unwrap_or(0),
        meta.rows,
        meta.sort_verification
    );

    let plan = adapter
        .session()
        .sql("SELECT id FROM ids ORDER BY id")
        .await?
        .create_physical_plan()
        .await?;
    println!(
        "plan of ORDER BY id (no SortExec):\n{}",
        displayable(plan.as_ref()).indent(false)
    );

    adapter.session().sql("SELECT name, kind, files, rows, sort_verification FROM system.datasets WHERE kind <> 'system'").await?.show().await?;
    adapter
        .session()
        .sql("SELECT dataset, status, sort_verification, duration_us FROM diagnostics.register")
        .await?
        .show()
        .await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
