//! TPC-H data and answers, shared by the answer-check test (`tpch.rs`) and the
//! `bench_tpch` example (which includes this file by path): the eight tables generated
//! with tpchgen into one parquet file each, and results compared the way the benchmark
//! compares them with DuckDB's — floats to a relative 1e-6, decimals at their scale
//! (one unit of the last place allowed for a rounding done differently), rows in the
//! query's order or, where ties leave it open, in a canonical one.

use std::path::Path;
use std::time::Instant;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use arrow::util::display::array_value_to_string;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use unifier_tpch::RecordBatchIterator;

/// Any error of generating or comparing.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// The TPC-H tables.
pub(crate) const TABLES: [&str; 8] = unifier_tpch::TABLES;

/// The text of query `q` (1–22), kept in `testdata/tpch/queries`.
pub(crate) fn query_text(q: u32) -> Result<String, Error> {
    let path = manifest_dir().join(format!("../../testdata/tpch/queries/q{q}.sql"));
    Ok(std::fs::read_to_string(path)?)
}

fn write_table(path: &Path, batches: Box<dyn RecordBatchIterator>) -> Result<(), Error> {
    let partial = path.with_extension("partial");
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(&partial)?,
        batches.schema().clone(),
        Some(props),
    )?;
    for batch in batches {
        writer.write(&batch)?;
    }
    writer.close()?;
    std::fs::rename(partial, path)?;
    Ok(())
}

/// The eight tables at scale `sf` in `dir`, generated when missing.
pub(crate) fn generate(dir: &Path, sf: f64) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    let n = 65_536;
    for table in TABLES {
        let path = dir.join(format!("{table}.parquet"));
        if path.exists() {
            continue;
        }
        let started = Instant::now();
        let batches = unifier_tpch::arrow(table, sf, n).ok_or("not a TPC-H table")?;
        write_table(&path, batches)?;
        eprintln!(
            "generated {table} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// One value of a result, as compared: a number (with the decimal scale it came with)
/// or text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Number(f64, Option<i8>),
    Text(String),
    Null,
}

pub(crate) fn cells(batches: &[RecordBatch]) -> Result<Vec<Vec<Cell>>, Error> {
    let mut rows = Vec::new();
    for batch in batches {
        for r in 0..batch.num_rows() {
            let mut row = Vec::with_capacity(batch.num_columns());
            for column in batch.columns() {
                row.push(cell(column.as_ref(), r)?);
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

fn cell(array: &dyn Array, row: usize) -> Result<Cell, Error> {
    if array.is_null(row) {
        return Ok(Cell::Null);
    }
    let text = array_value_to_string(array, row)?;
    Ok(match array.data_type() {
        DataType::Decimal128(_, scale) | DataType::Decimal256(_, scale) => {
            Cell::Number(text.parse()?, Some(*scale))
        }
        t if t.is_numeric() => Cell::Number(text.parse()?, None),
        _ => Cell::Text(text),
    })
}

pub(crate) fn json_cells(rows: &Value) -> Vec<Vec<Cell>> {
    rows.as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            row.as_array()
                .into_iter()
                .flatten()
                .map(|v| match v {
                    Value::Null => Cell::Null,
                    Value::Number(n) => Cell::Number(n.as_f64().unwrap_or(f64::NAN), None),
                    Value::String(s) => Cell::Text(s.clone()),
                    other => Cell::Text(other.to_string()),
                })
                .collect()
        })
        .collect()
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Number(x, sx), Cell::Number(y, sy)) => {
            // A decimal is exact at its scale: compare there, allowing one unit of the
            // last place for a rounding done differently.
            if let Some(scale) = sx.iter().chain(sy).min() {
                let unit = 10f64.powi(-i32::from(*scale));
                if (x - y).abs() <= unit * 1.01 {
                    return true;
                }
            }
            (x - y).abs() <= 1e-6 * x.abs().max(y.abs()) + 1e-9
        }
        (Cell::Text(x), Cell::Text(y)) => x == y,
        (Cell::Null, Cell::Null) => true,
        _ => false,
    }
}

fn same_rows(a: &[Vec<Cell>], b: &[Vec<Cell>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)))
}

/// Rows in a canonical order, for results whose order the query leaves open (ties).
fn sorted(rows: &[Vec<Cell>]) -> Vec<Vec<Cell>> {
    let key = |row: &Vec<Cell>| -> String {
        row.iter()
            .map(|c| match c {
                Cell::Number(n, _) => format!("{n:.2}"),
                Cell::Text(t) => t.clone(),
                Cell::Null => "NULL".into(),
            })
            .collect::<Vec<_>>()
            .join("\u{1}")
    };
    let mut rows = rows.to_vec();
    rows.sort_by_key(key);
    rows
}

pub(crate) fn answers_match(ours: &[Vec<Cell>], theirs: &[Vec<Cell>]) -> bool {
    same_rows(ours, theirs) || same_rows(&sorted(ours), &sorted(theirs))
}

/// This crate's directory as the test runner reports it when the test runs: a test binary
/// can have been built in another clone sharing the target directory (cargo reuses it),
/// and the compile-time path would name that clone.
pub(crate) fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}
