//! Declared sort orders: verified orders reach DataFusion (no SortExec), contradicted
//! or unprovable ones never do.

use unifier_io_adapter::{
    Error, FileFormatKind, ListingSpec, NullsOrder, RegisterOptions, SortCheck, SortColumn,
    SortPolicy, SortVerification, VerifiedBy,
};

use crate::{adapter, batch, dir_str, physical_plan, query, some, write_parquet};

const ORDERED: &str = "SELECT id FROM t ORDER BY id";

#[tokio::test]
async fn a_verified_order_elides_the_sort() {
    let tmp = tempfile::tempdir().unwrap();
    // Three files of three row groups each, non-overlapping.
    for (i, start) in [(0, 1), (1, 100), (2, 1000)] {
        write_parquet(
            &tmp.path().join(format!("part-{i}.parquet")),
            &batch(&some(start..start + 9)),
            3,
        );
    }
    let adapter = adapter();
    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet)
        .with_sort_order(vec![SortColumn::asc("id")]);
    let meta = adapter
        .register("t", spec, RegisterOptions::default())
        .await
        .unwrap();
    assert_eq!(
        meta.sort_verification,
        SortVerification::Verified {
            by: VerifiedBy::Statistics
        }
    );
    assert_eq!(meta.rows, Some(27));
    let plan = physical_plan(&adapter, ORDERED).await;
    assert!(!plan.contains("SortExec"), "{plan}");
    let out = query(&adapter, "SELECT min(id) AS lo, max(id) AS hi FROM t").await;
    assert!(out.contains("| 1  | 1008 |"), "{out}");

    // Undeclared, the same query sorts.
    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet);
    adapter
        .register("t", spec, RegisterOptions::replace())
        .await
        .unwrap();
    assert!(physical_plan(&adapter, ORDERED).await.contains("SortExec"));
}

#[tokio::test]
async fn descending_with_nulls_first_is_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = [None, None, Some(9), Some(8), Some(7), Some(5), Some(2)];
    write_parquet(&tmp.path().join("a.parquet"), &batch(&ids), 2);
    let adapter = adapter();
    let order = vec![SortColumn::desc("id").with_nulls(NullsOrder::First)];
    let spec =
        ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet).with_sort_order(order);
    let meta = adapter
        .register("t", spec, RegisterOptions::default())
        .await
        .unwrap();
    assert!(
        meta.sort_verification.is_verified(),
        "{:?}",
        meta.sort_verification
    );
    let plan = physical_plan(&adapter, "SELECT id FROM t ORDER BY id DESC NULLS FIRST").await;
    assert!(!plan.contains("SortExec"), "{plan}");

    // The same data declared nulls last is contradicted: row group 0 is all null.
    let order = vec![SortColumn::desc("id").with_nulls(NullsOrder::Last)];
    let spec =
        ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet).with_sort_order(order);
    let err = adapter
        .register("u", spec, RegisterOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SortContradicted { .. }), "{err}");
}

#[tokio::test]
async fn row_groups_out_of_order_are_named_and_never_reach_datafusion() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a.parquet");
    write_parquet(&file, &batch(&some([1, 2, 3, 10, 11, 12, 4, 5, 6])), 3);
    let adapter = adapter();
    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet)
        .with_sort_order(vec![SortColumn::asc("id")]);
    let err = adapter
        .register("t", spec.clone(), RegisterOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "table `t`: declared order `id ASC NULLS LAST` is contradicted: file `{}` row group 2 starts at (id=4) before row group 1 ends at (id=12)",
            file.display()
        )
    );
    assert!(adapter.dataset("t").is_none());

    // Lenient: registered without the ordering, with a warning; ORDER BY still sorts.
    let lenient = RegisterOptions {
        sort_policy: SortPolicy::Lenient,
        ..RegisterOptions::default()
    };
    let meta = adapter.register("t", spec, lenient).await.unwrap();
    assert_eq!(meta.sort_verification.state(), "contradicted");
    assert_eq!(meta.warnings.len(), 1);
    let plan = physical_plan(&adapter, ORDERED).await;
    assert!(plan.contains("SortExec"), "{plan}");
    let out = query(&adapter, "SELECT id FROM t ORDER BY id LIMIT 4").await;
    assert!(out.contains("| 4  |"), "{out}");
    let seen = query(&adapter, "SELECT sort_verification, warnings IS NOT NULL AS warned FROM system.datasets WHERE name = 't'").await;
    assert!(seen.contains("| contradicted      | true   |"), "{seen}");
}

