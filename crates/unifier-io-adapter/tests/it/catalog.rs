//! Registration, overwrite rules, metadata and the live tables.

use std::sync::Arc;

use unifier_diagnostics::EventKind;
use unifier_io_adapter::{
    DatasetKind, Error, FileFormatKind, FilterPushdown, ListingSpec, PartitionColumn,
    RegisterOptions, WriteCapabilities,
};

use crate::{adapter, batch, dir_str, query, some, write_parquet};

#[tokio::test]
async fn listing_tables_of_every_format_answer_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let adapter = adapter();
    write_parquet(
        &tmp.path().join("pq/part-0.parquet"),
        &batch(&some(1..=3)),
        2,
    );
    std::fs::create_dir_all(tmp.path().join("csv")).unwrap();
    std::fs::write(tmp.path().join("csv/a.csv"), "id,name\n1,n1\n2,n2\n").unwrap();
    std::fs::create_dir_all(tmp.path().join("json")).unwrap();
    std::fs::write(
        tmp.path().join("json/a.json"),
        "{\"id\":1,\"name\":\"n1\"}\n{\"id\":2,\"name\":\"n2\"}\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("semi.txt"), "id;name\n7;n7\n").unwrap();

    for (name, dir, format) in [
        ("pq", "pq", FileFormatKind::Parquet),
        ("csv_t", "csv", FileFormatKind::Csv),
        ("json_t", "json", FileFormatKind::Json),
    ] {
        let spec = ListingSpec::new(dir_str(&tmp.path().join(dir)), format);
        let meta = adapter
            .register(name, spec, RegisterOptions::default())
            .await
            .unwrap();
        assert_eq!(meta.kind, DatasetKind::Listing);
        assert_eq!(meta.files, Some(1));
    }
    // A single file with its own extension and options.
    let spec = ListingSpec::new(dir_str(&tmp.path().join("semi.txt")), FileFormatKind::Csv)
        .with_file_extension(".txt")
        .with_option("delimiter", ";");
    adapter
        .register("semi", spec, RegisterOptions::default())
        .await
        .unwrap();

    let out = query(
        &adapter,
        "SELECT (SELECT sum(id) FROM pq) AS pq, (SELECT sum(id) FROM csv_t) AS csv, \
         (SELECT sum(id) FROM json_t) AS json, (SELECT sum(id) FROM semi) AS semi",
    )
    .await;
    assert!(out.contains("| 6  | 3   | 3    | 7    |"), "{out}");
    assert_eq!(
        adapter.dataset("pq").unwrap().rows,
        None,
        "rows are only counted when footers are read"
    );
}

#[tokio::test]
async fn typed_partitions_are_columns_and_prune_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    for (year, ids) in [(2023, 1..=2), (2024, 3..=5)] {
        write_parquet(
            &tmp.path().join(format!("year={year}/part-0.parquet")),
            &batch(&some(ids)),
            10,
        );
    }
    let adapter = adapter();
    let spec =
        ListingSpec::new(dir_str(tmp.path()), FileFormatKind::Parquet).with_partition_cols(vec![
            PartitionColumn::new("year", arrow::datatypes::DataType::Int32),
        ]);
    let meta = adapter
        .register("events", spec, RegisterOptions::default())
        .await
        .unwrap();
    assert_eq!(meta.filter_pushdown, FilterPushdown::ExactOnPartitions);
    assert_eq!(meta.partition_col_names(), ["year:int"]);
    assert_eq!(
        meta.schema.field_with_name("year").unwrap().data_type(),
        &arrow::datatypes::DataType::Int32
    );
    let out = query(
        &adapter,
        "SELECT year, count(*) AS n FROM events WHERE year > 2023 GROUP BY year",
    )
    .await;
    assert!(out.contains("| 2024 | 3 |"), "{out}");
}

