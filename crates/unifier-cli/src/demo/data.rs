//! The demo's data: the eight TPC-H tables from `unifier-tpch` as parquet under `data/`,
//! `orders` sorted by date and split by year into hive directories with small row
//! groups, so that pruning and a verified order have something to show.

use std::path::Path;

use arrow::array::{Array, ArrayRef, Int32Array, RecordBatch};
use arrow::compute::kernels::temporal::{DatePart, date_part};
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Errors are the message the demo prints.
type Result<T, E = String> = std::result::Result<T, E>;

/// Rows and files written for one table.
pub(super) struct Generated {
    pub(super) table: &'static str,
    pub(super) rows: usize,
    pub(super) files: usize,
}

fn parquet_error(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> String + '_ {
    move |e| format!("cannot write `{}`: {e}", path.display())
}

fn properties(max_row_group_size: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(max_row_group_size))
        .build()
}

/// Writes `batches` to one parquet file at `path`; returns the rows written.
fn write_parquet(
    path: &Path,
    schema: SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    max_row_group_size: usize,
) -> Result<usize> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, schema, Some(properties(max_row_group_size)))
        .map_err(parquet_error(path))?;
    let mut rows = 0;
    for batch in batches {
        rows += batch.num_rows();
        writer.write(&batch).map_err(parquet_error(path))?;
    }
    writer.close().map_err(parquet_error(path))?;
    Ok(rows)
}

/// One table of TPC-H into `data/<table>.parquet`.
fn write_table(data: &Path, table: &'static str, scale: f64) -> Result<Generated> {
    let batches =
        unifier_tpch::arrow(table, scale, 65_536).ok_or_else(|| format!("no table `{table}`"))?;
    let schema = batches.schema().clone();
    let rows = write_parquet(
        &data.join(format!("{table}.parquet")),
        schema,
        batches,
        1 << 20,
    )?;
    Ok(Generated {
        table,
        rows,
        files: 1,
    })
}

/// `orders`, sorted by `o_orderdate` (then `o_orderkey`), one hive-style directory per
/// year (`o_year=1995/`), small row groups so that statistics can prune them.
fn write_orders(data: &Path, scale: f64) -> Result<Generated> {
    let arrow = |e: arrow::error::ArrowError| format!("cannot sort the orders: {e}");
    let batches =
        unifier_tpch::arrow("orders", scale, 65_536).ok_or("no table `orders` in TPC-H")?;
    let schema = batches.schema().clone();
    let all: Vec<RecordBatch> = batches.collect();
    let orders = concat_batches(&schema, &all).map_err(arrow)?;
    let column = |name: &str| -> Result<ArrayRef> {
        Ok(orders.column(schema.index_of(name).map_err(arrow)?).clone())
    };
    let indices = lexsort_to_indices(
        &[
            SortColumn {
                values: column("o_orderdate")?,
                options: None,
            },
            SortColumn {
                values: column("o_orderkey")?,
                options: None,
            },
        ],
        None,
    )
    .map_err(arrow)?;
    let sorted = take_record_batch(&orders, &indices).map_err(arrow)?;
    let years = date_part(
        sorted.column(schema.index_of("o_orderdate").map_err(arrow)?),
        DatePart::Year,
    )
    .map_err(arrow)?;
    let years = years
        .as_any()
        .downcast_ref::<Int32Array>()
        .ok_or("the year of o_orderdate is not an int")?;
    let (mut files, mut start) = (0, 0);
    while start < sorted.num_rows() {
        let year = years.value(start);
        let mut end = start;
        while end < sorted.num_rows() && years.value(end) == year {
            end += 1;
        }
        let path = data.join(format!("orders/o_year={year}/part-0.parquet"));
        write_parquet(
            &path,
            schema.clone(),
            std::iter::once(sorted.slice(start, end - start)),
            256,
        )?;
        files += 1;
        start = end;
    }
    Ok(Generated {
        table: "orders",
        rows: sorted.num_rows(),
        files,
    })
}

/// All eight TPC-H tables under `data/`.
pub(super) fn generate(data: &Path, scale: f64) -> Result<Vec<Generated>> {
    unifier_tpch::TABLES
        .iter()
        .map(|table| match *table {
            "orders" => write_orders(data, scale),
            table => write_table(data, table, scale),
        })
        .collect()
}
