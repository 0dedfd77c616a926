//! The strict parser: sqlparser plus DataFusion 55's statements, with positions on every
//! error and hard limits checked before any recursion can run away.
//!
//! The statement loop (here) and the extension grammar (`grammar.rs`,
//! `external_table.rs`) follow DataFusion's `DFParser` token for token (same keywords,
//! same order, same delegation to sqlparser), so a statement never passes the gate that
//! DataFusion would read differently.

use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::ast::PolicyStatement;
use crate::error::{ErrorCode, SqlError};
use crate::failure::split_position;
use crate::grammar::StatementParser;
use crate::position::Position;

/// How much deeper than `max_depth` sqlparser's own recursion counter may go. Its counter
/// also counts statement and query levels; the AST walk enforces `max_depth` exactly.
const PARSER_DEPTH_SLACK: usize = 8;

/// A statement with the position of its first token.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) statement: PolicyStatement,
    pub(crate) position: Position,
}

/// Parses `sql` into statements. With `collect`, every statement is tried and all errors
/// are returned; otherwise the first error ends the parse.
pub(crate) fn parse_script(
    sql: &str,
    dialect: &dyn Dialect,
    max_depth: usize,
    collect: bool,
) -> Result<Vec<Parsed>, Vec<SqlError>> {
    let error = |code, message: String, position| vec![SqlError::new(code, message, sql, position)];

    let tokens = Tokenizer::new(dialect, sql)
        .tokenize_with_location()
        .map_err(|e| {
            let (message, position) = split_position(&e.message);
            let position = position
                .or_else(|| Position::from_location(e.location))
                .unwrap_or(Position::START);
            error(ErrorCode::ParseError, message, position)
        })?;

    // Bracket nesting is checked on the tokens, before any recursive descent: 100,000
    // nested parentheses fail here, in a loop, with the position of the first one too many.
    check_bracket_depth(&tokens, max_depth).map_err(|position| {
        error(
            ErrorCode::TooDeep,
            format!("brackets nest deeper than max_depth = {max_depth}"),
            position,
        )
    })?;

    // Errors at the end of input point just after the last token, not at trailing blanks.
    let eof = tokens
        .iter()
        .rev()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))
        .and_then(|t| Position::from_location(t.span.end))
        .unwrap_or_else(|| Position::end_of(sql));

    let mut parser = Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .with_recursion_limit(max_depth.saturating_add(PARSER_DEPTH_SLACK));
    let mut state = StatementParser {
        parser: &mut parser,
        supports_utility_options: dialect.supports_explain_with_utility_options(),
        max_depth,
        eof,
    };

    let mut statements = Vec::new();
    let mut errors = Vec::new();
    let mut expecting_delimiter = false;
    loop {
        while state.parser.consume_token(&Token::SemiColon) {
            expecting_delimiter = false;
        }
        if state.parser.peek_token_ref().token == Token::EOF {
            break;
        }
        let position = state.next_position();
        let result = if expecting_delimiter {
            Err(state.expected("end of statement"))
        } else {
            state.parse_statement(0)
        };
        match result {
            Ok(statement) => {
                statements.push(Parsed {
                    statement,
                    position,
                });
                expecting_delimiter = true;
            }
            Err(failure) => {
                let at = failure.position.unwrap_or_else(|| state.next_position());
                errors.push(SqlError::new(failure.code, failure.message, sql, at));
                if !collect {
                    break;
                }
                // Skip to the end of the broken statement and go on with the next one.
                loop {
                    let token = state.parser.next_token();
                    if matches!(token.token, Token::SemiColon | Token::EOF) {
                        break;
                    }
                }
                expecting_delimiter = false;
            }
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    if statements.is_empty() {
        return Err(error(
            ErrorCode::ParseError,
            "no sql statement found: the input is empty or only comments".to_owned(),
            Position::end_of(sql),
        ));
    }
    Ok(statements)
}

/// Returns the position of the first opening bracket that nests deeper than `max_depth`.
///
/// Brackets are `(`, `[`, `{` and the `<` of a nested type (`ARRAY<`, `STRUCT<`, `MAP<`):
/// sqlparser parses nested types by recursion its own counter does not limit. A chain of
/// bracket groups (`a[1][1]…`, `INT[][]…`) counts as nesting too: sqlparser builds it into
/// a nested tree (and drops it recursively when it backtracks).
fn check_bracket_depth(tokens: &[TokenWithSpan], max_depth: usize) -> Result<(), Position> {
    let mut brackets = 0usize;
    let mut angles = 0usize;
    let mut chain = 0usize;
    let mut previous_keyword = Keyword::NoKeyword;
    let mut previous_closed_bracket = false;
    for token in tokens {
        let opens = match &token.token {
            Token::LBracket => {
                brackets += 1;
                chain = if previous_closed_bracket {
                    chain + 1
                } else {
                    1
                };
                true
            }
            Token::LParen | Token::LBrace => {
                brackets += 1;
                true
            }
            Token::Lt
                if matches!(
                    previous_keyword,
                    Keyword::ARRAY | Keyword::STRUCT | Keyword::MAP
                ) =>
            {
                angles += 1;
                true
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                brackets = brackets.saturating_sub(1);
                false
            }
            Token::Gt => {
                angles = angles.saturating_sub(1);
                false
            }
            Token::ShiftRight => {
                angles = angles.saturating_sub(2);
                false
            }
            _ => false,
        };
        if opens && (brackets + angles > max_depth || chain > max_depth) {
            return Err(Position::from_location(token.span.start).unwrap_or(Position::START));
        }
        if !matches!(token.token, Token::Whitespace(_)) {
            previous_closed_bracket = token.token == Token::RBracket;
            previous_keyword = match &token.token {
                Token::Word(word) => word.keyword,
                _ => Keyword::NoKeyword,
            };
        }
    }
    Ok(())
}
