//! The strict parser: sqlparser plus DataFusion 55's statements, with positions on every
//! error and hard limits checked before any recursion can run away.
//!
//! The statement loop and the extension grammar follow DataFusion's `DFParser` token for
//! token (same keywords, same order, same delegation to sqlparser), so a statement never
//! passes the gate that DataFusion would read differently.

use sqlparser::ast::{
    ColumnDef, ColumnOptionDef, Expr, Ident, ObjectName, OrderByExpr, OrderByOptions,
    TableConstraint, Value, ValueWithSpan,
};
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};

use crate::ast::{
    CopySource, CopyTo, CreateExternalTable, Explain, ExplainOptions, PolicyStatement,
};
use crate::error::{ErrorCode, SqlError};
use crate::report::Position;

/// How much deeper than `max_depth` sqlparser's own recursion counter may go. Its counter
/// also counts statement and query levels; the AST walk enforces `max_depth` exactly.
const PARSER_DEPTH_SLACK: usize = 8;

/// A statement with the position of its first token.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) statement: PolicyStatement,
    pub(crate) position: Position,
}

/// An error inside the parser before it is tied to the SQL text.
#[derive(Debug)]
struct ParseFailure {
    code: ErrorCode,
    message: String,
    position: Option<Position>,
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

type PResult<T> = Result<T, ParseFailure>;

/// sqlparser appends ` at Line: L, Column: C` to most messages; take it off and keep it.
fn split_position(message: &str) -> (String, Option<Position>) {
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

fn token_starts_query(token: &Token) -> bool {
    match token {
        Token::LParen => true,
        Token::Word(Word { keyword, .. }) => matches!(
            keyword,
            Keyword::SELECT
                | Keyword::WITH
                | Keyword::VALUES
                | Keyword::TABLE
                | Keyword::INSERT
                | Keyword::UPDATE
                | Keyword::DELETE
                | Keyword::MERGE
        ),
        _ => false,
    }
}

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

fn utility_text(arg: Option<&Expr>) -> Option<String> {
    match arg? {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s) | Value::DoubleQuotedString(s),
            ..
        }) => Some(s.clone()),
        _ => None,
    }
}

const EXPLAIN_FORMATS: [&str; 4] = ["indent", "tree", "pgjson", "graphviz"];

struct StatementParser<'p, 'a> {
    parser: &'p mut Parser<'a>,
    supports_utility_options: bool,
    max_depth: usize,
    /// Just after the last token: where "found: EOF" errors point.
    eof: Position,
}

impl StatementParser<'_, '_> {
    fn next_position(&self) -> Position {
        Position::from_location(self.parser.peek_token_ref().span.start).unwrap_or(self.eof)
    }

    fn fail(&self, message: impl Into<String>) -> ParseFailure {
        ParseFailure {
            code: ErrorCode::ParseError,
            message: message.into(),
            position: Position::from_location(self.parser.get_current_token().span.start),
        }
    }

    fn expected(&self, what: &str) -> ParseFailure {
        let found = self.parser.peek_token_ref();
        ParseFailure {
            code: ErrorCode::ParseError,
            message: format!("expected: {what}, found: {}", found.token),
            position: Position::from_location(found.span.start),
        }
    }

    fn parse_statement(&mut self, depth: usize) -> PResult<PolicyStatement> {
        if depth > self.max_depth {
            return Err(ParseFailure {
                code: ErrorCode::TooDeep,
                message: format!("statements nest deeper than max_depth = {}", self.max_depth),
                position: Position::from_location(self.parser.peek_token_ref().span.start),
            });
        }
        let keyword = match &self.parser.peek_token_ref().token {
            Token::Word(w) => w.keyword,
            _ => Keyword::NoKeyword,
        };
        match keyword {
            Keyword::CREATE => {
                self.parser.next_token();
                self.parse_create()
            }
            Keyword::COPY => {
                if let Token::Word(w) = &self.parser.peek_nth_token_ref(1).token
                    && w.keyword == Keyword::INTO
                {
                    return self.parse_sql_statement();
                }
                self.parser.next_token();
                self.parse_copy()
            }
            Keyword::EXPLAIN => {
                self.parser.next_token();
                self.parse_explain(depth)
            }
            Keyword::RESET => {
                self.parser.next_token();
                self.parse_reset()
            }
            _ => self.parse_sql_statement(),
        }
    }

    fn parse_sql_statement(&mut self) -> PResult<PolicyStatement> {
        Ok(PolicyStatement::Sql(Box::new(
            self.parser.parse_statement()?,
        )))
    }

