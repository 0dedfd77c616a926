//! Writes the Delta tables `cargo xtask interop` hands to other readers (python
//! `deltalake`, DuckDB's `delta` extension, polars): every write mode, a partitioned
//! table, and a table with the change feed after UPDATE and DELETE — all through the
//! facade under the writer preset. Next to each table it writes what unifier reads back
//! (`<table>.rows.json`, and `<table>.cdf.json` for the change feed), sorted, one JSON
//! object per line.
//!
//! `cargo run -p unifier --example interop_tables -- OUT_DIR`

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use unifier::io::{DeltaTableOptions, IfExists};
use unifier::policy::{PolicyProfile, Preset};
use unifier::write::{WriteMode, WriteRequest, WriteTarget};
use unifier::{ExecutionResult, Params, Unifier, UnifierProfile};

async fn run(u: &Unifier, sql: &str) -> Result<(), Box<dyn std::error::Error>> {
    u.sql(sql, Params::None).await?;
    Ok(())
}

/// Rows of `sql` as JSON lines.
async fn json_lines(u: &Unifier, sql: &str) -> Result<String, Box<dyn std::error::Error>> {
    let ExecutionResult::Table { batches, .. } = u.sql(sql, Params::None).await? else {
        return Err("expected rows".into());
    };
    let mut out = Vec::new();
    let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(String::from_utf8(out)?)
}

async fn table(
    u: &Unifier,
    out: &Path,
    name: &str,
    options: DeltaTableOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("day", DataType::Date32, true),
    ]));
    let options = DeltaTableOptions {
        location: out.join(name).display().to_string(),
        ..options
    };
    u.create_table(name, schema, options, IfExists::Fail)
        .await?;
    Ok(())
}

const ROWS: &str = "(1, 'Lyon', 10.5, DATE '2024-01-01'), (2, 'Oslo', 20.25, DATE '2024-01-02'), \
                    (3, 'Lima', NULL, DATE '2024-01-02'), (4, NULL, 7.0, NULL)";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: interop_tables OUT_DIR")?;
    let out = Path::new(&out);
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    std::fs::create_dir_all(out)?;
    let u = Unifier::new(UnifierProfile {
        policy: PolicyProfile::preset(Preset::Writer),
        ..UnifierProfile::default()
    })?;

    // append: two INSERTs (the provider's insert path).
    table(&u, out, "appended", DeltaTableOptions::default()).await?;
    run(&u, &format!("INSERT INTO appended VALUES {ROWS}")).await?;
    run(
        &u,
        "INSERT INTO appended VALUES (5, 'Pune', 1.0, DATE '2024-02-01')",
    )
    .await?;

    // overwrite: INSERT OVERWRITE, then a replace-where write through the API.
    table(&u, out, "overwritten", DeltaTableOptions::default()).await?;
    run(&u, &format!("INSERT INTO overwritten VALUES {ROWS}")).await?;
    run(&u, "INSERT OVERWRITE overwritten VALUES (7, 'Kyiv', 3.5, DATE '2024-03-01'), (8, 'Baku', 4.5, DATE '2024-03-02')").await?;
    u.write_sql(
        "SELECT CAST(8 AS BIGINT) AS id, 'Baku' AS city, CAST(9.0 AS DOUBLE) AS amount, DATE '2024-03-09' AS day",
        |source| {
            WriteRequest::new(WriteTarget::Dataset("overwritten".into()), source)
                .with_mode(WriteMode::ReplaceWhere("id = 8".into()))
        },
    )
    .await?;

    // partitioned by a string and a date column.
    table(
        &u,
        out,
        "partitioned",
        DeltaTableOptions::default().with_partition_by(vec!["city".into(), "day".into()]),
    )
    .await?;
    run(&u, &format!("INSERT INTO partitioned VALUES {ROWS}")).await?;

    // the change feed, after UPDATE and DELETE (deltalake's operations).
    table(
        &u,
        out,
        "changes",
        DeltaTableOptions::default().with_change_data_feed(),
    )
    .await?;
    run(&u, &format!("INSERT INTO changes VALUES {ROWS}")).await?;
    run(&u, "UPDATE changes SET amount = 99.0 WHERE id = 2").await?;
    run(&u, "DELETE FROM changes WHERE id = 3").await?;
    run(
        &u,
        "INSERT INTO changes VALUES (6, 'Riga', 2.5, DATE '2024-01-03')",
    )
    .await?;

    for name in ["appended", "overwritten", "partitioned", "changes"] {
        let rows = json_lines(
            &u,
            &format!("SELECT id, city, amount, day FROM {name} ORDER BY id"),
        )
        .await?;
        std::fs::write(out.join(format!("{name}.rows.json")), rows)?;
    }
    let cdf = json_lines(
        &u,
        "SELECT id, city, amount, day, _change_type, _commit_version FROM table_changes('changes', 0) \
         ORDER BY _commit_version, id, _change_type",
    )
    .await?;
    std::fs::write(out.join("changes.cdf.json"), cdf)?;
    println!("wrote 4 tables to {}", out.display());
    Ok(())
}
