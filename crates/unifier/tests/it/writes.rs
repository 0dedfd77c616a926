//! Every write goes through the write check, wherever it sits in the plan: attacked
//! through EXPLAIN, EXPLAIN ANALYZE, PREPARE/EXECUTE and CTEs on a listing table, a
//! batches table and Delta tables, asserting the files, rows and versions before and
//! after.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use unifier::datafusion::datasource::MemTable;
use unifier::io::{
    DeltaSpec, DeltaTableOptions, FileFormatKind, IfExists, ListingSpec, RegisterOptions,
    WriteCapabilities,
};
use unifier::policy::Preset;
use unifier::{Error, ExecutionResult, Params, Unifier};

use crate::{batch, rows, unifier, write_parquet};

fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The statements a hostile user tries, each hiding the same write differently.
fn disguises(table: &str, values: &str) -> Vec<String> {
    vec![
        format!("INSERT INTO {table} VALUES {values}"),
        format!("EXPLAIN INSERT INTO {table} VALUES {values}"),
        format!("EXPLAIN ANALYZE INSERT INTO {table} VALUES {values}"),
        format!("EXPLAIN VERBOSE INSERT INTO {table} VALUES {values}"),
        format!(
            "INSERT INTO {table} WITH s AS (SELECT * FROM (VALUES {values}) AS v(id, name)) SELECT * FROM s"
        ),
        format!("INSERT OVERWRITE {table} VALUES {values}"),
        format!("PREPARE p AS INSERT INTO {table} VALUES {values}"),
    ]
}

async fn refused(u: &Unifier, sql: &str) -> Error {
    match u.sql(sql, Params::None).await {
        Ok(result) => panic!("`{sql}` ran: {result:?}"),
        Err(error) => error,
    }
}

/// The writer preset plus `prepare`, so PREPARE reaches the write check.
fn writer() -> Unifier {
    let mut profile = crate::profile(Preset::Writer);
    profile
        .policy
        .allowed_classes
        .insert(unifier::policy::StatementClass::Prepare);
    Unifier::new(profile).unwrap()
}

#[tokio::test]
async fn no_disguise_writes_into_a_listing_table() {
    let tmp = tempfile::tempdir().unwrap();
    write_parquet(&tmp.path().join("part-0.parquet"), &batch(1..=3), 10);
    let u = writer();
    u.register(
        "t",
        ListingSpec::new(tmp.path().to_str().unwrap(), FileFormatKind::Parquet),
        IfExists::Fail,
    )
    .await
    .unwrap();
    let before = files(tmp.path());
    for sql in disguises("t", "(7, 'x')") {
        let err = refused(&u, &sql).await;
        assert!(
            matches!(err, Error::WriteRefused { ref table, .. } if table == "t"),
            "{sql}: {err}"
        );
        assert!(
            err.to_string()
                .contains("(accepted: none: it is read-only)"),
            "{err}"
        );
    }
    assert_eq!(files(tmp.path()), before, "a file was written");
    assert!(
        rows(&u, "SELECT count(*) AS n FROM t")
            .await
            .contains("| 3 |")
    );
}

#[tokio::test]
async fn no_disguise_changes_a_batches_table() {
    let u = unifier(Preset::Admin);
    let b = batch(1..=3);
    u.catalog()
        .register_batches("mem", b.schema(), vec![b], RegisterOptions::default())
        .unwrap();
    let mut attacks = disguises("mem", "(7, 'x')");
    // DataFusion's memory table deletes and updates while the physical plan is built:
    // a plain EXPLAIN would already change it.
    attacks.extend([
        "DELETE FROM mem WHERE id = 1".to_owned(),
        "EXPLAIN DELETE FROM mem WHERE id = 1".to_owned(),
        "EXPLAIN UPDATE mem SET name = 'y' WHERE id = 2".to_owned(),
        "EXPLAIN ANALYZE DELETE FROM mem".to_owned(),
        "PREPARE d AS DELETE FROM mem WHERE id = $1".to_owned(),
    ]);
    for sql in attacks {
        let err = refused(&u, &sql).await;
        assert!(matches!(err, Error::WriteRefused { .. }), "{sql}: {err}");
    }
    assert_eq!(
        rows(&u, "SELECT id, name FROM mem ORDER BY id").await,
        "+----+------+\n| id | name |\n+----+------+\n| 1  | n1   |\n| 2  | n2   |\n| 3  | n3   |\n+----+------+"
    );
}