#[tokio::test]
async fn overlapping_files_are_contradicted() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(&tmp.path().join("a.parquet"), &batch(&some(1..=10)), 5);
    write_parquet(&tmp.path().join("b.parquet"), &batch(&some(5..=15)), 5);
    let adapter = adapter();
    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet)
        .with_sort_order(vec![SortColumn::asc("id")]);
    let err = adapter
        .register("t", spec, RegisterOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("a.parquet` (up to (id=10)) and `"),
        "{message}"
    );
    assert!(
        message.contains("b.parquet` (from (id=5)) overlap"),
        "{message}"
    );
}

#[tokio::test]
async fn ties_on_the_leading_column_need_the_full_check() {
    let tmp = tempfile::tempdir().unwrap();
    // Sorted by (id, name), but row groups 0 and 1 tie on id = 2 and overlap on name.
    let ids = some([1, 2, 2, 2, 3, 3]);
    let schema = batch(&ids).schema();
    let names = arrow::array::StringArray::from(vec!["a", "a", "z", "b", "a", "b"]);
    let b = arrow::record_batch::RecordBatch::try_new(
        schema,
        vec![
            std::sync::Arc::new(arrow::array::Int64Array::from(ids)),
            std::sync::Arc::new(names),
        ],
    )
    .unwrap();
    write_parquet(&tmp.path().join("a.parquet"), &b, 3);
    let adapter = adapter();
    let order = vec![SortColumn::asc("id"), SortColumn::asc("name")];
    let spec = ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet)
        .with_sort_order(order.clone());
    let err = adapter
        .register("t", spec.clone(), RegisterOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SortUnverified { .. }), "{err}");
    // Reading the rows shows the truth: (2, z) comes before (2, b).
    let full = spec.with_sort_check(SortCheck::Full);
    let err = adapter
        .register("t", full, RegisterOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("row 3 (id=2, name=b) comes after row 2 (id=2, name=z)"),
        "{message}"
    );
}

#[tokio::test]
async fn csv_orders_are_checked_by_reading_every_row() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("good")).unwrap();
    std::fs::create_dir_all(tmp.path().join("bad")).unwrap();
    std::fs::write(tmp.path().join("good/1.csv"), "id,name\n1,a\n2,b\n").unwrap();
    std::fs::write(tmp.path().join("good/2.csv"), "id,name\n3,c\n4,d\n").unwrap();
    std::fs::write(tmp.path().join("bad/1.csv"), "id,name\n1,a\n3,b\n2,c\n").unwrap();
    let adapter = adapter();
    let order = vec![SortColumn::asc("id")];
    let good = ListingSpec::new(dir_str(&tmp.path().join("good")), FileFormatKind::Csv)
        .with_sort_order(order.clone());
    let meta = adapter
        .register("good", good, RegisterOptions::default())
        .await
        .unwrap();
    assert_eq!(
        meta.sort_verification,
        SortVerification::Verified {
            by: VerifiedBy::Full
        }
    );
    let bad = ListingSpec::new(dir_str(&tmp.path().join("bad")), FileFormatKind::Csv)
        .with_sort_order(order);
    let err = adapter
        .register("bad", bad, RegisterOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.ends_with("1.csv` row 2 (id=2) comes after row 1 (id=3)"),
        "{message}"
    );
}
