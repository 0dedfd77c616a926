//! DataFusion 55's statement grammar on top of sqlparser, as `DFParser` reads it: the
//! dispatch on the first keyword, `COPY … TO`, `EXPLAIN` with its options, `RESET`
//! (`CREATE EXTERNAL TABLE` is in `external_table.rs`).

use sqlparser::ast::{Ident, ObjectName};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Word};

use crate::ast::{CopySource, CopyTo, Explain, ExplainOptions, PolicyStatement};
use crate::error::ErrorCode;
use crate::failure::{PResult, ParseFailure};
use crate::position::Position;
use crate::utility::{EXPLAIN_FORMATS, utility_bool, utility_text};

pub(crate) struct StatementParser<'p, 'a> {
    pub(crate) parser: &'p mut Parser<'a>,
    pub(crate) supports_utility_options: bool,
    pub(crate) max_depth: usize,
    /// Just after the last token: where "found: EOF" errors point.
    pub(crate) eof: Position,
}

impl StatementParser<'_, '_> {
    pub(crate) fn next_position(&self) -> Position {
        Position::from_location(self.parser.peek_token_ref().span.start).unwrap_or(self.eof)
    }

    pub(crate) fn fail(&self, message: impl Into<String>) -> ParseFailure {
        ParseFailure {
            code: ErrorCode::ParseError,
            message: message.into(),
            position: Position::from_location(self.parser.get_current_token().span.start),
        }
    }

    pub(crate) fn expected(&self, what: &str) -> ParseFailure {
        let found = self.parser.peek_token_ref();
        ParseFailure {
            code: ErrorCode::ParseError,
            message: format!("expected: {what}, found: {}", found.token),
            position: Position::from_location(found.span.start),
        }
    }

    pub(crate) fn parse_statement(&mut self, depth: usize) -> PResult<PolicyStatement> {
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

    pub(crate) fn expect_statement_end(&self) -> PResult<()> {
        match self.parser.peek_token_ref().token {
            Token::EOF | Token::SemiColon => Ok(()),
            _ => Err(self.expected("end of statement or ;")),
        }
    }

    pub(crate) fn ensure_unset<T>(&self, field: &Option<T>, name: &str) -> PResult<()> {
        if field.is_some() {
            return Err(self.fail(format!("{name} specified more than once")));
        }
        Ok(())
    }
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