#[tokio::test]
async fn execute_runs_the_prepared_plan_through_every_check() {
    let u = unifier(Preset::Admin);
    let b = batch(1..=2);
    // A sink that accepts inserts: PREPARE is allowed...
    let sink = Arc::new(MemTable::try_new(b.schema(), vec![vec![b.clone()]]).unwrap());
    u.catalog()
        .register_provider(
            "sink",
            sink,
            WriteCapabilities::INSERT,
            RegisterOptions::default(),
        )
        .unwrap();
    u.sql(
        "PREPARE p(BIGINT) AS INSERT INTO sink VALUES ($1, 'x')",
        Params::None,
    )
    .await
    .unwrap();
    let result = u.sql("EXECUTE p(7)", Params::None).await.unwrap();
    assert!(
        matches!(result, ExecutionResult::Write { .. }),
        "{result:?}"
    );
    assert!(
        rows(&u, "SELECT count(*) AS n FROM sink")
            .await
            .contains("| 3 |")
    );

    // ...then the name is taken over by a read-only table: EXECUTE is checked against
    // what it would write now, not what PREPARE saw.
    u.catalog()
        .register_batches("sink", b.schema(), vec![b], RegisterOptions::replace())
        .unwrap();
    let err = refused(&u, "EXECUTE p(8)").await;
    assert!(matches!(err, Error::WriteRefused { .. }), "{err}");
    assert!(
        rows(&u, "SELECT count(*) AS n FROM sink")
            .await
            .contains("| 2 |")
    );

    // A read-only policy refuses the resolved plan, though EXECUTE itself looks harmless.
    let mut profile = crate::profile(Preset::ReadOnly);
    profile
        .policy
        .allowed_classes
        .insert(unifier::policy::StatementClass::Prepare);
    let ro = Unifier::new(profile).unwrap();
    let err = ro
        .sql("PREPARE q AS INSERT INTO nowhere VALUES (1)", Params::None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::PlanRefused { .. } | Error::Plan { .. } | Error::Unsupported { .. }
        ),
        "{err}"
    );
}

/// `(id BIGINT, name TEXT)`, both nullable: nothing the provider's insert would skip.
fn people_schema() -> arrow::datatypes::SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
    ]))
}

async fn delta_table(u: &Unifier, dir: &Path, options: DeltaTableOptions) -> u64 {
    let options = DeltaTableOptions {
        location: dir.to_str().unwrap().to_owned(),
        ..options
    };
    u.create_table("people", people_schema(), options, IfExists::Fail)
        .await
        .unwrap();
    u.sql("INSERT INTO people VALUES (1, 'a'), (2, 'b')", Params::None)
        .await
        .unwrap();
    version(u, "people")
}

pub(crate) fn version(u: &Unifier, name: &str) -> u64 {
    u.catalog().dataset(name).unwrap().delta.unwrap().version
}

#[tokio::test]
async fn plain_explain_of_a_delta_write_never_writes_and_analyze_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let u = writer();
    let v = delta_table(&u, tmp.path(), DeltaTableOptions::default()).await;
    let before = files(tmp.path());

    let explained = rows(&u, "EXPLAIN INSERT INTO people VALUES (7, 'x')").await;
    assert!(
        explained.contains("Dml: op=[Insert Into] table=[people]"),
        "{explained}"
    );
    assert!(!explained.contains("physical_plan"), "{explained}");
    let err = refused(&u, "EXPLAIN ANALYZE INSERT INTO people VALUES (7, 'x')").await;
    assert!(
        err.to_string()
            .contains("EXPLAIN ANALYZE does not run writes"),
        "{err}"
    );

    assert_eq!(version(&u, "people"), v);
    assert_eq!(files(tmp.path()), before);
    assert!(
        rows(&u, "SELECT count(*) AS n FROM people")
            .await
            .contains("| 2 |")
    );

    // A time-travelled registration of the same table is read-only.
    u.register(
        "people_v1",
        DeltaSpec::new(tmp.path().to_str().unwrap()).with_version(1),
        IfExists::Fail,
    )
    .await
    .unwrap();
    for sql in disguises("people_v1", "(7, 'x')") {
        let err = refused(&u, &sql).await;
        assert!(matches!(err, Error::WriteRefused { .. }), "{sql}: {err}");
    }
    assert_eq!(files(tmp.path()), before);
}

fn write_summary(result: ExecutionResult) -> unifier::WriteSummary {
    match result {
        ExecutionResult::Write { summary, .. } => summary,
        other => panic!("expected a write, got {other:?}"),
    }
}

