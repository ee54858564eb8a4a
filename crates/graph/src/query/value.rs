//! Values a query computes with: JSON-like scalars and lists, plus references to the
//! graph's nodes and edges.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use crate::graph::{EdgeId, NodeId};

#[derive(Clone, Debug)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Val>),
    Node(NodeId),
    Edge(EdgeId),
}

impl Val {
    pub fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => n.as_f64().map_or(Val::Null, Val::Float),
            },
            Value::String(s) => Val::Str(s.clone()),
            Value::Array(items) => Val::List(items.iter().map(Val::from_json).collect()),
            // Objects do not occur in node properties; kept as their JSON text.
            Value::Object(_) => Val::Str(v.to_string()),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Rank of the type in the total order used by ORDER BY, DISTINCT and grouping.
    fn type_rank(&self) -> u8 {
        match self {
            Val::Node(_) => 0,
            Val::Edge(_) => 1,
            Val::List(_) => 2,
            Val::Str(_) => 3,
            Val::Bool(_) => 4,
            Val::Int(_) | Val::Float(_) => 5,
            Val::Null => 6,
        }
    }

    /// A total order: values of one type by value (numbers across Int and Float), types
    /// in a fixed order, null last (as Cypher sorts ascending).
    pub fn total_cmp(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            (a @ (Val::Int(_) | Val::Float(_)), b @ (Val::Int(_) | Val::Float(_))) => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                x.total_cmp(&y)
            }
            (Val::Str(a), Val::Str(b)) => a.cmp(b),
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (Val::Node(a), Val::Node(b)) => a.cmp(b),
            (Val::Edge(a), Val::Edge(b)) => a.cmp(b),
            (Val::List(a), Val::List(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = x.total_cmp(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (a, b) => a.type_rank().cmp(&b.type_rank()),
        }
    }

    /// Cypher equality: `None` when either side is null (unknown).
    pub fn equals(&self, other: &Val) -> Option<bool> {
        match (self, other) {
            (Val::Null, _) | (_, Val::Null) => None,
            (Val::List(a), Val::List(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                let mut unknown = false;
                for (x, y) in a.iter().zip(b) {
                    match x.equals(y) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            (a @ (Val::Int(_) | Val::Float(_)), b @ (Val::Int(_) | Val::Float(_))) => {
                Some(a.total_cmp(b) == Ordering::Equal)
            }
            (a, b) if a.type_rank() != b.type_rank() => Some(false),
            (a, b) => Some(a.total_cmp(b) == Ordering::Equal),
        }
    }

    /// Cypher ordering comparison: `None` for null or for values of different types.
    pub fn compare(&self, other: &Val) -> Option<Ordering> {
        match (self, other) {
            (Val::Null, _) | (_, Val::Null) => None,
            (a @ (Val::Int(_) | Val::Float(_)), b @ (Val::Int(_) | Val::Float(_))) => {
                Some(a.total_cmp(b))
            }
            (Val::Str(_), Val::Str(_)) | (Val::Bool(_), Val::Bool(_)) => {
                Some(self.total_cmp(other))
            }
            (Val::List(_), Val::List(_)) => Some(self.total_cmp(other)),
            _ => None,
        }
    }
}

/// Equality and hashing by the total order, for DISTINCT and grouping (null equals null
/// there, as Cypher's DISTINCT treats it).
impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}
impl Eq for Val {}

impl Hash for Val {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Val::Null => 0u8.hash(state),
            Val::Bool(b) => b.hash(state),
            // Int and Float that compare equal must hash equal.
            Val::Int(i) => hash_number(*i as f64, state),
            Val::Float(f) => hash_number(*f, state),
            Val::Str(s) => s.hash(state),
            Val::List(items) => {
                items.len().hash(state);
                items.iter().for_each(|i| i.hash(state));
            }
            Val::Node(n) => n.hash(state),
            Val::Edge(e) => e.hash(state),
        }
    }
}

fn hash_number<H: Hasher>(f: f64, state: &mut H) {
    let f = if f == 0.0 { 0.0 } else { f };
    f.to_bits().hash(state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_across_int_and_float_and_null_is_unknown() {
        assert_eq!(Val::Int(2).equals(&Val::Float(2.0)), Some(true));
        assert_eq!(Val::Int(2), Val::Float(2.0));
        assert_eq!(Val::Null.equals(&Val::Null), None);
        assert_eq!(Val::Str("a".into()).equals(&Val::Int(1)), Some(false));
        assert_eq!(Val::Str("a".into()).compare(&Val::Int(1)), None);
        assert_eq!(Val::Float(0.5).compare(&Val::Int(1)), Some(Ordering::Less));
        let mut v = [
            Val::Null,
            Val::Int(3),
            Val::Str("x".into()),
            Val::Float(1.5),
        ];
        v.sort_by(Val::total_cmp);
        assert!(matches!(v[3], Val::Null));
    }
}
