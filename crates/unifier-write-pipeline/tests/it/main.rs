//! The write pipeline on its own: real Delta tables in temp dirs, a real session.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::memory::MemoryStream;
use unifier_diagnostics::{DiagnosticsRecorder, EventDetail, EventKind};
use unifier_io_adapter::{DeltaTableOptions, IoAdapter, RegisterOptions, ScanPolicy};
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
         column `id`: expected Int64, found Int32 (CAST it); \
         column `name`: expected Utf8View, found nothing; \
         column `label`: not in the table (found Utf8); use schema mode additive to add it"
    );
    assert_eq!(version(&io), 0);

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
