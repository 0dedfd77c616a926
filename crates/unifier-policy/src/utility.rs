//! The values of `EXPLAIN (option value, ...)` utility options, read as DataFusion reads
//! them.

use sqlparser::ast::{Expr, Value, ValueWithSpan};

/// The boolean value of an `EXPLAIN (option value)` argument, as DataFusion reads it.
pub(crate) fn utility_bool(arg: Option<&Expr>) -> Option<bool> {
    let Some(expr) = arg else {
        return Some(true);
    };
    let text = match expr {
        Expr::Identifier(ident) => ident.value.to_ascii_lowercase(),
        Expr::Value(ValueWithSpan { value, .. }) => match value {
            Value::Boolean(b) => return Some(*b),
            Value::Number(n, _) => match n.as_str() {
                "0" => return Some(false),
                "1" => return Some(true),
                _ => return None,
            },
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.to_ascii_lowercase(),
            _ => return None,
        },
        _ => return None,
    };
    match text.as_str() {
        "true" | "on" | "1" => Some(true),
        "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

pub(crate) fn utility_text(arg: Option<&Expr>) -> Option<String> {
    match arg? {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s) | Value::DoubleQuotedString(s),
            ..
        }) => Some(s.clone()),
        _ => None,
    }
}

pub(crate) const EXPLAIN_FORMATS: [&str; 4] = ["indent", "tree", "pgjson", "graphviz"];
