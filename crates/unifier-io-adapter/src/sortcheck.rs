//! Verifies a declared sort order before DataFusion is told about it.
//!
//! A wrong ordering gives wrong results (DataFusion elides sorts and merges on it), so
//! an ordering only reaches DataFusion when it is proven here:
//!
//! - **statistics** (parquet): inside each file, consecutive row groups must not overlap
//!   in the declared order (`max` of one <= `min` of the next, column by column with
//!   nulls placed as declared); across files, sorted by their first key, the same. A
//!   row group that starts before its predecessor ends *contradicts* the order; a tie on
//!   the leading columns with overlapping later columns, a missing or inexact statistic
//!   leaves it *unverified*. Row-group interiors are not read.
//! - **full**: the sort columns of every file are read and every row is compared with
//!   the previous one; file ranges must not overlap. Formats without statistics are
//!   always checked this way.
//!
//! Values are compared through Arrow's row format (`RowConverter`), which orders bytes
//! exactly as the declared `SortOptions` order values.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, UInt32Array, new_null_array};
use arrow::compute::{SortOptions, concat, take};
use arrow::datatypes::Schema;
use arrow::row::{OwnedRow, RowConverter, Rows, SortField};
use arrow::util::display::array_value_to_string;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use object_store::ObjectMeta;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::file::metadata::ParquetMetaData;
use serde::{Deserialize, Serialize};

use crate::spec::SortColumn;

/// How a declared order was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedBy {
    /// Parquet row-group statistics.
    Statistics,
    /// Every row of the sort columns was read.
    Full,
}

/// The outcome of checking a declared sort order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SortVerification {
    /// No order was declared.
    None,
    /// The order holds; DataFusion was given it.
    Verified {
        /// How.
        by: VerifiedBy,
    },
    /// The data breaks the order (registration failed, or lenient: the order was dropped).
    Contradicted {
        /// Where and how.
        detail: String,
    },
    /// The order could not be proven (lenient: the order was dropped).
    Unverified {
        /// What was missing.
        detail: String,
    },
}

impl SortVerification {
    /// `none`, `verified`, `contradicted` or `unverified`.
    pub fn state(&self) -> &'static str {
        match self {
            SortVerification::None => "none",
            SortVerification::Verified { .. } => "verified",
            SortVerification::Contradicted { .. } => "contradicted",
            SortVerification::Unverified { .. } => "unverified",
        }
    }

    /// Whether DataFusion may rely on the ordering.
    pub fn is_verified(&self) -> bool {
        matches!(self, SortVerification::Verified { .. })
    }
}

/// A problem found while checking; turned into [`SortVerification`] by the caller.
pub(crate) enum Finding {
    Contradicted(String),
    Unverified(String),
}

pub(crate) type Checked<T> = std::result::Result<T, Finding>;

fn sort_options(column: &SortColumn) -> SortOptions {
    SortOptions {
        descending: column.descending(),
        nulls_first: column.nulls_first(),
    }
}

/// The first and last key of one file (per sort column when from statistics).
struct FileRange {
    file: String,
    /// One row per sort column (statistics) or one row of all columns (full).
    low: Vec<OwnedRow>,
    high: Vec<OwnedRow>,
    /// Display of the low and high values, for messages.
    low_text: String,
    high_text: String,
}

/// `high` of the earlier range against `low` of the later one, column by column.
/// `Less`: ordered. `Equal`: ordered (ties to the last column). `Greater` on the first
/// column: contradicted. Otherwise (tie, then later columns overlap): unprovable.
enum Boundary {
    Ordered,
    Contradicted,
    Unprovable,
}

fn boundary(high: &[OwnedRow], low: &[OwnedRow]) -> Boundary {
    for (k, (h, l)) in high.iter().zip(low).enumerate() {
        match h.row().cmp(&l.row()) {
            Ordering::Less => return Boundary::Ordered,
            Ordering::Equal => continue,
            Ordering::Greater if k == 0 => return Boundary::Contradicted,
            Ordering::Greater => return Boundary::Unprovable,
        }
    }
    Boundary::Ordered
}

/// Checks that file ranges do not overlap once sorted by their first key.
fn check_files(mut ranges: Vec<FileRange>) -> Checked<()> {
    ranges.sort_by(|a, b| {
        a.low
            .iter()
            .map(OwnedRow::row)
            .cmp(b.low.iter().map(OwnedRow::row))
    });
    for pair in ranges.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let detail = || {
            format!(
                "files `{}` (up to {}) and `{}` (from {}) overlap",
                a.file, a.high_text, b.file, b.low_text
            )
        };
        match boundary(&a.high, &b.low) {
            Boundary::Ordered => {}
            Boundary::Contradicted => return Err(Finding::Contradicted(detail())),
            Boundary::Unprovable => return Err(Finding::Unverified(detail())),
        }
    }
    Ok(())
}

