//! DataFusion's `CREATE [OR REPLACE] [UNBOUNDED] EXTERNAL TABLE`, clause by clause as
//! `DFParser` reads it, and the option lists it shares with `COPY`.

use sqlparser::ast::{
    ColumnDef, ColumnOptionDef, OrderByExpr, OrderByOptions, TableConstraint, Value,
};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Word};

use crate::ast::{CreateExternalTable, PolicyStatement};
use crate::failure::PResult;
use crate::grammar::StatementParser;

impl StatementParser<'_, '_> {
    pub(crate) fn parse_create_external_table(
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

    pub(crate) fn parse_partitions(&mut self) -> PResult<Vec<String>> {
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

    pub(crate) fn parse_file_format(&mut self) -> PResult<String> {
        match &self.parser.peek_token_ref().token {
            Token::Word(w) => {
                let format = w.value.to_uppercase();
                self.parser.next_token();
                Ok(format)
            }
            _ => Err(self.expected("one of ARROW, PARQUET, NDJSON, or CSV")),
        }
    }

    pub(crate) fn parse_value_options(&mut self) -> PResult<Vec<(String, Value)>> {
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