#[tokio::test]
async fn sql_insert_update_delete_on_delta_commit_and_feed_the_change_feed() {
    let tmp = tempfile::tempdir().unwrap();
    let u = unifier(Preset::Writer);
    let v = delta_table(
        &u,
        tmp.path(),
        DeltaTableOptions::default().with_change_data_feed(),
    )
    .await;
    assert_eq!(v, 1);

    let insert = write_summary(
        u.sql("INSERT INTO people VALUES (3, 'c'), (4, 'd')", Params::None)
            .await
            .unwrap(),
    );
    assert_eq!(insert.path, unifier::write::WritePath::Insert);
    assert_eq!(
        (insert.rows, insert.version_before, insert.version_after),
        (2, Some(1), Some(2))
    );
    assert_eq!(insert.files_added, 1);

    let update = write_summary(
        u.sql("UPDATE people SET name = 'B' WHERE id = 2", Params::None)
            .await
            .unwrap(),
    );
    assert_eq!(update.path, unifier::write::WritePath::Operation);
    assert_eq!((update.rows, update.version_after), (1, Some(3)));
    let delete = write_summary(
        u.sql("DELETE FROM people WHERE id >= 4", Params::None)
            .await
            .unwrap(),
    );
    assert_eq!((delete.rows, delete.version_after), (1, Some(4)));

    // The catalog moved to the new version: queries see the rows.
    assert_eq!(
        rows(&u, "SELECT id, name FROM people ORDER BY id").await,
        "+----+------+\n| id | name |\n+----+------+\n| 1  | a    |\n| 2  | B    |\n| 3  | c    |\n+----+------+"
    );
    assert_eq!(
        rows(
            &u,
            "SELECT _change_type, id, name FROM table_changes('people', 3, 4) ORDER BY _commit_version, _change_type"
        )
        .await,
        "+------------------+----+------+\n\
         | _change_type     | id | name |\n\
         +------------------+----+------+\n\
         | update_postimage | 2  | B    |\n\
         | update_preimage  | 2  | b    |\n\
         | delete           | 4  | d    |\n\
         +------------------+----+------+"
    );
    assert_eq!(
        rows(
            &u,
            "SELECT mode, path, rows, version_before, version_after, commit FROM diagnostics.write ORDER BY event_id"
        )
        .await,
        "+--------+-----------+------+----------------+---------------+-----------+\n\
         | mode   | path      | rows | version_before | version_after | commit    |\n\
         +--------+-----------+------+----------------+---------------+-----------+\n\
         | append | insert    | 2    | 0              | 1             | committed |\n\
         | append | insert    | 2    | 1              | 2             | committed |\n\
         | update | operation | 1    | 2              | 3             | committed |\n\
         | delete | operation | 1    | 3              | 4             | committed |\n\
         +--------+-----------+------+----------------+---------------+-----------+"
    );
    assert!(
        rows(
            &u,
            r#"SELECT "table", source, starting_version, ending_version, rows FROM diagnostics.cdf"#
        )
        .await
        .contains("| people | table_changes | 3                | 4              | 3    |")
    );
}

#[tokio::test]
async fn constraints_and_not_null_are_enforced_and_nothing_is_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let u = unifier(Preset::Writer);
    let options = DeltaTableOptions::default().with_constraint("positive_id", "id > 0");
    let v = delta_table(&u, tmp.path(), options).await;
    let err = refused(&u, "INSERT INTO people VALUES (-5, 'neg')").await;
    assert!(
        unifier::error_chain(&err).contains(
            "table `people`: the write violates check constraint positive_id (id > 0); nothing was committed"
        ),
        "{err:?}"
    );
    assert_eq!(version(&u, "people"), v, "a violating write committed");
    let last = u
        .recorder()
        .events(Some(unifier::diagnostics::EventKind::Write))
        .pop()
        .unwrap();
    let unifier::diagnostics::EventDetail::Write(event) = last.detail else {
        panic!()
    };
    assert_eq!(
        (event.path.as_str(), event.commit.as_str()),
        ("streaming", "failed")
    );
    assert!(
        event.path_reason.contains("check constraints"),
        "{}",
        event.path_reason
    );
    assert!(
        rows(&u, "SELECT count(*) AS n FROM people")
            .await
            .contains("| 2 |")
    );
}

