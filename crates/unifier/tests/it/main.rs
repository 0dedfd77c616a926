//! Integration tests of the facade: real sessions, real parquet files, real events.

mod audit;
mod compile;
mod doors;
mod execute;
mod load;
mod memory;
mod physical;
mod read_only;
mod same_ast;
mod tpch;
mod tpch_data;
mod writes;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use unifier::io::{FileFormatKind, IfExists, ListingSpec, SortColumn};
use unifier::policy::{PolicyProfile, Preset, StatementClass};
use unifier::{ExecutionResult, Params, Unifier, UnifierProfile};

use tpch_data::manifest_dir;

fn profile(preset: Preset) -> UnifierProfile {
    let mut profile = UnifierProfile {
        policy: PolicyProfile::preset(preset),
        ..UnifierProfile::default()
    };
    profile.scan.target_partitions = 2;
    // The tests read the audit trail to check what was recorded.
    profile.policy.read_diagnostics = true;
    profile
}

fn unifier(preset: Preset) -> Unifier {
    Unifier::new(profile(preset)).unwrap()
}

/// `ids` as `(id BIGINT, name TEXT)` rows.
fn batch(ids: impl IntoIterator<Item = i64>) -> RecordBatch {
    let ids: Vec<i64> = ids.into_iter().collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
    ]));
    let names: StringArray = ids.iter().map(|i| Some(format!("n{i}"))).collect();
    RecordBatch::try_new(
        schema,
        vec![Arc::new(Int64Array::from(ids)), Arc::new(names)],
    )
    .unwrap()
}

fn write_parquet(path: &Path, batch: &RecordBatch, row_group_rows: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Ten parquet files of 100 sorted ids each (file `i` holds `i*100 .. i*100+99`), row
/// groups of 25, registered as `t` with the order declared.
async fn sorted_table(unifier: &Unifier, dir: &Path) {
    for i in 0..10 {
        write_parquet(
            &dir.join(format!("part-{i:02}.parquet")),
            &batch(i * 100..i * 100 + 100),
            25,
        );
    }
    let spec = ListingSpec::new(dir.to_str().unwrap(), FileFormatKind::Parquet)
        .with_sort_order(vec![SortColumn::asc("id")]);
    unifier.register("t", spec, IfExists::Fail).await.unwrap();
}

async fn rows(unifier: &Unifier, sql: &str) -> String {
    match unifier.sql(sql, Params::None).await.unwrap() {
        ExecutionResult::Table { batches, .. } => {
            pretty_format_batches(&batches).unwrap().to_string()
        }
        other => panic!("expected rows, got {other:?}"),
    }
}

fn allow(profile: &mut UnifierProfile, class: StatementClass) {
    profile.policy.allowed_classes.insert(class);
}
