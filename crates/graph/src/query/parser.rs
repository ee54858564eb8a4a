//! A hand-written recursive-descent parser for the query language (see docs/query.md).

use std::collections::HashMap;

use super::ast::{
    Aggregate, BinOp, Direction, Expr, Func, MatchClause, NodePattern, Pattern, Quantifier, Query,
    RelPattern, Return, ReturnItem,
};
use super::error::QueryError;
use super::lexer::{Tok, Token, lex};
use super::value::Val;
use crate::graph::{EdgeKind, NodeKind};

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Deepest nesting of expressions and parentheses: deeper input is refused instead of
/// exhausting the stack.
const MAX_DEPTH: usize = 64;
/// Most operators in one query: a long chain (`a AND b AND …`) nests as deep as it is
/// long, and evaluating it recurses that deep.
const MAX_OPERATORS: usize = 256;
/// Most relationships in one pattern, and patterns in one query: matching recurses once
/// per relationship.
const MAX_PATTERN_RELATIONSHIPS: usize = 32;
const MAX_PATTERNS: usize = 32;
/// Hops of `*` and `*n..` when no upper bound is written.
pub const DEFAULT_MAX_HOPS: usize = 5;
/// The largest upper bound a variable-length relationship may ask for.
pub const HARD_MAX_HOPS: usize = 10;

const WRITE_CLAUSES: [&str; 7] = [
    "CREATE", "DELETE", "DETACH", "SET", "MERGE", "REMOVE", "DROP",
];
const UNSUPPORTED_CLAUSES: [&str; 9] = [
    "OPTIONAL", "WITH", "UNWIND", "CALL", "UNION", "LOAD", "FOREACH", "USE", "SHOW",
];

/// Words that end an expression; a variable with such a name needs backquotes.
const RESERVED: [&str; 21] = [
    "MATCH", "WHERE", "RETURN", "ORDER", "BY", "SKIP", "LIMIT", "AS", "AND", "OR", "XOR", "NOT",
    "IN", "CONTAINS", "STARTS", "ENDS", "IS", "DISTINCT", "ASC", "DESC", "WITH",
];

#[derive(Clone, Copy, PartialEq)]
enum VarKind {
    Node,
    Rel,
    Column,
    /// The element variable of `any(x IN …)`.
    Local,
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    operators: usize,
    patterns: usize,
    vars: Vec<String>,
    kinds: Vec<VarKind>,
    by_name: HashMap<String, usize>,
    /// Whether aggregates may appear in the expression being parsed.
    allow_aggregates: bool,
}