/// One parquet file's footer, as the statistics check needs it.
pub(crate) struct ParquetFooter {
    pub(crate) file: String,
    pub(crate) metadata: Arc<ParquetMetaData>,
    pub(crate) schema: Arc<Schema>,
}

/// The statistics check over parquet footers, in file order.
pub(crate) fn check_statistics(order: &[SortColumn], footers: &[ParquetFooter]) -> Checked<()> {
    let mut ranges = Vec::with_capacity(footers.len());
    for footer in footers {
        if let Some(range) = check_parquet_file(order, footer)? {
            ranges.push(range);
        }
    }
    check_files(ranges)
}

/// Per sort column: the row-encoded low and high key of every row group, and their text.
struct ColumnBounds {
    rows: Rows,
    values: ArrayRef,
    groups: usize,
}

impl ColumnBounds {
    fn low(&self, rg: usize) -> OwnedRow {
        self.rows.row(rg).owned()
    }
    fn high(&self, rg: usize) -> OwnedRow {
        self.rows.row(self.groups + rg).owned()
    }
    fn text(&self, index: usize) -> String {
        if self.values.is_null(index) {
            "NULL".into()
        } else {
            array_value_to_string(&self.values, index).unwrap_or_else(|_| "?".into())
        }
    }
}

fn parquet_error(file: &str, e: impl std::fmt::Display) -> Finding {
    Finding::Unverified(format!("file `{file}`: cannot read statistics: {e}"))
}

fn column_bounds(column: &SortColumn, footer: &ParquetFooter) -> Checked<ColumnBounds> {
    let file = footer.file.as_str();
    let groups = footer.metadata.row_groups();
    let n = groups.len();
    let converter = StatisticsConverter::try_new(
        &column.column,
        &footer.schema,
        footer.metadata.file_metadata().schema_descr(),
    )
    .map_err(|e| parquet_error(file, e))?;
    let mins = converter
        .row_group_mins(groups)
        .map_err(|e| parquet_error(file, e))?;
    let maxes = converter
        .row_group_maxes(groups)
        .map_err(|e| parquet_error(file, e))?;
    let nulls = converter
        .row_group_null_counts(groups)
        .map_err(|e| parquet_error(file, e))?;
    let min_exact = converter
        .row_group_is_min_value_exact(groups)
        .map_err(|e| parquet_error(file, e))?;
    let max_exact = converter
        .row_group_is_max_value_exact(groups)
        .map_err(|e| parquet_error(file, e))?;

    // Indices into [mins.., maxes.., NULL]: the low then the high key of each group.
    let null_index = (2 * n) as u32;
    let mut low = Vec::with_capacity(n);
    let mut high = Vec::with_capacity(n);
    for (rg, meta) in groups.iter().enumerate() {
        let rows = meta.num_rows() as u64;
        let null_count = if nulls.is_null(rg) {
            return Err(Finding::Unverified(format!(
                "file `{file}` row group {rg} has no null count for `{}`",
                column.column
            )));
        } else {
            nulls.value(rg)
        };
        let (min_i, max_i) = (rg as u32, (n + rg) as u32);
        let (first, last) = if column.descending() {
            (max_i, min_i)
        } else {
            (min_i, max_i)
        };
        if null_count >= rows {
            low.push(null_index);
            high.push(null_index);
            continue;
        }
        let exact = |a: &arrow::array::BooleanArray| !a.is_null(rg) && a.value(rg);
        if mins.is_null(rg) || maxes.is_null(rg) || !exact(&min_exact) || !exact(&max_exact) {
            return Err(Finding::Unverified(format!(
                "file `{file}` row group {rg} has no exact min/max statistics for `{}`",
                column.column
            )));
        }
        let (mut l, mut h) = (first, last);
        if null_count > 0 {
            if column.nulls_first() {
                l = null_index;
            } else {
                h = null_index;
            }
        }
        low.push(l);
        high.push(h);
    }
    let all = concat(&[
        mins.as_ref(),
        maxes.as_ref(),
        new_null_array(mins.data_type(), 1).as_ref(),
    ])
    .map_err(|e| parquet_error(file, e))?;
    let indices = UInt32Array::from_iter_values(low.into_iter().chain(high));
    let values = take(&all, &indices, None).map_err(|e| parquet_error(file, e))?;
    let converter = RowConverter::new(vec![SortField::new_with_options(
        values.data_type().clone(),
        sort_options(column),
    )])
    .map_err(|e| parquet_error(file, e))?;
    let rows = converter
        .convert_columns(std::slice::from_ref(&values))
        .map_err(|e| parquet_error(file, e))?;
    Ok(ColumnBounds {
        rows,
        values,
        groups: n,
    })
}

