//! The facade end to end: register, compile (allowed and denied), execute with
//! parameters, read the provenance and the events.
//!
//! `cargo run -p unifier --example governed_query`

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use unifier::{Compiled, ExecutionResult, Params, Unifier, UnifierProfile};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let unifier = Unifier::new(UnifierProfile::default())?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("city", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec!["Oslo", "Lima", "Pune"])),
        ],
    )?;
    unifier
        .catalog()
        .register_batches("cities", schema, vec![batch], Default::default())?;

    // A refusal is data: nothing reached DataFusion.
    if let Compiled::Denied(denied) = unifier.compile("DELETE FROM cities", Params::None).await? {
        for v in denied.report.verdict.violations() {
            println!(
                "denied: {} at {}: {}",
                v.code.as_str(),
                v.position,
                v.message
            );
        }
    }

    let compiled = unifier
        .compile(
            "SELECT city FROM cities WHERE id >= $1",
            Params::positional([2i64]),
        )
        .await?;
    let Compiled::Allowed(query) = compiled else {
        return Err("expected an allowed query".into());
    };
    println!(
        "canonical: {}\nplan hash: {}\ninputs: {:?}",
        query.canonical_sql(),
        query.plan_hash(),
        query.inputs()
    );
    if let ExecutionResult::Table {
        batches,
        provenance,
        ..
    } = unifier.execute(&query).await?
    {
        println!("{}", pretty_format_batches(&batches)?);
        println!(
            "operation {} ran in {:?}",
            provenance.operation_id, provenance.execute_time
        );
    }

    let events = unifier
        .sql(
            "SELECT kind, status, message FROM diagnostics.events ORDER BY event_id",
            Params::None,
        )
        .await?;
    if let ExecutionResult::Table { batches, .. } = events {
        println!("{}", pretty_format_batches(&batches)?);
    }
    Ok(())
}