    fn parse_create(&mut self) -> PResult<PolicyStatement> {
        use Keyword::{EXTERNAL, OR, REPLACE, UNBOUNDED};
        let p = &mut *self.parser;
        if p.parse_keywords(&[OR, REPLACE, EXTERNAL]) {
            self.parse_create_external_table(false, true)
        } else if p.parse_keywords(&[OR, REPLACE, UNBOUNDED, EXTERNAL]) {
            self.parse_create_external_table(true, true)
        } else if p.parse_keyword(EXTERNAL) {
            self.parse_create_external_table(false, false)
        } else if p.parse_keywords(&[UNBOUNDED, EXTERNAL]) {
            self.parse_create_external_table(true, false)
        } else {
            Ok(PolicyStatement::Sql(Box::new(p.parse_create()?)))
        }
    }

    fn parse_copy(&mut self) -> PResult<PolicyStatement> {
        let source = if self.parser.consume_token(&Token::LParen) {
            let query = self.parser.parse_query()?;
            self.parser.expect_token(&Token::RParen)?;
            CopySource::Query(query)
        } else {
            CopySource::Relation(self.parser.parse_object_name(true)?)
        };

        let mut stored_as = None;
        let mut target = None;
        let mut partitioned_by = None;
        let mut options = None;
        loop {
            let Some(keyword) = self.parser.parse_one_of_keywords(&[
                Keyword::STORED,
                Keyword::TO,
                Keyword::PARTITIONED,
                Keyword::OPTIONS,
                Keyword::WITH,
            ]) else {
                self.expect_statement_end()?;
                break;
            };
            match keyword {
                Keyword::STORED => {
                    self.parser.expect_keyword(Keyword::AS)?;
                    self.ensure_unset(&stored_as, "STORED AS")?;
                    stored_as = Some(self.parse_file_format()?);
                }
                Keyword::TO => {
                    self.ensure_unset(&target, "TO")?;
                    target = Some(self.parser.parse_literal_string()?);
                }
                Keyword::WITH => {
                    self.parser.expect_keyword(Keyword::HEADER)?;
                    self.parser.expect_keyword(Keyword::ROW)?;
                    return Err(self.fail(
                        "the WITH HEADER ROW clause is no longer in use: use OPTIONS ('format.has_header' 'true')",
                    ));
                }
                Keyword::PARTITIONED => {
                    self.parser.expect_keyword(Keyword::BY)?;
                    self.ensure_unset(&partitioned_by, "PARTITIONED BY")?;
                    partitioned_by = Some(self.parse_partitions()?);
                }
                _ => {
                    self.ensure_unset(&options, "OPTIONS")?;
                    options = Some(self.parse_value_options()?);
                }
            }
        }
        let Some(target) = target else {
            return Err(self.fail("missing TO clause in COPY statement"));
        };
        Ok(PolicyStatement::CopyTo(CopyTo {
            source,
            target,
            partitioned_by: partitioned_by.unwrap_or_default(),
            stored_as,
            options: options.unwrap_or_default(),
        }))
    }

    fn parse_explain(&mut self, depth: usize) -> PResult<PolicyStatement> {
        if self.supports_utility_options
            && self.parser.peek_token_ref().token == Token::LParen
            && !token_starts_query(&self.parser.peek_nth_token_ref(1).token)
        {
            let options = self.parser.parse_utility_options()?;
            self.check_utility_options(&options)?;
            let statement = self.parse_statement(depth + 1)?;
            return Ok(PolicyStatement::Explain(Explain {
                options: ExplainOptions::Utility(options),
                statement: Box::new(statement),
            }));
        }
        let analyze = self.parser.parse_keyword(Keyword::ANALYZE);
        let verbose = self.parser.parse_keyword(Keyword::VERBOSE);
        let format = if self.parser.parse_keyword(Keyword::FORMAT) {
            let token = self.parser.next_token();
            let name = match token.token {
                Token::Word(w) => w.value,
                Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
                _ => {
                    self.parser.prev_token();
                    return Err(self.expected("an explain format such as TREE"));
                }
            };
            if !EXPLAIN_FORMATS.contains(&name.to_lowercase().as_str()) {
                return Err(self.fail(format!(
                    "invalid explain format `{name}`: expected one of {}",
                    EXPLAIN_FORMATS.join(", ")
                )));
            }
            Some(name)
        } else {
            None
        };
        let statement = self.parse_statement(depth + 1)?;
        Ok(PolicyStatement::Explain(Explain {
            options: ExplainOptions::Keywords {
                analyze,
                verbose,
                format,
            },
            statement: Box::new(statement),
        }))
    }