#[tokio::test]
async fn names_are_taken_until_overwritten_and_every_registration_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(&tmp.path().join("a/x.parquet"), &batch(&some(1..=3)), 10);
    write_parquet(&tmp.path().join("b/x.parquet"), &batch(&some(10..=11)), 10);
    let adapter = adapter();
    let spec = |d: &str| ListingSpec::new(dir_str(&tmp.path().join(d)), FileFormatKind::Parquet);
    adapter
        .register("t", spec("a"), RegisterOptions::default())
        .await
        .unwrap();
    let generation = adapter.generation();

    let err = adapter
        .register("t", spec("b"), RegisterOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyRegistered { .. }));
    assert_eq!(
        err.to_string(),
        "table `t` is already registered; register with if_exists = replace to replace it"
    );
    assert_eq!(
        adapter.generation(),
        generation,
        "a refused registration changes nothing"
    );
    assert!(
        query(&adapter, "SELECT count(*) AS n FROM t")
            .await
            .contains("| 3 |")
    );

    adapter
        .register("t", spec("b"), RegisterOptions::replace())
        .await
        .unwrap();
    assert!(adapter.generation() > generation);
    assert!(
        query(&adapter, "SELECT count(*) AS n FROM t")
            .await
            .contains("| 2 |")
    );

    let out = query(
        &adapter,
        "SELECT dataset, status, replaced, files FROM diagnostics.register \
         WHERE dataset = 't' ORDER BY event_id",
    )
    .await;
    assert!(
        out.contains("| t       | ok     | false    | 1     |"),
        "{out}"
    );
    assert!(
        out.contains("| t       | ok     | true     | 1     |"),
        "{out}"
    );
    let errors = query(
        &adapter,
        "SELECT error_kind, message FROM diagnostics.error",
    )
    .await;
    assert!(errors.contains("already_registered"), "{errors}");
    let recorded = adapter.recorder().events(Some(EventKind::Register));
    assert_eq!(
        recorded.len(),
        2,
        "one event per successful registration: {recorded:?}"
    );
}

#[tokio::test]
async fn batches_views_and_providers_have_metadata_in_system_datasets() {
    let adapter = adapter();
    let b = batch(&some(1..=4));
    adapter
        .register_batches(
            "mem",
            b.schema(),
            vec![b.clone()],
            RegisterOptions::default(),
        )
        .unwrap();
    let plan = adapter
        .session()
        .sql("SELECT id * 2 AS twice FROM mem")
        .await
        .unwrap()
        .into_unoptimized_plan();
    adapter
        .register_view(
            "doubled",
            plan,
            Some("SELECT id * 2 AS twice FROM mem".into()),
            RegisterOptions::default(),
        )
        .unwrap();
    let provider =
        Arc::new(datafusion::datasource::MemTable::try_new(b.schema(), vec![vec![b]]).unwrap());
    adapter
        .register_provider(
            "custom.things",
            provider,
            WriteCapabilities::INSERT,
            RegisterOptions::default(),
        )
        .unwrap();

    let out = query(
        &adapter,
        "SELECT name, kind, capabilities, rows, columns FROM system.datasets \
         WHERE kind <> 'system' ORDER BY name",
    )
    .await;
    assert_eq!(
        out,
        "+---------------+----------+---------------------+------+---------+\n\
         | name          | kind     | capabilities        | rows | columns |\n\
         +---------------+----------+---------------------+------+---------+\n\
         | custom.things | provider | [append, overwrite] |      | 2       |\n\
         | doubled       | view     | []                  |      | 1       |\n\
         | mem           | batches  | []                  | 4    | 2       |\n\
         +---------------+----------+---------------------+------+---------+"
    );
    assert!(
        query(&adapter, "SELECT sum(twice) AS s FROM doubled")
            .await
            .contains("| 20 |")
    );
    assert!(
        query(&adapter, "SELECT count(*) AS n FROM custom.things")
            .await
            .contains("| 4 |")
    );
    assert!(adapter.deregister("doubled").unwrap());
    assert!(!adapter.deregister("doubled").unwrap());
    assert!(
        adapter
            .session()
            .sql("SELECT * FROM doubled")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn reserved_and_malformed_names_are_refused() {
    let adapter = adapter();
    let b = batch(&some(1..=1));
    for (name, reason) in [
        (
            "diagnostics.mine",
            "schema `diagnostics` is reserved for unifier",
        ),
        ("system.datasets", "schema `system` is reserved for unifier"),
        ("Trips", "use `table` or `schema.table`"),
        ("a.b.c", "use `table` or `schema.table`"),
        ("", "use `table` or `schema.table`"),
    ] {
        let err = adapter
            .register_batches(
                name,
                b.schema(),
                vec![b.clone()],
                RegisterOptions::default(),
            )
            .unwrap_err();
        assert!(err.to_string().contains(reason), "{name}: {err}");
    }
}

#[tokio::test]
async fn diagnostics_tables_are_live() {
    let adapter = adapter();
    let before = query(
        &adapter,
        "SELECT count(*) AS n FROM diagnostics.events WHERE kind = 'register'",
    )
    .await;
    let b = batch(&some(1..=1));
    adapter
        .register_batches("one", b.schema(), vec![b], RegisterOptions::default())
        .unwrap();
    let after = query(
        &adapter,
        "SELECT count(*) AS n FROM diagnostics.events WHERE kind = 'register'",
    )
    .await;
    assert_ne!(before, after);
    let stats = query(
        &adapter,
        "SELECT recorded >= 1 AS any, dropped FROM diagnostics.recorder",
    )
    .await;
    assert!(stats.contains("| true | 0       |"), "{stats}");
}
