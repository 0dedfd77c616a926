//! Bad input fails naming the input, and leaves the catalog as it was.

use arrow::datatypes::DataType;
use unifier_io_adapter::{
    Error, FileFormatKind, IoAdapter, ListingSpec, PartitionColumn, RegisterOptions,
};

use crate::{adapter, batch, dir_str, some, write_parquet};

async fn register_err(adapter: &IoAdapter, name: &str, spec: ListingSpec) -> Error {
    let err = adapter
        .register(name, spec, RegisterOptions::default())
        .await
        .unwrap_err();
    assert!(
        adapter.dataset(name).is_none(),
        "`{name}` is half-registered after: {err}"
    );
    assert!(
        adapter.session().table(name).await.is_err(),
        "`{name}` reached the session after: {err}"
    );
    err
}

#[tokio::test]
async fn a_missing_location_is_named() {
    let adapter = adapter();
    let err = register_err(
        &adapter,
        "t",
        ListingSpec::new("/no/such/dir", FileFormatKind::Parquet),
    )
    .await;
    assert_eq!(
        err.to_string(),
        "table `t`: location `/no/such/dir` does not exist"
    );
}

#[tokio::test]
async fn a_location_without_files_of_the_extension_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.csv"), "x\n1\n").unwrap();
    let adapter = adapter();
    let err = register_err(
        &adapter,
        "t",
        ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet),
    )
    .await;
    assert_eq!(
        err.to_string(),
        format!(
            "table `t`: no `*.parquet` files at `{}`",
            tmp.path().display()
        )
    );
}

#[tokio::test]
async fn a_file_that_is_not_the_declared_format_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(&tmp.path().join("good.parquet"), &batch(&some(1..=2)), 10);
    std::fs::write(tmp.path().join("bad.parquet"), "id,name\n1,x\n").unwrap();
    let adapter = adapter();
    let err = register_err(
        &adapter,
        "t",
        ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet),
    )
    .await;
    let bad = tmp.path().join("bad.parquet");
    let message = format!("table `t`: file `{}` is not parquet", bad.display());
    assert_eq!(err.to_string(), message);
    // The reader's error is the source, printed once in the chain.
    let chain = unifier_diagnostics::error_chain(&err);
    assert!(chain.starts_with(&format!("{message}: ")), "{chain}");
    assert_eq!(chain.matches("is not parquet").count(), 1, "{chain}");
}

#[tokio::test]
async fn conflicting_schemas_name_both_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(&tmp.path().join("a.parquet"), &batch(&some(1..=2)), 10);
    let other = arrow::record_batch::RecordBatch::try_from_iter(vec![(
        "id",
        std::sync::Arc::new(arrow::array::StringArray::from(vec!["x"])) as arrow::array::ArrayRef,
    )])
    .unwrap();
    write_parquet(&tmp.path().join("b.parquet"), &other, 10);
    let adapter = adapter();
    let err = register_err(
        &adapter,
        "t",
        ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet),
    )
    .await;
    let (a, b) = (tmp.path().join("a.parquet"), tmp.path().join("b.parquet"));
    assert_eq!(
        err.to_string(),
        format!(
            "table `t`: files have conflicting schemas: column `id` is Int64 in `{}` but Utf8View in `{}`",
            a.display(),
            b.display()
        )
    );
}

#[tokio::test]
async fn a_partition_value_of_the_wrong_type_names_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(
        &tmp.path().join("year=2024/month=1/a.parquet"),
        &batch(&some(1..=2)),
        10,
    );
    write_parquet(
        &tmp.path().join("year=2024/month=feb/a.parquet"),
        &batch(&some(3..=4)),
        10,
    );
    let adapter = adapter();
    let spec =
        ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet).with_partition_cols(vec![
            PartitionColumn::new("year", DataType::Int32),
            PartitionColumn::new("month", DataType::Int32),
        ]);
    let err = register_err(&adapter, "t", spec).await;
    assert_eq!(
        err.to_string(),
        "table `t`: partition directory `year=2024/month=feb`: value `feb` of `month` is not a valid int"
    );
}

#[tokio::test]
async fn a_file_outside_the_partition_layout_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(
        &tmp.path().join("year=2024/a.parquet"),
        &batch(&some(1..=2)),
        10,
    );
    write_parquet(&tmp.path().join("stray.parquet"), &batch(&some(3..=4)), 10);
    let adapter = adapter();
    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet)
        .with_partition_cols(vec![PartitionColumn::new("year", DataType::Int32)]);
    let err = register_err(&adapter, "t", spec).await;
    assert_eq!(
        err.to_string(),
        "table `t`: file `stray.parquet` is not under a `year=<value>` directory; declared partition columns: year"
    );
}

#[tokio::test]
async fn unknown_options_and_columns_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(&tmp.path().join("a.parquet"), &batch(&some(1..=2)), 10);
    let adapter = adapter();
    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet)
        .with_option("has_header", "true");
    let err = register_err(&adapter, "t", spec).await;
    assert_eq!(
        err.to_string(),
        "invalid parquet option `has_header`: expected no options"
    );

    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet)
        .with_sort_order(vec![unifier_io_adapter::SortColumn::asc("nope")]);
    let err = register_err(&adapter, "t", spec).await;
    assert_eq!(
        err.to_string(),
        "table `t`: sort column `nope` is not in the table; columns: id, name"
    );
}

#[tokio::test]
async fn a_failed_overwrite_keeps_the_old_registration() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(&tmp.path().join("ok/a.parquet"), &batch(&some(1..=2)), 10);
    let adapter = adapter();
    let ok = ListingSpec::new(dir_str(&tmp.path().join("ok")), FileFormatKind::Parquet);
    adapter
        .register("t", ok, RegisterOptions::default())
        .await
        .unwrap();
    let missing = ListingSpec::new(dir_str(&tmp.path().join("gone")), FileFormatKind::Parquet);
    adapter
        .register("t", missing, RegisterOptions::replace())
        .await
        .unwrap_err();
    assert_eq!(
        adapter.dataset("t").unwrap().location,
        Some(dir_str(&tmp.path().join("ok")))
    );
    let n = crate::query(&adapter, "SELECT count(*) AS n FROM t").await;
    assert!(n.contains("| 2 |"), "{n}");
}
