//! The one schema contract: whether the columns something produces satisfy the columns
//! it declares. Views with an output contract, Delta tables created over an existing
//! table, and writes into a table all ask it, with the same rules:
//!
//! - **Types are compared logically.** An encoding is not a type: `Utf8`, `LargeUtf8`
//!   and `Utf8View` are one string type, `Binary`, `LargeBinary` and `BinaryView` one
//!   binary type, and a dictionary is the type of its values (DataFusion reads parquet
//!   strings as `Utf8View` and hands partition columns out as dictionaries; a contract
//!   that says `string` means all of them). The same holds inside lists, maps and
//!   structs, where the item field's name and nullability are not part of the type.
//! - **Nullability binds one way.** A column declared NOT NULL must be found NOT NULL
//!   ([`NullCheck::Schema`]) — unless the target checks every row itself
//!   ([`NullCheck::Rows`]: a Delta write, where a NULL in a NOT NULL column fails the
//!   commit). A nullable declaration accepts a NOT NULL column.
//! - **Extra columns** are a difference under [`SchemaMode::Strict`] and accepted under
//!   [`SchemaMode::Additive`].

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema};

/// How the found schema must relate to the declared one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaMode {
    /// Exactly the declared columns, with their logical types and nullability.
    #[default]
    Strict,
    /// The declared columns as declared; other columns may follow (a write adds them
    /// to the table as nullable columns).
    Additive,
}

impl SchemaMode {
    /// `strict` or `additive`, as written in a manifest and shown in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaMode::Strict => "strict",
            SchemaMode::Additive => "additive",
        }
    }
}

/// Who enforces a declared NOT NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullCheck {
    /// The schema: a column declared NOT NULL must be found NOT NULL (views, tables).
    Schema,
    /// The target, on every row (Delta writes): a nullable column is accepted, and a
    /// row with a NULL there fails the write.
    Rows,
}

/// Why a column breaks the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Declared, not found.
    Missing,
    /// Found, not declared (strict mode only).
    Undeclared,
    /// Found with another logical type.
    OtherType,
    /// Declared NOT NULL, found nullable.
    Nullable,
}

/// One column that breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The column.
    pub column: String,
    /// What the declaration says (`Int64 NOT NULL`); `None` when it is not declared.
    pub expected: Option<String>,
    /// What was found; `None` when the column is missing.
    pub found: Option<String>,
    /// Why it is a difference.
    pub why: Why,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nothing = "nothing";
        let expected = self.expected.as_deref().unwrap_or(nothing);
        let found = self.found.as_deref().unwrap_or(nothing);
        match self.why {
            Why::Undeclared => write!(f, "column `{}`: not declared, found {found}", self.column),
            Why::OtherType => write!(
                f,
                "column `{}`: expected {expected}, found {found} (CAST it)",
                self.column
            ),
            Why::Missing | Why::Nullable => write!(
                f,
                "column `{}`: expected {expected}, found {found}",
                self.column
            ),
        }
    }
}

/// The differences joined for an error message (`; ` between them).
pub fn joined(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every column where `found` breaks the contract `declared` under `mode` and `nulls`:
/// declared columns first, in their order, then the undeclared ones.
pub fn differences(
    declared: &Schema,
    found: &Schema,
    mode: SchemaMode,
    nulls: NullCheck,
) -> Vec<Difference> {
    let mut differences = Vec::new();
    for want in declared.fields() {
        let Ok(have) = found.field_with_name(want.name()) else {
            differences.push(Difference {
                column: want.name().clone(),
                expected: Some(shown(want)),
                found: None,
                why: Why::Missing,
            });
            continue;
        };
        let why = if !same_logical_type(want.data_type(), have.data_type()) {
            Some(Why::OtherType)
        } else if nulls == NullCheck::Schema && !want.is_nullable() && have.is_nullable() {
            Some(Why::Nullable)
        } else {
            None
        };
        if let Some(why) = why {
            differences.push(Difference {
                column: want.name().clone(),
                expected: Some(shown(want)),
                found: Some(shown(have)),
                why,
            });
        }
    }
    if mode == SchemaMode::Strict {
        for have in found.fields() {
            if declared.field_with_name(have.name()).is_err() {
                differences.push(Difference {
                    column: have.name().clone(),
                    expected: None,
                    found: Some(shown(have)),
                    why: Why::Undeclared,
                });
            }
        }
    }
    differences
}

/// A column as the contract shows it: its logical type, and NOT NULL when it is.
fn shown(field: &Field) -> String {
    let data_type = logical_type(field.data_type());
    if field.is_nullable() {
        data_type.to_string()
    } else {
        format!("{data_type} NOT NULL")
    }
}

/// Whether `a` and `b` are the same logical type (see the module docs).
pub fn same_logical_type(a: &DataType, b: &DataType) -> bool {
    logical_type(a) == logical_type(b)
}

/// The logical type of `data_type`: one string type, one binary type, a dictionary's
/// values, nested types with their items normalized the same way.
pub fn logical_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Dictionary(_, values) => logical_type(values),
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item) => DataType::List(item_field(item)),
        DataType::FixedSizeList(item, size) => DataType::FixedSizeList(item_field(item), *size),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(f.name(), logical_type(f.data_type()), true))
                .collect::<Fields>(),
        ),
        DataType::Map(entries, _) => DataType::Map(
            Arc::new(Field::new(
                "entries",
                logical_type(entries.data_type()),
                false,
            )),
            false,
        ),
        other => other.clone(),
    }
}

/// A list's item field reduced to its logical type: name and nullability dropped.
fn item_field(item: &Field) -> Arc<Field> {
    Arc::new(Field::new("item", logical_type(item.data_type()), true))
}
