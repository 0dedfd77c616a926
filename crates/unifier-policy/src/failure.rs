//! An error inside the parser, before it is tied to the SQL text, and sqlparser's
//! messages taken apart (the position it appends, the capital it starts with).

use sqlparser::parser::ParserError;

use crate::error::ErrorCode;
use crate::position::Position;

/// An error inside the parser before it is tied to the SQL text.
#[derive(Debug)]
pub(crate) struct ParseFailure {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) position: Option<Position>,
}

impl From<ParserError> for ParseFailure {
    fn from(error: ParserError) -> Self {
        match error {
            ParserError::RecursionLimitExceeded => ParseFailure {
                code: ErrorCode::TooDeep,
                message: "sql nests deeper than the policy's max_depth".to_owned(),
                position: None,
            },
            ParserError::ParserError(message) | ParserError::TokenizerError(message) => {
                let (message, position) = split_position(&message);
                ParseFailure {
                    code: ErrorCode::ParseError,
                    message,
                    position,
                }
            }
        }
    }
}

pub(crate) type PResult<T> = Result<T, ParseFailure>;

/// sqlparser appends ` at Line: L, Column: C` to most messages; take it off and keep it.
pub(crate) fn split_position(message: &str) -> (String, Option<Position>) {
    let (text, position) = match message.rfind(" at Line: ") {
        Some(at) => {
            let tail = &message[at + " at Line: ".len()..];
            let mut numbers = tail.split(", Column: ");
            let line = numbers.next().and_then(|l| l.trim().parse::<u64>().ok());
            let column = numbers.next().and_then(|c| c.trim().parse::<u64>().ok());
            match (line, column) {
                (Some(line), Some(column)) if line > 0 && column > 0 => {
                    (&message[..at], Some(Position { line, column }))
                }
                _ => (message, None),
            }
        }
        None => (message, None),
    };
    (lowercase_first(text), position)
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
