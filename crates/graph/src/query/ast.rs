//! The parsed query. Variables are resolved to slots at parse time, labels and
//! relationship types to the graph's kinds, so running a query does no name lookups.

use crate::graph::{EdgeKind, NodeKind};

/// A parsed, checked, read-only query.
#[derive(Clone, Debug)]
pub struct Query {
    pub(crate) matches: Vec<MatchClause>,
    pub(crate) ret: Return,
    /// Variable names by slot.
    pub(crate) vars: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct MatchClause {
    pub patterns: Vec<Pattern>,
    /// The WHERE condition split at its top-level ANDs, so each part can be tested as
    /// soon as its variables are bound.
    pub conditions: Vec<Expr>,
}

/// `(a)-[r]->(b)<-[s]-(c)`: nodes[i] and nodes[i+1] are joined by rels[i].
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    pub nodes: Vec<NodePattern>,
    pub rels: Vec<RelPattern>,
}

#[derive(Clone, Debug)]
pub(crate) struct NodePattern {
    pub var: usize,
    /// Any of these kinds (several labels `:A:B` cannot all hold: a node has one kind, so
    /// they are read as alternatives, which is what `(n:Pod:Container)` could mean).
    pub kinds: Vec<NodeKind>,
    pub props: Vec<(String, Expr)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// `-[]->`
    Out,
    /// `<-[]-`
    In,
    /// `-[]-`
    Both,
}

#[derive(Clone, Debug)]
pub(crate) struct RelPattern {
    pub var: usize,
    /// Any of these kinds; empty means any kind.
    pub kinds: Vec<EdgeKind>,
    pub props: Vec<(String, Expr)>,
    pub direction: Direction,
    /// `Some((min, max))` for a variable-length relationship.
    pub hops: Option<(usize, usize)>,
}

#[derive(Clone, Debug)]
pub(crate) struct Return {
    pub distinct: bool,
    pub items: Vec<ReturnItem>,
    pub order: Vec<(Expr, bool)>,
    pub skip: Option<usize>,
    pub limit: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct ReturnItem {
    pub expr: Expr,
    /// Column name: the alias, or the expression's text.
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    Xor,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Contains,
    StartsWith,
    EndsWith,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    /// `size(list or string)`
    Size,
    /// `labels(n)`: the node's label, as a one-element list.
    Labels,
    /// `type(r)`: the relationship type.
    Type,
    /// `has_insight(n, 'privilegedContainer')`
    HasInsight,
    /// `insight_evidence(n, 'canReadSecrets')`: the insight's evidence lines.
    InsightEvidence,
    ToLower,
    ToUpper,
    /// `coalesce(a, b, …)`: the first non-null.
    Coalesce,
    /// `length(r)`: hops of a variable-length relationship (its list of edges).
    Length,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quantifier {
    Any,
    All,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aggregate {
    /// `count(*)`
    CountRows,
    Count,
    Collect,
    Min,
    Max,
    Sum,
    Avg,
}

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Literal(super::value::Val),
    List(Vec<Expr>),
    Var(usize),
    Prop(Box<Expr>, String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    IsNull(Box<Expr>, bool),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    /// `any(x IN list WHERE cond)` (and `all`, `none`): `slot` holds each element.
    ListPredicate {
        quantifier: Quantifier,
        slot: usize,
        list: Box<Expr>,
        cond: Box<Expr>,
    },
    /// Only in RETURN (and ORDER BY of an aggregating RETURN).
    Agg {
        func: Aggregate,
        distinct: bool,
        arg: Option<Box<Expr>>,
    },
}

impl Expr {
    /// Whether an aggregate occurs anywhere inside.
    pub fn has_aggregate(&self) -> bool {
        match self {
            Expr::Agg { .. } => true,
            Expr::Literal(_) | Expr::Var(_) => false,
            Expr::List(items) | Expr::Call(_, items) => items.iter().any(Expr::has_aggregate),
            Expr::Prop(e, _) | Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) => {
                e.has_aggregate()
            }
            Expr::Binary(_, a, b) => a.has_aggregate() || b.has_aggregate(),
            Expr::ListPredicate { list, cond, .. } => list.has_aggregate() || cond.has_aggregate(),
        }
    }

    /// Adds the variable slots the expression reads.
    pub fn vars(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Var(v) => out.push(*v),
            Expr::Literal(_) => {}
            Expr::List(items) | Expr::Call(_, items) => items.iter().for_each(|e| e.vars(out)),
            Expr::Prop(e, _) | Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) => e.vars(out),
            Expr::Binary(_, a, b) => {
                a.vars(out);
                b.vars(out);
            }
            Expr::Agg { arg, .. } => {
                if let Some(a) = arg {
                    a.vars(out);
                }
            }
            Expr::ListPredicate {
                slot, list, cond, ..
            } => {
                list.vars(out);
                // The element variable is bound by the predicate itself.
                let mut inner = Vec::new();
                cond.vars(&mut inner);
                out.extend(inner.into_iter().filter(|v| v != slot));
            }
        }
    }
}