    /// The option names and values DataFusion's `ExplainStatementOptions` accepts.
    fn check_utility_options(&self, options: &[sqlparser::ast::UtilityOption]) -> PResult<()> {
        for option in options {
            let name = option.name.value.to_ascii_lowercase();
            let arg = option.arg.as_ref();
            let ok = match name.as_str() {
                "analyze" | "verbose" | "timing" | "summary" | "costs" => {
                    utility_bool(arg).is_some()
                }
                "format" => utility_text(arg)
                    .is_some_and(|f| EXPLAIN_FORMATS.contains(&f.to_lowercase().as_str())),
                "level" => utility_text(arg)
                    .is_some_and(|l| matches!(l.to_lowercase().as_str(), "summary" | "dev")),
                "metrics" => utility_text(arg).is_some_and(|m| {
                    let m = m.to_lowercase();
                    m == "all"
                        || m == "none"
                        || m.split(',').all(|c| {
                            matches!(c.trim(), "rows" | "bytes" | "timing" | "uncategorized")
                        })
                }),
                _ => {
                    return Err(ParseFailure {
                        code: ErrorCode::ParseError,
                        message: format!(
                            "unknown or unsupported EXPLAIN option `{}`: DataFusion accepts ANALYZE, VERBOSE, FORMAT, METRICS, LEVEL, TIMING, SUMMARY, COSTS",
                            option.name.value
                        ),
                        position: Position::from_location(option.name.span.start),
                    });
                }
            };
            if !ok {
                return Err(ParseFailure {
                    code: ErrorCode::ParseError,
                    message: format!("invalid value for EXPLAIN option `{}`", option.name.value),
                    position: Position::from_location(option.name.span.start),
                });
            }
        }
        Ok(())
    }

    fn parse_reset(&mut self) -> PResult<PolicyStatement> {
        let mut parts: Vec<String> = Vec::new();
        let mut expecting_segment = true;
        loop {
            match &self.parser.peek_token_ref().token {
                Token::Word(word) => parts.push(word.value.clone()),
                Token::SingleQuotedString(s)
                | Token::DoubleQuotedString(s)
                | Token::EscapedStringLiteral(s) => parts.push(s.clone()),
                Token::Period => {
                    if expecting_segment || parts.is_empty() {
                        return Err(self.expected("configuration parameter"));
                    }
                    self.parser.next_token();
                    expecting_segment = true;
                    continue;
                }
                Token::EOF | Token::SemiColon => break,
                _ => return Err(self.expected("configuration parameter")),
            }
            self.parser.next_token();
            expecting_segment = false;
        }
        if parts.is_empty() || expecting_segment {
            return Err(self.expected("configuration parameter"));
        }
        Ok(PolicyStatement::Reset(ObjectName::from(
            parts.into_iter().map(Ident::new).collect::<Vec<_>>(),
        )))
    }

