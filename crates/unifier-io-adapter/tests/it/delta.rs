//! Delta tables written by Spark (the repository's `testdata/delta`): snapshots, time
//! travel, typed partitions, the change feed as a dataset and as `table_changes`, and the
//! errors a user meets (no CDF, a version out of range, a missing table).

use unifier_diagnostics::EventKind;
use unifier_io_adapter::{
    DatasetKind, DeltaCdfSpec, DeltaSpec, Error, RegisterOptions, WriteCapabilities,
};

use crate::{adapter, query};

fn fixture(name: &str) -> String {
    crate::manifest_dir()
        .join("../../testdata/delta")
        .join(name)
        .display()
        .to_string()
}

#[tokio::test]
async fn spark_tables_read_as_spark_wrote_them() {
    let adapter = adapter();
    let simple = adapter
        .register(
            "simple",
            DeltaSpec::new(fixture("simple_table")),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(simple.kind, DatasetKind::Delta);
    let info = simple.delta.clone().unwrap();
    assert_eq!(
        (info.version, info.latest_version, info.pinned),
        (4, 4, false)
    );
    assert_eq!((info.min_reader_version, info.min_writer_version), (1, 2));
    assert_eq!(simple.capabilities, WriteCapabilities::DELTA);
    assert_eq!(
        query(&adapter, "SELECT id FROM simple ORDER BY id").await,
        "+----+\n| id |\n+----+\n| 5  |\n| 7  |\n| 9  |\n+----+"
    );

    adapter
        .register(
            "parts",
            DeltaSpec::new(fixture("delta-0.8.0-partitioned")),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        query(
            &adapter,
            "SELECT year, month, day, count(*) AS n FROM parts GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        .await,
        "+------+-------+-----+---+\n\
         | year | month | day | n |\n\
         +------+-------+-----+---+\n\
         | 2020 | 1     | 1   | 1 |\n\
         | 2020 | 2     | 3   | 1 |\n\
         | 2020 | 2     | 5   | 1 |\n\
         | 2021 | 12    | 20  | 2 |\n\
         | 2021 | 12    | 4   | 1 |\n\
         | 2021 | 4     | 5   | 1 |\n\
         +------+-------+-----+---+"
    );

    assert_eq!(
        query(
            &adapter,
            "SELECT string_agg(value, ',' ORDER BY value) AS v FROM parts"
        )
        .await,
        "+---------------+\n| v             |\n+---------------+\n| 1,2,3,4,5,6,7 |\n+---------------+"
    );

    let cdf = adapter
        .register(
            "people",
            DeltaSpec::new(fixture("cdf-table")),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    let info = cdf.delta.unwrap();
    assert!(info.change_data_feed);
    assert!(
        info.features.contains(&"changeDataFeed".to_owned()),
        "{:?}",
        info.features
    );
    assert_eq!(info.partition_columns, ["birthday"]);
    // The DATE partition column keeps its type: comparisons are typed, not textual.
    assert_eq!(
        query(
            &adapter,
            "SELECT arrow_typeof(birthday) AS t, count(*) AS n FROM people \
             WHERE birthday >= DATE '2023-12-23' GROUP BY 1"
        )
        .await,
        "+--------+---+\n| t      | n |\n+--------+---+\n| Date32 | 5 |\n+--------+---+"
    );
}

#[tokio::test]
async fn time_travel_pins_a_version_read_only_and_names_the_versions_it_has() {
    let adapter = adapter();
    let v0 = adapter
        .register(
            "simple_v0",
            DeltaSpec::new(fixture("simple_table")).with_version(0),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    let info = v0.delta.unwrap();
    assert_eq!(
        (info.version, info.latest_version, info.pinned),
        (0, 4, true)
    );
    assert_eq!(v0.capabilities, WriteCapabilities::NONE);
    assert_eq!(
        query(&adapter, "SELECT id FROM simple_v0 ORDER BY id").await,
        "+----+\n| id |\n+----+\n| 0  |\n| 1  |\n| 2  |\n| 3  |\n| 4  |\n+----+"
    );

    let err = adapter
        .register(
            "simple_v9",
            DeltaSpec::new(fixture("simple_table")).with_version(9),
            RegisterOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::VersionRange { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "table `simple_v9`: version 9 is outside the table's history: it has versions 0..=4"
    );
    assert!(adapter.dataset("simple_v9").is_none());
}

#[tokio::test]
async fn the_change_feed_reads_as_a_dataset_and_through_table_changes() {
    let adapter = adapter();
    let spec = DeltaCdfSpec::new(fixture("cdf-table")).with_starting_version(0);
    let feed = adapter
        .register("people_changes", spec, RegisterOptions::default())
        .await
        .unwrap();
    assert_eq!(feed.kind, DatasetKind::DeltaCdf);
    let columns: Vec<&str> = feed
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert!(
        columns.ends_with(&["_change_type", "_commit_version", "_commit_timestamp"]),
        "{columns:?}"
    );
    let by_type =
        "SELECT _change_type, _commit_version, count(*) AS n FROM {} GROUP BY 1, 2 ORDER BY 2, 1";
    let from_dataset = query(&adapter, &by_type.replace("{}", "people_changes")).await;
    assert_eq!(
        from_dataset,
        "+------------------+-----------------+----+\n\
         | _change_type     | _commit_version | n  |\n\
         +------------------+-----------------+----+\n\
         | insert           | 0               | 10 |\n\
         | update_postimage | 1               | 3  |\n\
         | update_preimage  | 1               | 3  |\n\
         | update_postimage | 2               | 3  |\n\
         | update_preimage  | 2               | 3  |\n\
         | delete           | 3               | 1  |\n\
         +------------------+-----------------+----+"
    );

    adapter
        .register(
            "people",
            DeltaSpec::new(fixture("cdf-table")),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    let from_function = query(
        &adapter,
        &by_type.replace("{}", "table_changes('people', 0, 3)"),
    )
    .await;
    assert_eq!(from_function, from_dataset);
    let later = query(
        &adapter,
        &by_type.replace("{}", "table_changes('people', 2)"),
    )
    .await;
    assert!(!later.contains("| insert           | 0 "), "{later}");

    let cdf_events = adapter.recorder().events(Some(EventKind::Cdf));
    assert_eq!(cdf_events.len(), 3, "{cdf_events:?}");
}

#[tokio::test]
async fn change_feed_errors_name_the_table_and_its_versions() {
    let adapter = adapter();
    let err = adapter
        .register(
            "plain_changes",
            DeltaCdfSpec::new(fixture("simple_table")),
            RegisterOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CdfNotEnabled { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("table `plain_changes`: the Change Data Feed of"),
        "{err}"
    );
    assert!(err.to_string().ends_with("versions 0..=4 exist)"), "{err}");

    let err = adapter
        .register(
            "late",
            DeltaCdfSpec::new(fixture("cdf-table")).with_starting_version(7),
            RegisterOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `late`: starting version 7 is outside the table's history: it has versions 0..=3"
    );

    adapter
        .register(
            "people",
            DeltaSpec::new(fixture("cdf-table")),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    let err = adapter
        .session()
        .sql("SELECT * FROM table_changes('people', 1, 9)")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ending version 9 is outside the table's history: it has versions 0..=3"),
        "{err}"
    );
    let err = adapter
        .session()
        .sql("SELECT * FROM table_changes('nope', 0)")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("table `nope` is not registered"),
        "{err}"
    );

    let missing = adapter
        .register(
            "gone",
            DeltaSpec::new("/no/such/table"),
            RegisterOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "table `gone`: location `/no/such/table` does not exist"
    );
}

#[tokio::test]
async fn four_partition_columns_read_as_their_declared_types() {
    let adapter = adapter();
    let meta = adapter
        .register(
            "prims",
            DeltaSpec::new(fixture("partition-type-primitives")),
            RegisterOptions::default(),
        )
        .await
        .unwrap();
    let info = meta.delta.unwrap();
    assert_eq!(
        info.partition_columns,
        ["year", "is_active", "event_date", "category"]
    );
    let names: Vec<String> = meta.partition_cols.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, info.partition_columns);
    // Spark declared them all STRING: `year=2021.0` stays the text Spark wrote.
    assert_eq!(
        query(
            &adapter,
            "SELECT year, is_active, count(*) AS n FROM prims \
             WHERE category = 'A' AND event_date = '2023-01-01' GROUP BY 1, 2 ORDER BY 1, 2"
        )
        .await,
        "+--------+-----------+---+\n\
         | year   | is_active | n |\n\
         +--------+-----------+---+\n\
         | 2020   | false     | 1 |\n\
         | 2020   | true      | 1 |\n\
         | 2021.0 | false     | 1 |\n\
         | 2021.0 | true      | 1 |\n\
         +--------+-----------+---+"
    );
}

/// What a test does to a copied table's `_delta_log`.
type Damage = Box<dyn FnOnce(&std::path::Path)>;

/// `simple_table` copied into a temporary directory, then damaged by `damage`.
fn damaged_copy(damage: impl FnOnce(&std::path::Path)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let source = std::path::PathBuf::from(fixture("simple_table"));
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    };
    copy(&source, tmp.path());
    copy(&source.join("_delta_log"), &tmp.path().join("_delta_log"));
    damage(&tmp.path().join("_delta_log"));
    tmp
}

#[tokio::test]
async fn a_damaged_delta_log_is_refused_naming_the_file() {
    let cases: Vec<(Damage, &str)> = vec![
        (
            Box::new(|log| std::fs::remove_file(log.join("00000000000000000002.json")).unwrap()),
            "commit 2 is missing: `_delta_log/00000000000000000001.json` is followed by `_delta_log/00000000000000000003.json`",
        ),
        (
            Box::new(|log| {
                std::fs::write(log.join("00000000000000000004.json"), "{not json\n").unwrap()
            }),
            "`_delta_log/00000000000000000004.json` line 1 is not JSON",
        ),
        (
            Box::new(|log| {
                std::fs::write(log.join("_last_checkpoint"), r#"{"version":3,"size":10}"#).unwrap()
            }),
            "`_delta_log/_last_checkpoint` names the checkpoint of version 3, but `_delta_log/00000000000000000003.checkpoint.parquet` is not there",
        ),
        (
            Box::new(|log| {
                std::fs::write(
                    log.join("_last_checkpoint"),
                    r#"{"version":3,"size":10,"parts":2}"#,
                )
                .unwrap();
                // Part 1 of 2 only (its content does not matter: the pointer is checked first).
                std::fs::write(
                    log.join("00000000000000000003.checkpoint.0000000001.0000000002.parquet"),
                    b"PAR1",
                )
                .unwrap()
            }),
            "the checkpoint of version 3 has 2 parts, but `_delta_log/00000000000000000003.checkpoint.0000000002.0000000002.parquet` is not there",
        ),
    ];
    for (damage, expected) in cases {
        let tmp = damaged_copy(damage);
        let a = adapter();
        let err = a
            .register(
                "t",
                DeltaSpec::new(tmp.path().to_str().unwrap()),
                RegisterOptions::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DeltaLog { .. }), "{err}");
        assert_eq!(err.kind(), "delta_log");
        let text = err.to_string();
        assert!(text.contains(expected), "{text}");
        assert!(text.starts_with("table `t`: the Delta log at"), "{text}");
    }
}
