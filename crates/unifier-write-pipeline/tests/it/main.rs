//! The write pipeline on its own: real Delta tables in temp dirs, a real session.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::memory::MemoryStream;
use unifier_diagnostics::{DiagnosticsRecorder, EventDetail, EventKind};
use unifier_io_adapter::{
    DeltaTableOptions, FileFormatKind, IoAdapter, ListingSpec, RegisterOptions, ScanPolicy,
};
use unifier_write_pipeline::{
    CommitOptions, CommitOutcome, Error, SchemaMode, Transaction, WriteMode, WritePath,
    WritePipeline, WriteRequest, WriteSource, WriteTarget,
};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
    ]))
}

fn rows(ids: &[i64]) -> RecordBatch {
    let names: StringArray = ids.iter().map(|i| Some(format!("n{i}"))).collect();
    RecordBatch::try_new(
        schema(),
        vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(names)],
    )
    .unwrap()
}

fn stream(batch: RecordBatch) -> WriteSource {
    let schema = batch.schema();
    WriteSource::Stream(Box::pin(
        MemoryStream::try_new(vec![batch], schema, None).unwrap(),
    ))
}

async fn setup(dir: &Path) -> (IoAdapter, WritePipeline) {
    let io =
        IoAdapter::with_defaults(ScanPolicy::default(), DiagnosticsRecorder::new(1000)).unwrap();
    io.create_delta(
        "t",
        schema(),
        DeltaTableOptions::new(dir.to_str().unwrap()).with_change_data_feed(),
        RegisterOptions::default(),
    )
    .await
    .unwrap();
    let pipeline = WritePipeline::new(io.clone());
    (io, pipeline)
}

