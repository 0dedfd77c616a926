//! `unifier-tpch`: the TPC-H tables, generated in process by tpchgen — the one place the
//! workspace makes them. The facade's answer-check test and `bench_tpch` write them as
//! parquet, `unifier demo` builds its catalog from them, the conformance runner writes
//! dbgen's `.tbl` files for DataFusion's `tpch.slt`, and the write benches stream
//! `lineitem`.
//!
//! ```
//! let rows: usize = unifier_tpch::arrow("nation", 0.01, 8192)
//!     .expect("a TPC-H table")
//!     .map(|batch| batch.num_rows())
//!     .sum();
//! assert_eq!(rows, 25);
//! ```

use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

pub use tpchgen_arrow::RecordBatchIterator;

/// The eight TPC-H tables, smallest first.
pub const TABLES: [&str; 8] = [
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];

/// The rows of `table` at scale factor `sf` as Arrow record batches of `batch_rows` rows
/// (its schema from [`RecordBatchIterator::schema`]); `None` for a name that is not one
/// of [`TABLES`].
pub fn arrow(table: &str, sf: f64, batch_rows: usize) -> Option<Box<dyn RecordBatchIterator>> {
    let n = batch_rows.max(1);
    Some(match table {
        "region" => Box::new(RegionArrow::new(RegionGenerator::new(sf, 1, 1)).with_batch_size(n)),
        "nation" => Box::new(NationArrow::new(NationGenerator::new(sf, 1, 1)).with_batch_size(n)),
        "supplier" => {
            Box::new(SupplierArrow::new(SupplierGenerator::new(sf, 1, 1)).with_batch_size(n))
        }
        "customer" => {
            Box::new(CustomerArrow::new(CustomerGenerator::new(sf, 1, 1)).with_batch_size(n))
        }
        "part" => Box::new(PartArrow::new(PartGenerator::new(sf, 1, 1)).with_batch_size(n)),
        "partsupp" => {
            Box::new(PartSuppArrow::new(PartSuppGenerator::new(sf, 1, 1)).with_batch_size(n))
        }
        "orders" => Box::new(OrderArrow::new(OrderGenerator::new(sf, 1, 1)).with_batch_size(n)),
        "lineitem" => {
            Box::new(LineItemArrow::new(LineItemGenerator::new(sf, 1, 1)).with_batch_size(n))
        }
        _ => return None,
    })
}

/// The rows of `table` at scale factor `sf` as dbgen's `.tbl` lines (`|` after every
/// field, no line end); `None` for a name that is not one of [`TABLES`].
pub fn tbl_lines(table: &str, sf: f64) -> Option<Box<dyn Iterator<Item = String>>> {
    fn lines<T: std::fmt::Display>(
        rows: impl IntoIterator<Item = T> + 'static,
    ) -> Box<dyn Iterator<Item = String>> {
        Box::new(rows.into_iter().map(|row| row.to_string()))
    }
    Some(match table {
        "region" => lines(RegionGenerator::new(sf, 1, 1)),
        "nation" => lines(NationGenerator::new(sf, 1, 1)),
        "supplier" => lines(SupplierGenerator::new(sf, 1, 1)),
        "customer" => lines(CustomerGenerator::new(sf, 1, 1)),
        "part" => lines(PartGenerator::new(sf, 1, 1)),
        "partsupp" => lines(PartSuppGenerator::new(sf, 1, 1)),
        "orders" => lines(OrderGenerator::new(sf, 1, 1)),
        "lineitem" => lines(LineItemGenerator::new(sf, 1, 1)),
        _ => return None,
    })
}
