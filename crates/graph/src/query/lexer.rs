//! Tokens of the query language, each with the byte offset where it starts.

use super::error::QueryError;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A name: variable, label, property, function or keyword (keywords are recognised
    /// by the parser, case-insensitively, so `match` and `MATCH` are the same).
    Ident(String),
    /// A name in backquotes: never a keyword.
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Colon,
    Comma,
    Dot,
    DotDot,
    Pipe,
    Star,
    Minus,
    Plus,
    Slash,
    Percent,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `<-` is lexed as `Lt` `Minus`; `->` as `Minus` `Gt`: the parser joins them.
    Semicolon,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Quoted(s) => format!("`{s}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(_) | Tok::Float(_) => "a number".into(),
            Tok::Eof => "the end of the query".into(),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Colon => ":",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::Pipe => "|",
            Tok::Star => "*",
            Tok::Minus => "-",
            Tok::Plus => "+",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Eq => "=",
            Tok::Ne => "<>",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Semicolon => ";",
            _ => "?",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset of the first character.
    pub at: usize,
}

/// Splits `text` into tokens; the last one is always `Eof`.
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, QueryError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Comments: `// …` to the end of the line, `/* … */`.
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            match text[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 2,
                None => return Err(QueryError::syntax(text, start, "unterminated comment")),
            }
            continue;
        }
        let two = |b: u8| bytes.get(i + 1) == Some(&b);
        let (tok, len) = match c {
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b'{' => (Tok::LBrace, 1),
            b'}' => (Tok::RBrace, 1),
            b':' => (Tok::Colon, 1),
            b',' => (Tok::Comma, 1),
            b'|' => (Tok::Pipe, 1),
            b'*' => (Tok::Star, 1),
            b'-' => (Tok::Minus, 1),
            b'+' => (Tok::Plus, 1),
            b'/' => (Tok::Slash, 1),
            b'%' => (Tok::Percent, 1),
            b';' => (Tok::Semicolon, 1),
            b'=' => (Tok::Eq, 1),
            b'.' if two(b'.') => (Tok::DotDot, 2),
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => (Tok::Dot, 1),
            b'<' if two(b'>') => (Tok::Ne, 2),
            b'<' if two(b'=') => (Tok::Le, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if two(b'=') => (Tok::Ge, 2),
            b'>' => (Tok::Gt, 1),
            b'!' if two(b'=') => (Tok::Ne, 2),
            b'\'' | b'"' => {
                let (s, len) = string(text, i)?;
                (Tok::Str(s), len)
            }
            b'`' => match text[i + 1..].find('`') {
                Some(end) => (Tok::Quoted(text[i + 1..i + 1 + end].to_string()), end + 2),
                None => return Err(QueryError::syntax(text, start, "unterminated `name`")),
            },
            b'0'..=b'9' | b'.' => number(text, i)?,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                (Tok::Ident(text[i..j].to_string()), j - i)
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(QueryError::syntax(
                    text,
                    start,
                    format!("unexpected character '{ch}'"),
                ));
            }
        };
        out.push(Token { tok, at: start });
        i += len;
    }
    out.push(Token {
        tok: Tok::Eof,
        at: text.len(),
    });
    Ok(out)
}

/// A quoted string starting at `start`; returns its value and length in bytes.
fn string(text: &str, start: usize) -> Result<(String, usize), QueryError> {
    let quote = text.as_bytes()[start] as char;
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((offset, ch)) = chars.next() {
        match ch {
            c if c == quote => return Ok((value, offset + 2)),
            '\\' => {
                let Some((_, escaped)) = chars.next() else {
                    break;
                };
                value.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' => '\\',
                    '\'' => '\'',
                    '"' => '"',
                    other => {
                        return Err(QueryError::syntax(
                            text,
                            start + 1 + offset,
                            format!("unknown escape '\\{other}' in a string"),
                        ));
                    }
                });
            }
            c => value.push(c),
        }
    }
    Err(QueryError::syntax(text, start, "unterminated string"))
}

fn number(text: &str, start: usize) -> Result<(Tok, usize), QueryError> {
    let bytes = text.as_bytes();
    let mut j = start;
    let mut float = false;
    while j < bytes.len() {
        match bytes[j] {
            b'0'..=b'9' => j += 1,
            // `1..4` is a range, not the float `1.`.
            b'.' if !float && bytes.get(j + 1).is_some_and(u8::is_ascii_digit) => {
                float = true;
                j += 1;
            }
            b'e' | b'E' if j > start => {
                float = true;
                j += 1;
                if matches!(bytes.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
            }
            _ => break,
        }
    }
    let s = &text[start..j];
    let tok = if float {
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Tok::Float)
    } else {
        s.parse::<i64>().ok().map(Tok::Int)
    };
    match tok {
        Some(t) => Ok((t, j - start)),
        None => Err(QueryError::syntax(
            text,
            start,
            format!("'{s}' is not a number this language can hold"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn ranges_arrows_and_numbers() {
        assert_eq!(
            toks("*1..4]->"),
            [
                Tok::Star,
                Tok::Int(1),
                Tok::DotDot,
                Tok::Int(4),
                Tok::RBracket,
                Tok::Minus,
                Tok::Gt,
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("0.5 <-"),
            [Tok::Float(0.5), Tok::Lt, Tok::Minus, Tok::Eof]
        );
        assert_eq!(
            toks("n.name"),
            [
                Tok::Ident("n".into()),
                Tok::Dot,
                Tok::Ident("name".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn strings_escapes_and_comments() {
        assert_eq!(
            toks(r#"'it\'s' "a\"b" // rest"#),
            [Tok::Str("it's".into()), Tok::Str("a\"b".into()), Tok::Eof]
        );
        assert_eq!(
            toks("/* x */ `my var`"),
            [Tok::Quoted("my var".into()), Tok::Eof]
        );
        let e = lex("'open").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(lex("99999999999999999999").is_err());
        assert!(lex("x § y").unwrap_err().message.contains("'§'"));
    }
}