async fn query(io: &IoAdapter, sql: &str) -> String {
    let batches = io
        .session()
        .sql(sql)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

fn request(source: WriteSource) -> WriteRequest {
    WriteRequest::new(WriteTarget::Dataset("t".into()), source)
}

fn version(io: &IoAdapter) -> u64 {
    io.dataset("t").unwrap().delta.unwrap().version
}

#[tokio::test]
async fn modes_replace_where_and_the_events_they_leave() {
    let tmp = tempfile::tempdir().unwrap();
    let (io, pipeline) = setup(tmp.path()).await;
    let state = io.session().state();

    let appended = pipeline
        .write(&state, request(stream(rows(&[1, 2, 3]))))
        .await
        .unwrap();
    assert_eq!(appended.path, WritePath::Streaming);
    assert_eq!(
        (
            appended.rows,
            appended.version_before,
            appended.version_after,
            appended.files_added
        ),
        (3, Some(0), Some(1), 1)
    );
    assert!(appended.bytes_added > 0);

    let replaced = pipeline
        .write(
            &state,
            request(stream(rows(&[2]))).with_mode(WriteMode::ReplaceWhere("id = 2".into())),
        )
        .await
        .unwrap();
    assert_eq!(replaced.version_after, Some(2));
    assert!(
        replaced.path_reason.contains("replace-where"),
        "{}",
        replaced.path_reason
    );
    assert_eq!(
        query(&io, "SELECT id FROM t ORDER BY id").await,
        "+----+\n| id |\n+----+\n| 1  |\n| 2  |\n| 3  |\n+----+"
    );

    let overwritten = pipeline
        .write(
            &state,
            request(stream(rows(&[9]))).with_mode(WriteMode::Overwrite),
        )
        .await
        .unwrap();
    assert_eq!(
        (overwritten.files_removed > 0, overwritten.version_after),
        (true, Some(3))
    );
    assert_eq!(
        query(&io, "SELECT id FROM t").await,
        "+----+\n| id |\n+----+\n| 9  |\n+----+"
    );

    let err = pipeline
        .write(
            &state,
            request(stream(rows(&[1]))).with_mode(WriteMode::ErrorIfExists),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    let ignored = pipeline
        .write(
            &state,
            request(stream(rows(&[1]))).with_mode(WriteMode::Ignore),
        )
        .await
        .unwrap();
    assert_eq!(
        (ignored.commit, ignored.version_after),
        (CommitOutcome::Noop, None)
    );
    assert_eq!(version(&io), 3);

    let writes: Vec<String> = io
        .recorder()
        .events(Some(EventKind::Write))
        .into_iter()
        .map(|e| match e.detail {
            EventDetail::Write(w) => format!(
                "{} {} {:?}->{:?} {}",
                w.mode, w.rows, w.version_before, w.version_after, w.commit
            ),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        writes,
        [
            "append 3 Some(0)->Some(1) committed",
            "replace_where 1 Some(1)->Some(2) committed",
            "overwrite 1 Some(2)->Some(3) committed",
            "error_if_exists 0 Some(3)->None failed",
            "ignore 0 Some(3)->None noop",
        ]
    );
}

#[tokio::test]
async fn a_retried_transaction_commits_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (io, pipeline) = setup(tmp.path()).await;
    let state = io.session().state();
    let commit = CommitOptions {
        metadata: BTreeMap::from([("job".to_owned(), "nightly".to_owned())]),
        transaction: Some(Transaction {
            app_id: "loader".into(),
            version: 7,
        }),
    };
    let first = pipeline
        .write(
            &state,
            request(stream(rows(&[1, 2]))).with_commit(commit.clone()),
        )
        .await
        .unwrap();
    assert_eq!(first.commit, CommitOutcome::Committed);
    let retry = pipeline
        .write(&state, request(stream(rows(&[1, 2]))).with_commit(commit))
        .await
        .unwrap();
    assert_eq!((retry.commit, retry.rows), (CommitOutcome::Noop, 0));
    assert!(
        retry.path_reason.contains("already committed"),
        "{}",
        retry.path_reason
    );
    assert_eq!(
        query(&io, "SELECT count(*) AS n FROM t").await,
        "+---+\n| n |\n+---+\n| 2 |\n+---+"
    );
}

#[tokio::test]
async fn schema_contracts_name_every_column_and_commit_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (io, pipeline) = setup(tmp.path()).await;
    let state = io.session().state();
    let wrong = io
        .session()
        .sql("SELECT CAST(1 AS INT) AS id, 'x' AS label")
        .await
        .unwrap()
        .into_unoptimized_plan();
    let err = pipeline
        .write(&state, request(WriteSource::Plan(wrong)))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `t`: the written rows do not match the table's schema (strict): \
         column `id`: expected Int64, found Int32 NOT NULL (CAST it); \
         column `name`: expected Utf8, found nothing; \
         column `label`: not declared, found Utf8 NOT NULL; \
         use schema mode additive to add the undeclared columns"
    );
    assert_eq!(version(&io), 0);
    // The refusal is on the record: a failed write and its error, nothing committed.
    let kinds: Vec<String> = io
        .recorder()
        .events(None)
        .into_iter()
        .filter_map(|e| match e.detail {
            EventDetail::Write(w) => Some(format!("write {} {}", w.mode, w.commit)),
            EventDetail::Error(x) => Some(format!("error {}", x.error_kind)),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["write append failed", "error schema_mismatch"]);

    let extra = io
        .session()
        .sql("SELECT CAST(5 AS BIGINT) AS id, 'five' AS name, 'red' AS color")
        .await
        .unwrap()
        .into_unoptimized_plan();
    let added = pipeline
        .write(
            &state,
            request(WriteSource::Plan(extra)).with_schema_mode(SchemaMode::Additive),
        )
        .await
        .unwrap();
    assert!(
        added.path_reason.contains("schema evolution"),
        "{}",
        added.path_reason
    );
    assert_eq!(
        query(&io, "SELECT id, name, color FROM t").await,
        "+----+------+-------+\n| id | name | color |\n+----+------+-------+\n| 5  | five | red   |\n+----+------+-------+"
    );
}

#[tokio::test]
async fn a_location_target_is_created_with_its_declared_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let io =
        IoAdapter::with_defaults(ScanPolicy::default(), DiagnosticsRecorder::new(100)).unwrap();
    let pipeline = WritePipeline::new(io.clone());
    let declared: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let location = tmp.path().join("new").display().to_string();
    let target = WriteTarget::Location {
        location: location.clone(),
        schema: declared,
        register_as: Some("created".into()),
    };
    let summary = pipeline
        .write(
            &io.session().state(),
            WriteRequest::new(target, stream(rows(&[1, 2]))).with_partition_by(vec!["name".into()]),
        )
        .await
        .unwrap();
    assert_eq!(summary.rows, 2);
    let created = io.dataset("created").unwrap();
    assert!(!created.schema.field_with_name("id").unwrap().is_nullable());
    assert_eq!(created.delta.unwrap().partition_columns, ["name"]);
    assert_eq!(
        query(&io, "SELECT count(*) AS n FROM created").await,
        "+---+\n| n |\n+---+\n| 2 |\n+---+"
    );
}

