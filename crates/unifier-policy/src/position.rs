//! Where in the checked SQL: a line and column, and the caret snippet that shows it.

use std::fmt;

use serde::Serialize;

/// A 1-based line and column in the checked SQL (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1, in characters.
    pub column: u64,
}

impl Position {
    /// The first character of the input.
    pub const START: Position = Position { line: 1, column: 1 };

    /// A position from sqlparser's location; sqlparser uses 0 for "unknown".
    pub(crate) fn from_location(loc: sqlparser::tokenizer::Location) -> Option<Position> {
        (loc.line > 0 && loc.column > 0).then_some(Position {
            line: loc.line,
            column: loc.column,
        })
    }

    /// The position of the character at byte offset `byte` of `sql` (clamped to the end).
    pub fn at_byte(sql: &str, byte: usize) -> Position {
        let mut byte = byte.min(sql.len());
        while !sql.is_char_boundary(byte) {
            byte -= 1;
        }
        let before = &sql[..byte];
        let line = before.matches('\n').count() as u64 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() as u64 + 1;
        Position { line, column }
    }

    /// The byte offset of this position in `sql` (clamped to the end).
    pub fn byte_offset(&self, sql: &str) -> usize {
        let mut line_start = 0;
        for _ in 1..self.line {
            match sql[line_start..].find('\n') {
                Some(newline) => line_start += newline + 1,
                None => return sql.len(),
            }
        }
        sql[line_start..]
            .char_indices()
            .nth(self.column.saturating_sub(1) as usize)
            .map_or(sql.len(), |(i, _)| line_start + i)
    }

    /// The position just after the last character of `sql`.
    pub fn end_of(sql: &str) -> Position {
        Position::at_byte(sql, sql.len())
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The line of `sql` at `position` with a caret under the column, gutter style, ending
/// with a newline:
///
/// ```text
///   |
/// 1 | SELECT * FROM t WHERE
///   |                      ^
/// ```
pub fn caret_snippet(sql: &str, position: Position) -> String {
    let line_text = sql
        .split('\n')
        .nth(position.line.saturating_sub(1) as usize)
        .unwrap_or("")
        .trim_end_matches('\r');
    // Long lines (minified SQL) are cut to a window around the column.
    const WINDOW: usize = 100;
    let chars: Vec<char> = line_text.chars().collect();
    let col = (position.column.max(1) - 1) as usize;
    let start = col.saturating_sub(WINDOW / 2).min(chars.len());
    let end = (start + WINDOW).min(chars.len());
    let mut shown: String = chars[start..end]
        .iter()
        .map(|c| if *c == '\t' { ' ' } else { *c })
        .collect();
    if start > 0 {
        shown.insert_str(0, "...");
    }
    if end < chars.len() {
        shown.push_str("...");
    }
    let caret_at = col - start + if start > 0 { 3 } else { 0 };
    let number = position.line.to_string();
    let pad = " ".repeat(number.len());
    format!(
        "{pad} |\n{number} | {shown}\n{pad} | {}^\n",
        " ".repeat(caret_at)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_and_positions_agree() {
        let sql = "SELECT 'é',\n  b\r\nFROM t";
        for byte in (0..=sql.len()).filter(|b| sql.is_char_boundary(*b)) {
            let position = Position::at_byte(sql, byte);
            assert_eq!(position.byte_offset(sql), byte, "{position}");
        }
        assert_eq!(Position::at_byte(sql, 15), Position { line: 2, column: 3 });
        assert_eq!(Position::end_of(""), Position::START);
    }

    #[test]
    fn snippets_cut_long_lines_around_the_caret() {
        let line = format!("SELECT {} FROM t", "x, ".repeat(200));
        let snippet = caret_snippet(
            &line,
            Position {
                line: 1,
                column: 300,
            },
        );
        assert!(snippet.ends_with("^\n"), "{snippet:?}");
        let lines: Vec<&str> = snippet.lines().collect();
        assert!(
            lines[1].starts_with("1 | ...") && lines[1].ends_with("..."),
            "{snippet}"
        );
        let caret = lines[2].find('^').unwrap();
        assert_eq!(
            lines[1].chars().nth(caret),
            line.chars().nth(299),
            "{snippet}"
        );
    }
}
