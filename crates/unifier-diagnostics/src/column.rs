//! Rust field types that can be event columns: their Arrow type and how they append.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow::datatypes::{DataType, Field};

/// A Rust type stored as one Arrow column of an event table.
pub(crate) trait ColumnValue {
    /// The Arrow type of the column.
    fn data_type() -> DataType;
    /// Whether the column may hold nulls.
    const NULLABLE: bool;
    /// A builder for `capacity` rows.
    fn builder(capacity: usize) -> Box<dyn ArrayBuilder>;
    /// Appends this value to a builder made by [`ColumnValue::builder`].
    fn append_to(&self, builder: &mut dyn ArrayBuilder);
}

fn downcast<B: ArrayBuilder>(builder: &mut dyn ArrayBuilder) -> &mut B {
    builder
        .as_any_mut()
        .downcast_mut::<B>()
        .expect("event column builder matches its declared type")
}

macro_rules! primitive_column {
    ($ty:ty, $builder:ty, $data_type:expr) => {
        impl ColumnValue for $ty {
            fn data_type() -> DataType {
                $data_type
            }
            const NULLABLE: bool = false;
            fn builder(capacity: usize) -> Box<dyn ArrayBuilder> {
                Box::new(<$builder>::with_capacity(capacity))
            }
            fn append_to(&self, builder: &mut dyn ArrayBuilder) {
                downcast::<$builder>(builder).append_value(*self);
            }
        }

        impl ColumnValue for Option<$ty> {
            fn data_type() -> DataType {
                $data_type
            }
            const NULLABLE: bool = true;
            fn builder(capacity: usize) -> Box<dyn ArrayBuilder> {
                Box::new(<$builder>::with_capacity(capacity))
            }
            fn append_to(&self, builder: &mut dyn ArrayBuilder) {
                downcast::<$builder>(builder).append_option(*self);
            }
        }
    };
}

primitive_column!(u64, UInt64Builder, DataType::UInt64);
primitive_column!(i64, Int64Builder, DataType::Int64);
primitive_column!(u32, UInt32Builder, DataType::UInt32);
primitive_column!(bool, BooleanBuilder, DataType::Boolean);

impl ColumnValue for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    const NULLABLE: bool = false;
    fn builder(capacity: usize) -> Box<dyn ArrayBuilder> {
        Box::new(StringBuilder::with_capacity(capacity, capacity * 16))
    }
    fn append_to(&self, builder: &mut dyn ArrayBuilder) {
        downcast::<StringBuilder>(builder).append_value(self);
    }
}

impl ColumnValue for Option<String> {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    const NULLABLE: bool = true;
    fn builder(capacity: usize) -> Box<dyn ArrayBuilder> {
        Box::new(StringBuilder::with_capacity(capacity, capacity * 16))
    }
    fn append_to(&self, builder: &mut dyn ArrayBuilder) {
        downcast::<StringBuilder>(builder).append_option(self.as_deref());
    }
}

impl ColumnValue for Vec<String> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
    }
    const NULLABLE: bool = false;
    fn builder(capacity: usize) -> Box<dyn ArrayBuilder> {
        Box::new(ListBuilder::with_capacity(
            StringBuilder::with_capacity(capacity, capacity * 16),
            capacity,
        ))
    }
    fn append_to(&self, builder: &mut dyn ArrayBuilder) {
        let list = downcast::<ListBuilder<StringBuilder>>(builder);
        for value in self {
            list.values().append_value(value);
        }
        list.append(true);
    }
}
