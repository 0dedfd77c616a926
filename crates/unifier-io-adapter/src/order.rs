//! Declared sort orders: columns, directions, where nulls go, and how an order is
//! checked before DataFusion may rely on it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Direction of a declared sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// Where nulls sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullsOrder {
    /// Nulls before every value.
    First,
    /// Nulls after every value.
    Last,
}

/// One column of a declared sort order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortColumn {
    /// Column name.
    pub column: String,
    /// Direction (default ascending).
    #[serde(default)]
    pub direction: SortDirection,
    /// Null placement; defaults as in SQL: last for ascending, first for descending.
    #[serde(default)]
    pub nulls: Option<NullsOrder>,
}

impl SortColumn {
    /// Ascending, nulls last.
    pub fn asc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            direction: SortDirection::Asc,
            nulls: None,
        }
    }

    /// Descending, nulls first.
    pub fn desc(column: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            direction: SortDirection::Desc,
            nulls: None,
        }
    }

    /// With explicit null placement.
    #[must_use]
    pub fn with_nulls(mut self, nulls: NullsOrder) -> Self {
        self.nulls = Some(nulls);
        self
    }

    /// Whether nulls come first, after applying the default.
    pub fn nulls_first(&self) -> bool {
        match self.nulls {
            Some(nulls) => nulls == NullsOrder::First,
            None => self.direction == SortDirection::Desc,
        }
    }

    /// Whether the direction is descending.
    pub fn descending(&self) -> bool {
        self.direction == SortDirection::Desc
    }
}

impl fmt::Display for SortColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = if self.descending() { "DESC" } else { "ASC" };
        let nulls = if self.nulls_first() { "FIRST" } else { "LAST" };
        write!(f, "{} {dir} NULLS {nulls}", self.column)
    }
}

/// Renders a sort order as SQL (`a ASC NULLS LAST, b DESC NULLS FIRST`).
pub fn sort_order_sql(order: &[SortColumn]) -> String {
    order
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a declared sort order is checked before DataFusion may rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortCheck {
    /// Parquet row-group statistics: row groups inside each file and the files
    /// themselves must not overlap in the declared order. Other formats have no
    /// statistics and are read in full.
    #[default]
    Statistics,
    /// Read the sort columns of every file and check every row.
    Full,
}

/// What happens when a declared sort order is contradicted or cannot be proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortPolicy {
    /// Registration fails, naming the file and row group.
    #[default]
    Strict,
    /// The dataset is registered without the ordering and a warning is recorded.
    Lenient,
}