    fn parse_create_external_table(
        &mut self,
        unbounded: bool,
        or_replace: bool,
    ) -> PResult<PolicyStatement> {
        let temporary = self
            .parser
            .parse_one_of_keywords(&[Keyword::TEMP, Keyword::TEMPORARY])
            .is_some();
        self.parser.expect_keyword(Keyword::TABLE)?;
        let if_not_exists =
            self.parser
                .parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        if if_not_exists && or_replace {
            return Err(self.fail("'IF NOT EXISTS' cannot coexist with 'REPLACE'"));
        }
        let name = self.parser.parse_object_name(true)?;
        let (mut columns, constraints) = self.parse_columns()?;

        let mut file_type = None;
        let mut locations = None;
        let mut table_partition_cols = None;
        let mut order_exprs = Vec::new();
        let mut options = None;
        loop {
            let Some(keyword) = self.parser.parse_one_of_keywords(&[
                Keyword::STORED,
                Keyword::LOCATION,
                Keyword::WITH,
                Keyword::DELIMITER,
                Keyword::COMPRESSION,
                Keyword::PARTITIONED,
                Keyword::OPTIONS,
            ]) else {
                self.expect_statement_end()?;
                break;
            };
            match keyword {
                Keyword::STORED => {
                    self.parser.expect_keyword(Keyword::AS)?;
                    self.ensure_unset(&file_type, "STORED AS")?;
                    file_type = Some(self.parse_file_format()?);
                }
                Keyword::LOCATION => {
                    self.ensure_unset(&locations, "LOCATION")?;
                    locations = Some(self.parse_locations()?);
                }
                Keyword::WITH => {
                    if self.parser.parse_keyword(Keyword::ORDER) {
                        order_exprs.push(self.parse_order_by_exprs()?);
                    } else {
                        self.parser.expect_keyword(Keyword::HEADER)?;
                        self.parser.expect_keyword(Keyword::ROW)?;
                        return Err(self.fail(
                            "the WITH HEADER ROW clause is no longer in use: use OPTIONS (format.has_header true)",
                        ));
                    }
                }
                Keyword::DELIMITER => {
                    return Err(self.fail(
                        "the DELIMITER clause is no longer in use: use OPTIONS (format.delimiter ',')",
                    ));
                }
                Keyword::COMPRESSION => {
                    self.parser.expect_keyword(Keyword::TYPE)?;
                    return Err(self.fail(
                        "the COMPRESSION TYPE clause is no longer in use: use OPTIONS (format.compression gzip)",
                    ));
                }
                Keyword::PARTITIONED => {
                    self.parser.expect_keyword(Keyword::BY)?;
                    self.ensure_unset(&table_partition_cols, "PARTITIONED BY")?;
                    let peeked = &self.parser.peek_nth_token_ref(2).token;
                    if *peeked == Token::Comma || *peeked == Token::RParen {
                        table_partition_cols = Some(self.parse_partitions()?);
                    } else {
                        let (cols, cons) = self.parse_columns()?;
                        if !cons.is_empty() {
                            return Err(
                                self.fail("constraints on partition columns are not supported")
                            );
                        }
                        table_partition_cols =
                            Some(cols.iter().map(|c| c.name.to_string()).collect());
                        columns.extend(cols);
                    }
                }
                _ => {
                    self.ensure_unset(&options, "OPTIONS")?;
                    options = Some(self.parse_value_options()?);
                }
            }
        }
        let Some(file_type) = file_type else {
            return Err(self.fail("missing STORED AS clause in CREATE EXTERNAL TABLE statement"));
        };
        let Some(locations) = locations else {
            return Err(self.fail("missing LOCATION clause in CREATE EXTERNAL TABLE statement"));
        };
        if locations.is_empty() {
            return Err(self.fail("LOCATION requires at least one path"));
        }
        Ok(PolicyStatement::CreateExternalTable(CreateExternalTable {
            name,
            columns,
            file_type,
            locations,
            table_partition_cols: table_partition_cols.unwrap_or_default(),
            order_exprs,
            if_not_exists,
            or_replace,
            temporary,
            unbounded,
            options: options.unwrap_or_default(),
            constraints,
        }))
    }

    fn expect_statement_end(&self) -> PResult<()> {
        match self.parser.peek_token_ref().token {
            Token::EOF | Token::SemiColon => Ok(()),
            _ => Err(self.expected("end of statement or ;")),
        }
    }

    fn ensure_unset<T>(&self, field: &Option<T>, name: &str) -> PResult<()> {
        if field.is_some() {
            return Err(self.fail(format!("{name} specified more than once")));
        }
        Ok(())
    }

    fn parse_partitions(&mut self) -> PResult<Vec<String>> {
        let mut partitions = Vec::new();
        if !self.parser.consume_token(&Token::LParen) || self.parser.consume_token(&Token::RParen) {
            return Ok(partitions);
        }
        loop {
            if let Token::Word(_) = self.parser.peek_token_ref().token {
                partitions.push(self.parser.parse_identifier()?.to_string());
            } else {
                return Err(self.expected("partition name"));
            }
            let comma = self.parser.consume_token(&Token::Comma);
            if self.parser.consume_token(&Token::RParen) {
                break;
            } else if !comma {
                return Err(self.expected("',' or ')' after partition definition"));
            }
        }
        Ok(partitions)
    }

    fn parse_order_by_exprs(&mut self) -> PResult<Vec<OrderByExpr>> {
        let mut values = Vec::new();
        self.parser.expect_token(&Token::LParen)?;
        loop {
            let expr = self.parser.parse_expr()?;
            let asc = if self.parser.parse_keyword(Keyword::ASC) {
                Some(true)
            } else if self.parser.parse_keyword(Keyword::DESC) {
                Some(false)
            } else {
                None
            };
            let nulls_first = if self
                .parser
                .parse_keywords(&[Keyword::NULLS, Keyword::FIRST])
            {
                Some(true)
            } else if self.parser.parse_keywords(&[Keyword::NULLS, Keyword::LAST]) {
                Some(false)
            } else {
                None
            };
            values.push(OrderByExpr {
                expr,
                options: OrderByOptions { asc, nulls_first },
                with_fill: None,
            });
            if !self.parser.consume_token(&Token::Comma) {
                self.parser.expect_token(&Token::RParen)?;
                return Ok(values);
            }
        }
    }