/// Parses and checks a query.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(QueryError::syntax(
            text,
            MAX_QUERY_BYTES,
            format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let mut p = Parser {
        text,
        toks: lex(text)?,
        pos: 0,
        depth: 0,
        operators: 0,
        patterns: 0,
        vars: Vec::new(),
        kinds: Vec::new(),
        by_name: HashMap::new(),
        allow_aggregates: false,
    };
    p.query()
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        let i = (self.pos + ahead).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn at(&self) -> usize {
        self.toks[self.pos].at
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].tok.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn err(&self, message: impl Into<String>) -> QueryError {
        QueryError::syntax(self.text, self.at(), message)
    }

    fn expected(&self, what: &str) -> QueryError {
        self.err(format!("expected {what}, found {}", self.peek().describe()))
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), QueryError> {
        if self.eat(&tok) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), QueryError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(kw))
        }
    }

    fn name(&mut self, what: &str) -> Result<String, QueryError> {
        match self.peek().clone() {
            Tok::Ident(s) | Tok::Quoted(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn deeper(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn operator(&mut self) -> Result<(), QueryError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(self.err(format!("more than {MAX_OPERATORS} operators in one query")));
        }
        Ok(())
    }

    fn clause_keyword_check(&self) -> Result<(), QueryError> {
        if let Tok::Ident(word) = self.peek() {
            let upper = word.to_ascii_uppercase();
            if WRITE_CLAUSES.contains(&upper.as_str()) {
                return Err(QueryError::write_clause(self.text, self.at(), &upper));
            }
            if UNSUPPORTED_CLAUSES.contains(&upper.as_str()) {
                return Err(QueryError::semantic(
                    self.text,
                    self.at(),
                    format!("{upper} is not part of this query language (MATCH, WHERE, RETURN)"),
                ));
            }
        }
        Ok(())
    }

    fn query(&mut self) -> Result<Query, QueryError> {
        let mut matches = Vec::new();
        loop {
            self.clause_keyword_check()?;
            if self.eat_kw("MATCH") {
                matches.push(self.match_clause()?);
            } else if self.is_kw("RETURN") {
                break;
            } else if matches.is_empty() {
                return Err(self.expected("MATCH"));
            } else {
                return Err(self.expected("MATCH, WHERE or RETURN"));
            }
        }
        self.bump();
        let ret = self.return_clause()?;
        self.eat(&Tok::Semicolon);
        self.clause_keyword_check()?;
        if *self.peek() != Tok::Eof {
            return Err(self.expected("the end of the query (RETURN is the last clause)"));
        }
        Ok(Query {
            matches,
            ret,
            vars: std::mem::take(&mut self.vars),
        })
    }

    fn match_clause(&mut self) -> Result<MatchClause, QueryError> {
        let mut patterns = vec![self.pattern()?];
        while self.eat(&Tok::Comma) {
            patterns.push(self.pattern()?);
        }
        let mut conditions = Vec::new();
        if self.eat_kw("WHERE") {
            split_and(self.expr()?, &mut conditions);
        }
        Ok(MatchClause {
            patterns,
            conditions,
        })
    }

    fn declare(
        &mut self,
        name: Option<String>,
        kind: VarKind,
        at: usize,
    ) -> Result<usize, QueryError> {
        if let Some(name) = name {
            if let Some(&slot) = self.by_name.get(&name) {
                if self.kinds[slot] != kind {
                    return Err(QueryError::semantic(
                        self.text,
                        at,
                        format!(
                            "'{name}' is already a {} variable",
                            kind_word(self.kinds[slot])
                        ),
                    ));
                }
                return Ok(slot);
            }
            self.by_name.insert(name.clone(), self.vars.len());
            self.vars.push(name);
        } else {
            self.vars.push(String::new());
        }
        self.kinds.push(kind);
        Ok(self.vars.len() - 1)
    }

    fn pattern(&mut self) -> Result<Pattern, QueryError> {
        self.patterns += 1;
        if self.patterns > MAX_PATTERNS {
            return Err(self.err(format!("more than {MAX_PATTERNS} patterns in one query")));
        }
        let mut nodes = vec![self.node_pattern()?];
        let mut rels = Vec::new();
        while matches!(self.peek(), Tok::Minus | Tok::Lt) {
            if rels.len() == MAX_PATTERN_RELATIONSHIPS {
                return Err(self.err(format!(
                    "more than {MAX_PATTERN_RELATIONSHIPS} relationships in one pattern"
                )));
            }
            rels.push(self.rel_pattern()?);
            nodes.push(self.node_pattern()?);
        }
        Ok(Pattern { nodes, rels })
    }

    fn node_pattern(&mut self) -> Result<NodePattern, QueryError> {
        self.expect(Tok::LParen, "'(' to start a node pattern")?;
        let at = self.at();
        let name = match self.peek() {
            Tok::Ident(_) | Tok::Quoted(_) => Some(self.name("a variable")?),
            _ => None,
        };
        let var = self.declare(name, VarKind::Node, at)?;
        let mut kinds = Vec::new();
        // `:A:B` and `:A|B` both mean either label (a node has one kind).
        while self.eat(&Tok::Colon) || (!kinds.is_empty() && self.eat(&Tok::Pipe)) {
            self.eat(&Tok::Colon);
            let at = self.at();
            let label = self.name("a label")?;
            kinds.push(node_kind(&label).ok_or_else(|| {
                QueryError::semantic(
                    self.text,
                    at,
                    format!(
                        "unknown label '{label}'; labels are {}",
                        node_labels().join(", ")
                    ),
                )
            })?);
        }
        let props = self.prop_map()?;
        self.expect(Tok::RParen, "')'")?;
        Ok(NodePattern { var, kinds, props })
    }

    fn prop_map(&mut self) -> Result<Vec<(String, Expr)>, QueryError> {
        let mut props = Vec::new();
        if !self.eat(&Tok::LBrace) {
            return Ok(props);
        }
        if self.eat(&Tok::RBrace) {
            return Ok(props);
        }
        loop {
            let key = self.name("a property name")?;
            self.expect(Tok::Colon, "':'")?;
            props.push((key, self.expr()?));
            if self.eat(&Tok::RBrace) {
                return Ok(props);
            }
            self.expect(Tok::Comma, "',' or '}'")?;
        }
    }

    fn rel_pattern(&mut self) -> Result<RelPattern, QueryError> {
        let incoming = self.eat(&Tok::Lt);
        self.expect(Tok::Minus, "'-'")?;
        let mut var_name = None;
        let mut kinds = Vec::new();
        let mut props = Vec::new();
        let mut hops = None;
        let at = self.at();
        if self.eat(&Tok::LBracket) {
            if matches!(self.peek(), Tok::Ident(_) | Tok::Quoted(_)) {
                var_name = Some(self.name("a variable")?);
            }
            if self.eat(&Tok::Colon) {
                loop {
                    let at = self.at();
                    let t = self.name("a relationship type")?;
                    kinds.push(edge_kind(&t).ok_or_else(|| {
                        QueryError::semantic(
                            self.text,
                            at,
                            format!(
                                "unknown relationship type '{t}'; types are {}",
                                edge_types().join(", ")
                            ),
                        )
                    })?);
                    if !self.eat(&Tok::Pipe) {
                        break;
                    }
                    self.eat(&Tok::Colon);
                }
            }
            if self.eat(&Tok::Star) {
                hops = Some(self.hops()?);
            }
            props = self.prop_map()?;
            self.expect(Tok::RBracket, "']'")?;
        }
        self.expect(Tok::Minus, "'-'")?;
        let outgoing = self.eat(&Tok::Gt);
        let direction = match (incoming, outgoing) {
            (true, true) => {
                return Err(QueryError::syntax(
                    self.text,
                    at,
                    "a relationship cannot point both ways (<-[]->); write -[]- for either direction",
                ));
            }
            (true, false) => Direction::In,
            (false, true) => Direction::Out,
            (false, false) => Direction::Both,
        };
        let var = self.declare(var_name, VarKind::Rel, at)?;
        Ok(RelPattern {
            var,
            kinds,
            props,
            direction,
            hops,
        })
    }

    /// After `*`: `n`, `n..m`, `n..`, `..m` or nothing.
    fn hops(&mut self) -> Result<(usize, usize), QueryError> {
        let at = self.at();
        let int = |p: &mut Self| -> Result<Option<usize>, QueryError> {
            match p.peek().clone() {
                Tok::Int(i) => {
                    p.bump();
                    usize::try_from(i)
                        .map(Some)
                        .map_err(|_| p.err("a hop count cannot be negative"))
                }
                _ => Ok(None),
            }
        };
        let min = int(self)?;
        let (min, max) = if self.eat(&Tok::DotDot) {
            (min.unwrap_or(1), int(self)?.unwrap_or(DEFAULT_MAX_HOPS))
        } else {
            match min {
                Some(n) => (n, n),
                None => (1, DEFAULT_MAX_HOPS),
            }
        };
        if max > HARD_MAX_HOPS {
            return Err(QueryError::semantic(
                self.text,
                at,
                format!("at most {HARD_MAX_HOPS} hops in a variable-length relationship"),
            ));
        }
        if min > max {
            return Err(QueryError::semantic(
                self.text,
                at,
                format!("the hop range {min}..{max} is empty"),
            ));
        }
        Ok((min, max))
    }

    fn return_clause(&mut self) -> Result<Return, QueryError> {
        let distinct = self.eat_kw("DISTINCT");
        let mut items = Vec::new();
        self.allow_aggregates = true;
        loop {
            let start = self.at();
            let expr = self.expr()?;
            let end = self.at();
            if expr.has_aggregate() && !matches!(expr, Expr::Agg { .. }) {
                return Err(QueryError::semantic(
                    self.text,
                    start,
                    "an aggregate (count, collect, …) must be a whole RETURN item",
                ));
            }
            let name = if self.eat_kw("AS") {
                self.name("a column name after AS")?
            } else {
                self.text[start..end].trim().to_string()
            };
            items.push(ReturnItem { expr, name });
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        // Every column gets a slot: ORDER BY reads columns by alias or by their text.
        let first_column = self.vars.len();
        for item in &items {
            self.vars.push(item.name.clone());
            self.kinds.push(VarKind::Column);
        }
        let mut order = Vec::new();
        if self.is_kw("ORDER") {
            self.bump();
            self.expect_kw("BY")?;
            loop {
                let start = self.at();
                // Aliases shadow match variables here.
                let shadowed: Vec<_> = items
                    .iter()
                    .enumerate()
                    .map(|(c, i)| {
                        let old = self.by_name.insert(i.name.clone(), first_column + c);
                        (i.name.clone(), old)
                    })
                    .collect();
                let parsed = self.expr();
                for (name, old) in shadowed.into_iter().rev() {
                    match old {
                        Some(slot) => self.by_name.insert(name, slot),
                        None => self.by_name.remove(&name),
                    };
                }
                let parsed = parsed?;
                let text = self.text[start..self.at()].trim();
                let expr = match items.iter().position(|i| i.name == text) {
                    Some(c) => Expr::Var(first_column + c),
                    None => {
                        let aggregating = items.iter().any(|i| i.expr.has_aggregate());
                        if parsed.has_aggregate()
                            || aggregating && !only_columns(&parsed, first_column)
                        {
                            return Err(QueryError::semantic(
                                self.text,
                                start,
                                "with aggregation, ORDER BY can only use the returned columns \
                                 (name them with AS)",
                            ));
                        }
                        parsed
                    }
                };
                let descending = if self.eat_kw("DESC") || self.eat_kw("DESCENDING") {
                    true
                } else {
                    if !self.eat_kw("ASC") {
                        self.eat_kw("ASCENDING");
                    }
                    false
                };
                order.push((expr, descending));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        self.allow_aggregates = false;
        let skip = if self.eat_kw("SKIP") {
            Some(self.count("SKIP")?)
        } else {
            None
        };
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count("LIMIT")?)
        } else {
            None
        };
        Ok(Return {
            distinct,
            items,
            order,
            skip,
            limit,
        })
    }

    fn count(&mut self, what: &str) -> Result<usize, QueryError> {
        match self.peek().clone() {
            Tok::Int(i) if i >= 0 => {
                self.bump();
                Ok(usize::try_from(i).unwrap_or(usize::MAX))
            }
            _ => Err(self.expected(&format!("a non-negative integer after {what}"))),
        }
    }

    // Expressions, lowest precedence first.

    fn expr(&mut self) -> Result<Expr, QueryError> {
        self.deeper()?;
        let e = self.or_expr();
        self.depth -= 1;
        e
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.xor_expr()?;
        while self.eat_kw("OR") {
            self.operator()?;
            let right = self.xor_expr()?;
            left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn xor_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and_expr()?;
        while self.eat_kw("XOR") {
            self.operator()?;
            let right = self.and_expr()?;
            left = Expr::Binary(BinOp::Xor, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.not_expr()?;
        while self.eat_kw("AND") {
            self.operator()?;
            let right = self.not_expr()?;
            left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, QueryError> {
        if self.eat_kw("NOT") {
            self.operator()?;
            self.deeper()?;
            let inner = self.not_expr();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.additive()?;
        loop {
            let op = match self.peek() {
                Tok::Eq => BinOp::Eq,
                Tok::Ne => BinOp::Ne,
                Tok::Lt => BinOp::Lt,
                Tok::Le => BinOp::Le,
                Tok::Gt => BinOp::Gt,
                Tok::Ge => BinOp::Ge,
                _ if self.is_kw("IN") => BinOp::In,
                _ if self.is_kw("CONTAINS") => BinOp::Contains,
                _ if self.is_kw("STARTS") => BinOp::StartsWith,
                _ if self.is_kw("ENDS") => BinOp::EndsWith,
                _ if self.is_kw("IS") => {
                    self.bump();
                    self.operator()?;
                    let negated = self.eat_kw("NOT");
                    self.expect_kw("NULL")?;
                    left = Expr::IsNull(Box::new(left), negated);
                    continue;
                }
                _ => return Ok(left),
            };
            self.bump();
            self.operator()?;
            if matches!(op, BinOp::StartsWith | BinOp::EndsWith) {
                self.expect_kw("WITH")?;
            }
            let right = self.additive()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            self.operator()?;
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Mod,
                _ => return Ok(left),
            };
            self.bump();
            self.operator()?;
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.eat(&Tok::Minus) {
            self.operator()?;
            self.deeper()?;
            let inner = self.unary();
            self.depth -= 1;
            return Ok(match inner? {
                Expr::Literal(Val::Int(i)) => Expr::Literal(Val::Int(i.wrapping_neg())),
                Expr::Literal(Val::Float(f)) => Expr::Literal(Val::Float(-f)),
                e => Expr::Neg(Box::new(e)),
            });
        }
        let mut e = self.atom()?;
        while self.eat(&Tok::Dot) {
            self.operator()?;
            let prop = self.name("a property name after '.'")?;
            e = Expr::Prop(Box::new(e), prop);
        }
        Ok(e)
    }

    fn atom(&mut self) -> Result<Expr, QueryError> {
        let at = self.at();
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::Literal(Val::Str(s)))
            }
            Tok::Int(i) => {
                self.bump();
                Ok(Expr::Literal(Val::Int(i)))
            }
            Tok::Float(f) => {
                self.bump();
                Ok(Expr::Literal(Val::Float(f)))
            }
            Tok::LParen => {
                self.bump();
                let e = self.expr()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::LBracket => {
                self.bump();
                let mut items = Vec::new();
                if !self.eat(&Tok::RBracket) {
                    loop {
                        items.push(self.expr()?);
                        if self.eat(&Tok::RBracket) {
                            break;
                        }
                        self.expect(Tok::Comma, "',' or ']'")?;
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Ident(word)
                if *self.peek_at(1) == Tok::LParen
                    && matches!(self.peek_at(2), Tok::Ident(_))
                    && matches!(self.peek_at(3), Tok::Ident(k) if k.eq_ignore_ascii_case("IN"))
                    && ["any", "all", "none"]
                        .iter()
                        .any(|q| word.eq_ignore_ascii_case(q)) =>
            {
                self.bump();
                self.bump();
                self.list_predicate(&word)
            }
            Tok::Ident(word) if *self.peek_at(1) == Tok::LParen => {
                self.bump();
                self.bump();
                self.call(&word, at)
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("true") => {
                self.bump();
                Ok(Expr::Literal(Val::Bool(true)))
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("false") => {
                self.bump();
                Ok(Expr::Literal(Val::Bool(false)))
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("null") => {
                self.bump();
                Ok(Expr::Literal(Val::Null))
            }
            Tok::Ident(word) if RESERVED.iter().any(|r| word.eq_ignore_ascii_case(r)) => {
                Err(self.expected("an expression"))
            }
            Tok::Ident(name) | Tok::Quoted(name) => {
                self.bump();
                match self.by_name.get(&name) {
                    Some(&slot) => Ok(Expr::Var(slot)),
                    None => Err(QueryError::semantic(
                        self.text,
                        at,
                        format!("unknown variable '{name}' (variables come from MATCH patterns)"),
                    )),
                }
            }
            _ => Err(self.expected("an expression")),
        }
    }

    /// After `any(`: `x IN list WHERE condition)`.
    fn list_predicate(&mut self, word: &str) -> Result<Expr, QueryError> {
        let quantifier = match word.to_ascii_lowercase().as_str() {
            "any" => Quantifier::Any,
            "all" => Quantifier::All,
            _ => Quantifier::None,
        };
        let name = self.name("a variable")?;
        self.expect_kw("IN")?;
        let list = self.expr()?;
        self.expect_kw("WHERE")?;
        let slot = self.vars.len();
        self.vars.push(name.clone());
        self.kinds.push(VarKind::Local);
        let old = self.by_name.insert(name.clone(), slot);
        let cond = self.expr();
        match old {
            Some(o) => self.by_name.insert(name, o),
            None => self.by_name.remove(&name),
        };
        let cond = cond?;
        self.expect(Tok::RParen, "')'")?;
        Ok(Expr::ListPredicate {
            quantifier,
            slot,
            list: Box::new(list),
            cond: Box::new(cond),
        })
    }

    /// After `name(`.
    fn call(&mut self, name: &str, at: usize) -> Result<Expr, QueryError> {
        let lower = name.to_ascii_lowercase();
        let aggregate = match lower.as_str() {
            "count" => Some(Aggregate::Count),
            "collect" => Some(Aggregate::Collect),
            "min" => Some(Aggregate::Min),
            "max" => Some(Aggregate::Max),
            "sum" => Some(Aggregate::Sum),
            "avg" => Some(Aggregate::Avg),
            _ => None,
        };
        if let Some(func) = aggregate {
            if !self.allow_aggregates {
                return Err(QueryError::semantic(
                    self.text,
                    at,
                    format!("{lower}() is an aggregate: it can only be used in RETURN"),
                ));
            }
            if func == Aggregate::Count && self.eat(&Tok::Star) {
                self.expect(Tok::RParen, "')'")?;
                return Ok(Expr::Agg {
                    func: Aggregate::CountRows,
                    distinct: false,
                    arg: None,
                });
            }
            let distinct = self.eat_kw("DISTINCT");
            // No aggregate inside an aggregate.
            self.allow_aggregates = false;
            let arg = self.expr();
            self.allow_aggregates = true;
            let arg = arg?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(Expr::Agg {
                func,
                distinct,
                arg: Some(Box::new(arg)),
            });
        }
        let (func, arity): (Func, Option<usize>) = match lower.as_str() {
            "size" => (Func::Size, Some(1)),
            "labels" => (Func::Labels, Some(1)),
            "type" => (Func::Type, Some(1)),
            "has_insight" | "hasinsight" => (Func::HasInsight, Some(2)),
            "insight_evidence" => (Func::InsightEvidence, Some(2)),
            "tolower" => (Func::ToLower, Some(1)),
            "toupper" => (Func::ToUpper, Some(1)),
            "coalesce" => (Func::Coalesce, None),
            "length" => (Func::Length, Some(1)),
            _ => {
                return Err(QueryError::semantic(
                    self.text,
                    at,
                    format!(
                        "unknown function '{name}'; functions are count, collect, min, max, sum, \
                         avg, size, length, labels, type, has_insight, insight_evidence, any, all, none, toLower, toUpper, coalesce"
                    ),
                ));
            }
        };
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.expr()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect(Tok::Comma, "',' or ')'")?;
            }
        }
        if let Some(n) = arity
            && args.len() != n
        {
            return Err(QueryError::semantic(
                self.text,
                at,
                format!("{name}() takes {n} argument(s), not {}", args.len()),
            ));
        }
        if func == Func::Coalesce && args.is_empty() {
            return Err(QueryError::semantic(
                self.text,
                at,
                "coalesce() needs an argument",
            ));
        }
        if matches!(func, Func::HasInsight | Func::InsightEvidence)
            && let Expr::Literal(Val::Str(s)) = &args[1]
            && super::props::insight_kind(s).is_none()
        {
            return Err(QueryError::semantic(
                self.text,
                at,
                format!(
                    "unknown insight '{s}'; insights are {}",
                    super::props::insight_names().join(", ")
                ),
            ));
        }
        Ok(Expr::Call(func, args))
    }
}

fn kind_word(kind: VarKind) -> &'static str {
    match kind {
        VarKind::Node => "node",
        VarKind::Rel => "relationship",
        VarKind::Column => "column",
        VarKind::Local => "list element",
    }
}

/// Whether the expression reads only column slots (`>= first_column`).
fn only_columns(expr: &Expr, first_column: usize) -> bool {
    let mut vars = Vec::new();
    expr.vars(&mut vars);
    vars.iter().all(|&v| v >= first_column)
}

fn split_and(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::Binary(BinOp::And, a, b) => {
            split_and(*a, out);
            split_and(*b, out);
        }
        e => out.push(e),
    }
}

/// Names compare without case and underscores: `ServiceAccount`, `SERVICE_ACCOUNT` and
/// `serviceaccount` are one label.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|&c| c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(crate) const NODE_KINDS: [NodeKind; 20] = [
    NodeKind::Internet,
    NodeKind::Cluster,
    NodeKind::Namespace,
    NodeKind::Node,
    NodeKind::Workload,
    NodeKind::Pod,
    NodeKind::Container,
    NodeKind::Image,
    NodeKind::Vulnerability,
    NodeKind::Service,
    NodeKind::Ingress,
    NodeKind::Gateway,
    NodeKind::NetworkPolicy,
    NodeKind::ServiceAccount,
    NodeKind::User,
    NodeKind::Group,
    NodeKind::Role,
    NodeKind::ClusterRole,
    NodeKind::Secret,
    NodeKind::Volume,
];

pub(crate) const EDGE_KINDS: [EdgeKind; 22] = [
    EdgeKind::Contains,
    EdgeKind::RunsOn,
    EdgeKind::Maintains,
    EdgeKind::RoutesTrafficTo,
    EdgeKind::Exposes,
    EdgeKind::UsesImage,
    EdgeKind::HasVulnerability,
    EdgeKind::AuthenticatesAs,
    EdgeKind::BoundTo,
    EdgeKind::Mounts,
    EdgeKind::Selects,
    EdgeKind::CanExecInto,
    EdgeKind::CanPatch,
    EdgeKind::CanCreatePodsIn,
    EdgeKind::CanReadSecretsOf,
    EdgeKind::CanEscapeTo,
    EdgeKind::CanStealTokenOf,
    EdgeKind::CanAssume,
    EdgeKind::CanImpersonate,
    EdgeKind::Exploits,
    EdgeKind::Administers,
    EdgeKind::Controls,
];

/// The label of a node kind: its name in the graph's types (`ServiceAccount`).
pub fn node_label(kind: NodeKind) -> String {
    format!("{kind:?}")
}

/// The relationship type of an edge kind: its name in upper snake case
/// (`CanEscapeTo` → `CAN_ESCAPE_TO`).
pub fn edge_type(kind: EdgeKind) -> String {
    let mut out = String::new();
    for (i, c) in format!("{kind:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn node_labels() -> Vec<String> {
    NODE_KINDS.iter().map(|&k| node_label(k)).collect()
}

fn edge_types() -> Vec<String> {
    EDGE_KINDS.iter().map(|&k| edge_type(k)).collect()
}

fn node_kind(label: &str) -> Option<NodeKind> {
    let folded = fold(label);
    NODE_KINDS
        .iter()
        .copied()
        .find(|&k| fold(&node_label(k)) == folded)
}

fn edge_kind(name: &str) -> Option<EdgeKind> {
    let folded = fold(name);
    EDGE_KINDS
        .iter()
        .copied()
        .find(|&k| fold(&edge_type(k)) == folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fail to compile when a kind is added, so the label and type lists stay complete.
    fn node_position(kind: NodeKind) -> usize {
        use NodeKind::*;
        match kind {
            Internet => 0,
            Cluster => 1,
            Namespace => 2,
            Node => 3,
            Workload => 4,
            Pod => 5,
            Container => 6,
            Image => 7,
            Vulnerability => 8,
            Service => 9,
            Ingress => 10,
            Gateway => 11,
            NetworkPolicy => 12,
            ServiceAccount => 13,
            User => 14,
            Group => 15,
            Role => 16,
            ClusterRole => 17,
            Secret => 18,
            Volume => 19,
        }
    }

    fn edge_position(kind: EdgeKind) -> usize {
        use EdgeKind::*;
        match kind {
            Contains => 0,
            RunsOn => 1,
            Maintains => 2,
            RoutesTrafficTo => 3,
            Exposes => 4,
            UsesImage => 5,
            HasVulnerability => 6,
            AuthenticatesAs => 7,
            BoundTo => 8,
            Mounts => 9,
            Selects => 10,
            CanExecInto => 11,
            CanPatch => 12,
            CanCreatePodsIn => 13,
            CanReadSecretsOf => 14,
            CanEscapeTo => 15,
            CanStealTokenOf => 16,
            CanAssume => 17,
            CanImpersonate => 18,
            Exploits => 19,
            Administers => 20,
            Controls => 21,
        }
    }

    #[test]
    fn every_kind_has_a_name_that_reads_back() {
        for (i, &k) in NODE_KINDS.iter().enumerate() {
            assert_eq!(node_position(k), i);
            assert_eq!(node_kind(&node_label(k)), Some(k));
        }
        for (i, &k) in EDGE_KINDS.iter().enumerate() {
            assert_eq!(edge_position(k), i);
            assert_eq!(edge_kind(&edge_type(k)), Some(k));
        }
        assert_eq!(edge_type(EdgeKind::CanStealTokenOf), "CAN_STEAL_TOKEN_OF");
        assert_eq!(node_kind("service_account"), Some(NodeKind::ServiceAccount));
    }
}
