//! The one schema contract: logical types, one-way nullability, strict and additive.
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use unifier_io_adapter::contract::*;

fn schema(fields: Vec<Field>) -> Schema {
    Schema::new(fields)
}

#[test]
fn encodings_of_one_type_are_the_same_type() {
    let dictionary = DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8));
    for t in [DataType::Utf8View, DataType::LargeUtf8, dictionary] {
        assert!(same_logical_type(&DataType::Utf8, &t), "{t}");
    }
    assert!(same_logical_type(&DataType::Binary, &DataType::BinaryView));
    assert!(!same_logical_type(&DataType::Utf8, &DataType::Binary));
    assert!(!same_logical_type(&DataType::Int32, &DataType::Int64));
    let delta_list = DataType::List(Arc::new(Field::new("element", DataType::Utf8, false)));
    let arrow_list = DataType::LargeList(Arc::new(Field::new("item", DataType::Utf8View, true)));
    assert!(same_logical_type(&delta_list, &arrow_list));
    let list_of_ints = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
    assert!(!same_logical_type(&delta_list, &list_of_ints));
}

#[test]
fn every_column_is_named_with_why() {
    let declared = schema(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]);
    let found = schema(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("score", DataType::Int32, true),
        Field::new("extra", DataType::Utf8View, false),
    ]);
    let got = differences(&declared, &found, SchemaMode::Strict, NullCheck::Schema);
    let whys: Vec<Why> = got.iter().map(|d| d.why).collect();
    assert_eq!(
        whys,
        [Why::Nullable, Why::Missing, Why::OtherType, Why::Undeclared]
    );
    assert_eq!(
        joined(&got),
        "column `id`: expected Int64 NOT NULL, found Int64; \
         column `name`: expected Utf8, found nothing; \
         column `score`: expected Float64, found Int32 (CAST it); \
         column `extra`: not declared, found Utf8 NOT NULL"
    );
    let additive = differences(&declared, &found, SchemaMode::Additive, NullCheck::Rows);
    let whys: Vec<Why> = additive.iter().map(|d| d.why).collect();
    assert_eq!(whys, [Why::Missing, Why::OtherType]);
}

#[test]
fn a_nullable_declaration_accepts_a_not_null_column() {
    let declared = schema(vec![Field::new("id", DataType::Int64, true)]);
    let found = schema(vec![Field::new("id", DataType::Int64, false)]);
    assert!(differences(&declared, &found, SchemaMode::Strict, NullCheck::Schema).is_empty());
}