#[tokio::test]
async fn a_declared_view_schema_is_a_contract() {
    let u = unifier(Preset::ReadOnly);
    let b: RecordBatch = batch(1..=3);
    u.catalog()
        .register_batches("mem", b.schema(), vec![b], RegisterOptions::default())
        .unwrap();
    let declared = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Int32, false),
        arrow::datatypes::Field::new("label", arrow::datatypes::DataType::Utf8, true),
    ]));
    let err = u
        .create_view(
            "v",
            "SELECT id, name FROM mem",
            Some(unifier::OutputContract::strict(declared.clone())),
            IfExists::Fail,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "view `v` does not have its declared schema: column `id`: expected Int32 NOT NULL, found Int64 NOT NULL (CAST it); \
         column `label`: expected Utf8, found nothing; column `name`: not declared, found Utf8 NOT NULL"
    );
    assert!(u.catalog().dataset("v").is_none());
    u.create_view(
        "v",
        "SELECT CAST(id AS INT) AS id, name AS label FROM mem",
        Some(unifier::OutputContract::strict(declared.clone())),
        IfExists::Fail,
    )
    .await
    .unwrap();
    // Additive: the declared columns, then any others.
    let additive = unifier::OutputContract {
        schema: declared,
        mode: unifier::write::SchemaMode::Additive,
    };
    u.create_view(
        "w",
        "SELECT CAST(id AS INT) AS id, name AS label, id * 2 AS twice FROM mem",
        Some(additive),
        IfExists::Fail,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_view_contract_saying_string_holds_over_parquet_csv_and_delta() {
    // DataFusion reads parquet and Delta strings as Utf8View: a contract that declares
    // `string` means every encoding of it (and was refused before the one contract).
    let tmp = tempfile::tempdir().unwrap();
    let u = unifier(Preset::Writer);
    let parquet = tmp.path().join("p/data.parquet");
    write_parquet(&parquet, &batch(1..=3), 10);
    let csv = tmp.path().join("c/data.csv");
    std::fs::create_dir_all(csv.parent().unwrap()).unwrap();
    std::fs::write(&csv, "id,name\n1,n1\n2,n2\n").unwrap();
    for (name, location, format) in [
        ("pq", parquet.parent().unwrap(), FileFormatKind::Parquet),
        ("cs", csv.parent().unwrap(), FileFormatKind::Csv),
    ] {
        u.register(
            name,
            ListingSpec::new(location.to_str().unwrap(), format),
            IfExists::Fail,
        )
        .await
        .unwrap();
    }
    delta_table(&u, &tmp.path().join("d"), DeltaTableOptions::default()).await;
    let declared = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Int64, true),
        arrow::datatypes::Field::new("name", arrow::datatypes::DataType::Utf8, true),
    ]));
    for (view, source) in [("vp", "pq"), ("vc", "cs"), ("vd", "people")] {
        u.create_view(
            view,
            &format!("SELECT id, name FROM {source}"),
            Some(unifier::OutputContract::strict(declared.clone())),
            IfExists::Fail,
        )
        .await
        .unwrap_or_else(|e| panic!("{view} over {source}: {}", unifier::error_chain(&e)));
    }
    // Nullability still binds: a NOT NULL declaration over a nullable Delta column.
    let not_null = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Int64, false),
        arrow::datatypes::Field::new("name", arrow::datatypes::DataType::Utf8, true),
    ]));
    let err = u
        .create_view(
            "strict_ids",
            "SELECT id, name FROM people",
            Some(unifier::OutputContract::strict(not_null)),
            IfExists::Fail,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "view `strict_ids` does not have its declared schema: column `id`: expected Int64 NOT NULL, found Int64"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_never_leaves_half_a_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut profile = crate::profile(Preset::Writer);
    profile.runtime.query_timeout_ms = Some(2000);
    let u = Unifier::new(profile).unwrap();
    let v = delta_table(&u, tmp.path(), DeltaTableOptions::default()).await;
    // Minutes of rows: the timeout fires while they are read, before any commit.
    let err = refused(
        &u,
        "INSERT INTO people SELECT value, 'x' FROM generate_series(1, 5000000000)",
    )
    .await;
    assert!(
        matches!(
            err,
            Error::WriteTimeout {
                committed: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().ends_with("nothing was committed"), "{err}");
    assert_eq!(version(&u, "people"), v);
    assert!(
        rows(&u, "SELECT count(*) AS n FROM people")
            .await
            .contains("| 2 |")
    );
    let last = u
        .recorder()
        .events(Some(unifier::diagnostics::EventKind::Write))
        .pop()
        .unwrap();
    let unifier::diagnostics::EventDetail::Write(event) = last.detail else {
        panic!()
    };
    assert_eq!(event.commit, "failed");
}

#[tokio::test]
async fn a_null_into_a_not_null_column_names_the_column_and_commits_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let u = unifier(Preset::Writer);
    let options = DeltaTableOptions::new(tmp.path().to_str().unwrap());
    // `batch`'s schema: id BIGINT NOT NULL, name TEXT NOT NULL.
    u.create_table("strict", batch(0..0).schema(), options, IfExists::Fail)
        .await
        .unwrap();
    u.sql("INSERT INTO strict VALUES (1, 'a')", Params::None)
        .await
        .unwrap();
    let v = version(&u, "strict");
    let err = refused(
        &u,
        "INSERT INTO strict SELECT id + 1, NULLIF(name, name) FROM strict",
    )
    .await;
    let chain = unifier::error_chain(&err);
    assert!(chain.contains("NOT NULL column name"), "{chain}");
    assert_eq!(version(&u, "strict"), v);
}