#[tokio::test]
async fn concurrent_appends_each_commit_their_own_version() {
    let tmp = tempfile::tempdir().unwrap();
    let (io, pipeline) = setup(tmp.path()).await;
    let a = pipeline.clone();
    let b = pipeline.clone();
    let state_a = io.session().state();
    let state_b = io.session().state();
    let (ra, rb) = tokio::join!(
        async move { a.write(&state_a, request(stream(rows(&[1])))).await },
        async move { b.write(&state_b, request(stream(rows(&[2])))).await },
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let mut versions = vec![ra.version_after.unwrap(), rb.version_after.unwrap()];
    versions.sort_unstable();
    assert_eq!(versions, [1, 2]);
    io.refresh("t").await.unwrap();
    assert_eq!(
        query(&io, "SELECT count(*) AS n FROM t").await,
        "+---+\n| n |\n+---+\n| 2 |\n+---+"
    );
}

#[tokio::test]
async fn a_true_conflict_says_what_conflicted_and_commits_nothing() {
    use datafusion::prelude::{col, lit};
    let tmp = tempfile::tempdir().unwrap();
    let (io, pipeline) = setup(tmp.path()).await;
    let state = io.session().state();
    pipeline
        .write(&state, request(stream(rows(&[1, 2, 3]))))
        .await
        .unwrap();
    // Both deletes start from version 1 and rewrite the same file.
    let (a, b) = tokio::join!(
        pipeline.delete(&state, "t", Some(col("id").eq(lit(1i64)))),
        pipeline.delete(&state, "t", Some(col("id").eq(lit(2i64)))),
    );
    let (ok, err) = match (a, b) {
        (Ok(ok), Err(err)) | (Err(err), Ok(ok)) => (ok, err),
        (a, b) => panic!("expected one commit and one conflict: {a:?} / {b:?}"),
    };
    assert_eq!(ok.version_after, Some(2));
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let chain = unifier_diagnostics::error_chain(&err);
    assert!(
        chain.contains("a concurrent commit conflicts with this write"),
        "{chain}"
    );
    io.refresh("t").await.unwrap();
    assert_eq!(version(&io), 2);
}

#[tokio::test]
async fn a_replace_where_violation_names_the_predicate_and_no_internal_column() {
    let tmp = tempfile::tempdir().unwrap();
    let (io, pipeline) = setup(tmp.path()).await;
    let state = io.session().state();
    pipeline
        .write(&state, request(stream(rows(&[1, 2]))))
        .await
        .unwrap();
    let err = pipeline
        .write(
            &state,
            request(stream(rows(&[2, 3]))).with_mode(WriteMode::ReplaceWhere("id = 2".into())),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReplaceWhereViolated { .. }), "{err:?}");
    let chain = unifier_diagnostics::error_chain(&err);
    assert_eq!(
        chain,
        "table `t`: written rows do not match the replace-where predicate (id = 2); \
         nothing was committed: write only rows the predicate selects: \
         Invalid data found: 1 rows failed validation check."
    );
    assert!(!chain.contains("__delta_rs"), "{chain}");
    assert_eq!(version(&io), 1);
}

#[tokio::test]
async fn a_table_partitioned_by_a_string_column_takes_rows_read_from_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let io =
        IoAdapter::with_defaults(ScanPolicy::default(), DiagnosticsRecorder::new(1000)).unwrap();
    let table = tmp.path().join("by_name");
    io.create_delta(
        "t",
        schema(),
        DeltaTableOptions::new(table.to_str().unwrap()).with_partition_by(vec!["name".into()]),
        RegisterOptions::default(),
    )
    .await
    .unwrap();
    // DataFusion reads parquet strings as Utf8View, and scans the partition column as a
    // dictionary: neither is the table's type, both are its logical type.
    let file = tmp.path().join("src.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema(), None)
            .unwrap();
    writer.write(&rows(&[1, 2, 3])).unwrap();
    writer.close().unwrap();
    io.register(
        "src",
        ListingSpec::new(file.to_str().unwrap(), FileFormatKind::Parquet),
        RegisterOptions::default(),
    )
    .await
    .unwrap();
    let source = io
        .session()
        .sql("SELECT * FROM src")
        .await
        .unwrap()
        .into_unoptimized_plan();
    let pipeline = WritePipeline::new(io.clone());
    let written = pipeline
        .write(&io.session().state(), request(WriteSource::Plan(source)))
        .await
        .unwrap();
    assert_eq!((written.rows, written.version_after), (3, Some(1)));
    assert_eq!(
        query(&io, "SELECT id, name FROM t ORDER BY id").await,
        "+----+------+\n| id | name |\n+----+------+\n| 1  | n1   |\n| 2  | n2   |\n| 3  | n3   |\n+----+------+"
    );
}

#[tokio::test]
async fn a_missing_table_is_not_registered_and_the_refusal_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (io, pipeline) = setup(tmp.path()).await;
    let err = pipeline
        .write(
            &io.session().state(),
            WriteRequest::new(WriteTarget::Dataset("nope".into()), stream(rows(&[1]))),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `nope` is not registered; register it with kind = \"delta\" first"
    );
    let errors = io.recorder().events(Some(EventKind::Error));
    assert_eq!(errors.len(), 1, "{errors:?}");
}
