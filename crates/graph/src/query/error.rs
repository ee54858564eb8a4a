//! Query errors: where in the text (line, column, the line with a caret under the spot)
//! or which bound was hit.

use std::fmt;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The text is not a query of this language.
    Syntax,
    /// A clause that writes (CREATE, SET, …): queries are read-only.
    WriteClause,
    /// Well-formed but meaningless: an unknown label, relationship type, variable or
    /// function, a hop bound above the cap.
    Semantic,
    /// The query ran past its deadline.
    Timeout,
    /// The query matched more intermediate rows than it may hold in memory.
    TooManyMatches,
}

/// An error with, for errors in the text, its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub kind: QueryErrorKind,
    pub message: String,
    /// 1-based line; 0 when the error has no position (time and size bounds).
    pub line: usize,
    /// 1-based column in characters; 0 when the error has no position.
    pub column: usize,
    /// The offending line and a caret under the column.
    pub excerpt: String,
}

impl QueryError {
    fn at(kind: QueryErrorKind, text: &str, offset: usize, message: String) -> QueryError {
        let offset = offset.min(text.len());
        let offset = (0..=offset)
            .rev()
            .find(|&o| text.is_char_boundary(o))
            .unwrap_or(0);
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let line = text[..offset].matches('\n').count() + 1;
        let column = text[line_start..offset].chars().count() + 1;
        let source_line: String = text[line_start..line_end]
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let excerpt = format!("{source_line}\n{}^", " ".repeat(column - 1));
        QueryError {
            kind,
            message,
            line,
            column,
            excerpt,
        }
    }

    pub(crate) fn syntax(text: &str, offset: usize, message: impl Into<String>) -> QueryError {
        QueryError::at(QueryErrorKind::Syntax, text, offset, message.into())
    }

    pub(crate) fn semantic(text: &str, offset: usize, message: impl Into<String>) -> QueryError {
        QueryError::at(QueryErrorKind::Semantic, text, offset, message.into())
    }

    pub(crate) fn write_clause(text: &str, offset: usize, clause: &str) -> QueryError {
        QueryError::at(
            QueryErrorKind::WriteClause,
            text,
            offset,
            format!("{clause} writes to the graph; queries are read-only (MATCH … RETURN …)"),
        )
    }

    fn unpositioned(kind: QueryErrorKind, message: String) -> QueryError {
        QueryError {
            kind,
            message,
            line: 0,
            column: 0,
            excerpt: String::new(),
        }
    }

    pub(crate) fn timeout(limit: Duration) -> QueryError {
        QueryError::unpositioned(
            QueryErrorKind::Timeout,
            format!(
                "the query ran longer than its {:.1} s deadline; narrow the MATCH (labels, \
                 properties, fewer hops) or raise the timeout",
                limit.as_secs_f64()
            ),
        )
    }

    pub(crate) fn too_many_matches(limit: usize) -> QueryError {
        QueryError::unpositioned(
            QueryErrorKind::TooManyMatches,
            format!(
                "the query matched more than {limit} intermediate rows before RETURN; narrow \
                 the MATCH or the WHERE"
            ),
        )
    }

    /// Whether the error is in the query text (as opposed to a bound hit while running).
    pub fn is_invalid_query(&self) -> bool {
        matches!(
            self.kind,
            QueryErrorKind::Syntax | QueryErrorKind::WriteClause | QueryErrorKind::Semantic
        )
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return f.write_str(&self.message);
        }
        write!(
            f,
            "{} at {}:{}\n{}",
            self.message, self.line, self.column, self.excerpt
        )
    }
}

impl std::error::Error for QueryError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let e = QueryError::syntax("MATCH (n)\nRETURN é x", 20, "expected ','");
        assert_eq!((e.line, e.column), (2, 10));
        assert_eq!(
            e.to_string(),
            "expected ',' at 2:10\nRETURN é x\n         ^"
        );
        // An offset inside a multi-byte character or past the end never panics.
        let e = QueryError::syntax("é", 1, "x");
        assert_eq!((e.line, e.column), (1, 1));
        let e = QueryError::syntax("ab", 99, "x");
        assert_eq!((e.line, e.column), (1, 3));
    }
}