fn check_parquet_file(order: &[SortColumn], footer: &ParquetFooter) -> Checked<Option<FileRange>> {
    let groups = footer.metadata.num_row_groups();
    if groups == 0 {
        return Ok(None);
    }
    let bounds = order
        .iter()
        .map(|column| column_bounds(column, footer))
        .collect::<Checked<Vec<_>>>()?;
    let key_text = |index: usize| {
        order
            .iter()
            .zip(&bounds)
            .map(|(c, b)| format!("{}={}", c.column, b.text(index)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for rg in 1..groups {
        let high: Vec<_> = bounds.iter().map(|b| b.high(rg - 1)).collect();
        let low: Vec<_> = bounds.iter().map(|b| b.low(rg)).collect();
        let detail = || {
            format!(
                "file `{}` row group {rg} starts at ({}) before row group {} ends at ({})",
                footer.file,
                key_text(rg),
                rg - 1,
                key_text(groups + rg - 1),
            )
        };
        match boundary(&high, &low) {
            Boundary::Ordered => {}
            Boundary::Contradicted => return Err(Finding::Contradicted(detail())),
            Boundary::Unprovable => return Err(Finding::Unverified(detail())),
        }
    }
    Ok(Some(FileRange {
        file: footer.file.clone(),
        low: bounds.iter().map(|b| b.low(0)).collect(),
        high: bounds.iter().map(|b| b.high(groups - 1)).collect(),
        low_text: format!("({})", key_text(0)),
        high_text: format!("({})", key_text(2 * groups - 1)),
    }))
}

/// The full check: reads the sort columns of each file (alone, in one partition, so rows
/// come in file order) through `read_file` and compares every row with the previous.
pub(crate) async fn check_full<F, Fut>(
    order: &[SortColumn],
    ctx: &SessionContext,
    files: &[(String, ObjectMeta)],
    read_file: F,
) -> Checked<()>
where
    F: Fn(SessionContext, ObjectMeta) -> Fut,
    Fut: std::future::Future<
            Output = datafusion::error::Result<
                datafusion::physical_plan::SendableRecordBatchStream,
            >,
        >,
{
    let mut converter: Option<RowConverter> = None;
    let mut ranges = Vec::with_capacity(files.len());
    for (file, meta) in files {
        let read_error = |e: &dyn std::fmt::Display| {
            Finding::Unverified(format!("file `{file}`: cannot read: {e}"))
        };
        let mut stream = read_file(ctx.clone(), meta.clone())
            .await
            .map_err(|e| read_error(&e))?;
        let mut first: Option<(OwnedRow, String)> = None;
        let mut last: Option<(OwnedRow, String)> = None;
        let mut row_number = 0usize;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| read_error(&e))?;
            if batch.num_rows() == 0 {
                continue;
            }
            let conv = match &mut converter {
                Some(c) => c,
                None => converter.insert(
                    RowConverter::new(
                        order
                            .iter()
                            .zip(batch.columns())
                            .map(|(c, a)| {
                                SortField::new_with_options(a.data_type().clone(), sort_options(c))
                            })
                            .collect(),
                    )
                    .map_err(|e| read_error(&e))?,
                ),
            };
            let rows = conv
                .convert_columns(batch.columns())
                .map_err(|e| read_error(&e))?;
            let text = |i: usize| {
                order
                    .iter()
                    .zip(batch.columns())
                    .map(|(c, a)| {
                        let v = if a.is_null(i) {
                            "NULL".into()
                        } else {
                            array_value_to_string(a, i).unwrap_or_default()
                        };
                        format!("{}={v}", c.column)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let out_of_order = |at: usize, before: String| {
                Finding::Contradicted(format!(
                    "file `{file}` row {} ({}) comes after row {} ({before})",
                    row_number + at,
                    text(at),
                    row_number + at - 1,
                ))
            };
            if let Some((prev, prev_text)) = &last
                && prev.row() > rows.row(0)
            {
                return Err(out_of_order(0, prev_text.clone()));
            }
            for i in 1..rows.num_rows() {
                if rows.row(i - 1) > rows.row(i) {
                    return Err(out_of_order(i, text(i - 1)));
                }
            }
            if first.is_none() {
                first = Some((rows.row(0).owned(), text(0)));
            }
            let end = rows.num_rows() - 1;
            last = Some((rows.row(end).owned(), text(end)));
            row_number += rows.num_rows();
        }
        if let (Some((low, low_text)), Some((high, high_text))) = (first, last) {
            ranges.push(FileRange {
                file: file.clone(),
                low: vec![low],
                high: vec![high],
                low_text: format!("({low_text})"),
                high_text: format!("({high_text})"),
            });
        }
    }
    check_files(ranges)
}