    fn parse_columns(&mut self) -> PResult<(Vec<ColumnDef>, Vec<TableConstraint>)> {
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        if !self.parser.consume_token(&Token::LParen) || self.parser.consume_token(&Token::RParen) {
            return Ok((columns, constraints));
        }
        loop {
            if let Some(constraint) = self.parser.parse_optional_table_constraint()? {
                constraints.push(constraint);
            } else if let Token::Word(_) = self.parser.peek_token_ref().token {
                columns.push(self.parse_column_def()?);
            } else {
                return Err(self.expected("column name or constraint definition"));
            }
            let comma = self.parser.consume_token(&Token::Comma);
            if self.parser.consume_token(&Token::RParen) {
                break;
            } else if !comma {
                return Err(self.expected("',' or ')' after column definition"));
            }
        }
        Ok((columns, constraints))
    }

    fn parse_column_def(&mut self) -> PResult<ColumnDef> {
        let name = self.parser.parse_identifier()?;
        let data_type = self.parser.parse_data_type()?;
        let mut options = Vec::new();
        loop {
            if self.parser.parse_keyword(Keyword::CONSTRAINT) {
                let name = Some(self.parser.parse_identifier()?);
                match self.parser.parse_optional_column_option()? {
                    Some(option) => options.push(ColumnOptionDef { name, option }),
                    None => return Err(self.expected("constraint details after CONSTRAINT <name>")),
                }
            } else if let Some(option) = self.parser.parse_optional_column_option()? {
                options.push(ColumnOptionDef { name: None, option });
            } else {
                break;
            }
        }
        Ok(ColumnDef {
            name,
            data_type,
            options,
        })
    }

    fn parse_locations(&mut self) -> PResult<Vec<String>> {
        if !self.parser.consume_token(&Token::LParen) {
            return Ok(vec![self.parser.parse_literal_string()?]);
        }
        let mut locations = Vec::new();
        loop {
            locations.push(self.parser.parse_literal_string()?);
            let comma = self.parser.consume_token(&Token::Comma);
            if self.parser.consume_token(&Token::RParen) {
                break;
            } else if !comma {
                return Err(self.expected("',' or ')' after location definition"));
            }
        }
        Ok(locations)
    }

    fn parse_file_format(&mut self) -> PResult<String> {
        match &self.parser.peek_token_ref().token {
            Token::Word(w) => {
                let format = w.value.to_uppercase();
                self.parser.next_token();
                Ok(format)
            }
            _ => Err(self.expected("one of ARROW, PARQUET, NDJSON, or CSV")),
        }
    }

    fn parse_value_options(&mut self) -> PResult<Vec<(String, Value)>> {
        let mut options = Vec::new();
        self.parser.expect_token(&Token::LParen)?;
        loop {
            let key = self.parse_option_key()?;
            let value = self.parse_option_value()?;
            options.push((key, value));
            let comma = self.parser.consume_token(&Token::Comma);
            if self.parser.consume_token(&Token::RParen) {
                break;
            } else if !comma {
                return Err(self.expected("',' or ')' after option definition"));
            }
        }
        Ok(options)
    }

    fn parse_option_key(&mut self) -> PResult<String> {
        let token = self.parser.next_token();
        match token.token {
            Token::Word(Word { value, .. }) => {
                let mut parts = vec![value];
                while self.parser.consume_token(&Token::Period) {
                    match self.parser.next_token().token {
                        Token::Word(Word { value, .. }) => parts.push(value),
                        _ => {
                            self.parser.prev_token();
                            return Err(self.expected("key name"));
                        }
                    }
                }
                Ok(parts.join("."))
            }
            Token::SingleQuotedString(s)
            | Token::DoubleQuotedString(s)
            | Token::EscapedStringLiteral(s) => Ok(s),
            _ => {
                self.parser.prev_token();
                Err(self.expected("key name"))
            }
        }
    }

    fn parse_option_value(&mut self) -> PResult<Value> {
        let token = self.parser.next_token();
        match token.token {
            Token::Word(word) => Ok(Value::SingleQuotedString(word.value)),
            Token::SingleQuotedString(s) => Ok(Value::SingleQuotedString(s)),
            Token::DoubleQuotedString(s) => Ok(Value::DoubleQuotedString(s)),
            Token::EscapedStringLiteral(s) => Ok(Value::EscapedStringLiteral(s)),
            Token::Number(n, l) => Ok(Value::Number(n, l)),
            _ => {
                self.parser.prev_token();
                Err(self.expected("string or numeric value"))
            }
        }
    }
}
