//! Column types as SQL names them (`string`, `bigint`, `decimal(15, 2)`), and typed
//! hive-style partition columns.

use arrow::datatypes::{DataType, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A typed hive-style partition column (`<location>/<name>=<value>/...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionColumn {
    /// Column name, as in the directory names.
    pub name: String,
    /// The declared type; every directory value must parse as it (`type` in TOML/JSON).
    #[serde(with = "type_name", rename = "type")]
    pub data_type: DataType,
}

impl PartitionColumn {
    /// A partition column of the given type.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Self {
            name: name.into(),
            data_type,
        }
    }
}

mod type_name {
    use arrow::datatypes::DataType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &DataType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::type_to_sql(t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DataType, D::Error> {
        let name = String::deserialize(d)?;
        super::parse_type(&name).map_err(serde::de::Error::custom)
    }
}

/// SQL type names accepted for partition columns, and the Arrow type of each.
const TYPES: &[(&str, DataType)] = &[
    ("string", DataType::Utf8),
    ("varchar", DataType::Utf8),
    ("boolean", DataType::Boolean),
    ("tinyint", DataType::Int8),
    ("smallint", DataType::Int16),
    ("int", DataType::Int32),
    ("integer", DataType::Int32),
    ("bigint", DataType::Int64),
    ("float", DataType::Float32),
    ("double", DataType::Float64),
    ("date", DataType::Date32),
    (
        "timestamp",
        DataType::Timestamp(TimeUnit::Microsecond, None),
    ),
];

/// Parses a column type (`string`, `int`, `bigint`, `date`, `decimal(15, 2)`, ...).
pub fn parse_type(name: &str) -> Result<DataType> {
    let invalid = || Error::InvalidOption {
        option: "column type".into(),
        value: name.into(),
        expected: format!(
            "{}, decimal(precision, scale)",
            TYPES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ),
    };
    let trimmed = name.trim();
    if let Some(args) = trimmed
        .get(..8)
        .filter(|head| head.eq_ignore_ascii_case("decimal("))
        .and_then(|_| trimmed[8..].strip_suffix(')'))
    {
        let (precision, scale) = args.split_once(',').ok_or_else(invalid)?;
        let precision: u8 = precision.trim().parse().map_err(|_| invalid())?;
        let scale: i8 = scale.trim().parse().map_err(|_| invalid())?;
        if precision == 0 || precision > 38 || scale < 0 || scale as u8 > precision {
            return Err(invalid());
        }
        return Ok(DataType::Decimal128(precision, scale));
    }
    TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(trimmed))
        .map(|(_, t)| t.clone())
        .ok_or_else(invalid)
}

/// The SQL name of a column type (the first name [`parse_type`] accepts for it).
pub fn type_to_sql(data_type: &DataType) -> String {
    if let DataType::Decimal128(precision, scale) = data_type {
        return format!("decimal({precision}, {scale})");
    }
    TYPES
        .iter()
        .find(|(_, t)| t == data_type)
        .map_or_else(|| data_type.to_string(), |(n, _)| (*n).to_owned())
}
