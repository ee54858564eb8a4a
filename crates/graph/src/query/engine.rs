//! Running a parsed query: pattern matching by backtracking from the most selective node
//! of each pattern, WHERE parts tested as soon as their variables are bound, then the
//! RETURN projection (grouping, DISTINCT, ORDER BY, SKIP, LIMIT). Every run is bounded by
//! a deadline and by the number of rows it may hold.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crowsnest_model::finding::{Finding, FixStatus};
use serde::Serialize;
use serde_json::Value;

use super::ast::{
    Aggregate, BinOp, Direction, Expr, Func, MatchClause, NodePattern, Quantifier, Query,
    RelPattern,
};
use super::error::QueryError;
use super::parser::{edge_type, node_label};
use super::props::insight_kind;
use super::value::Val;
use crate::findings::ImageFindings;
use crate::graph::{EdgeId, EdgeKind, NodeId, NodeKind, SecurityGraph};
use crate::insights::InsightKind;

/// Bounds of one query run.
#[derive(Clone, Debug)]
pub struct QueryOptions {
    /// Past this the query stops with a [`QueryErrorKind::Timeout`](super::QueryErrorKind)
    /// error.
    pub timeout: Duration,
    /// Most rows returned; more are cut off and [`QueryResult::truncated`] is set.
    pub max_rows: usize,
    /// Most rows a MATCH may produce before RETURN (what grouping, DISTINCT and ORDER BY
    /// must hold in memory); more is a [`QueryErrorKind::TooManyMatches`](super::QueryErrorKind)
    /// error.
    pub max_matches: usize,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            timeout: Duration::from_secs(5),
            max_rows: 10_000,
            max_matches: 1_000_000,
        }
    }
}

/// The rows of a query. Nodes are JSON objects `{key, label, name, namespace}`,
/// relationships `{type, from, to, rule}`, variable-length relationships lists of those.
#[derive(Clone, Debug, Serialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// More rows than `max_rows` matched; the first `max_rows` are here.
    pub truncated: bool,
}

impl QueryResult {
    /// Each cell as a line of text: a node as its key, a relationship as
    /// `from -[TYPE]-> to`, a list as `[a, b]`.
    pub fn text_rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| r.iter().map(cell_text).collect())
            .collect()
    }
}

/// A cell as text (see [`QueryResult::text_rows`]).
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(cell_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => match (map.get("key"), map.get("type")) {
            (Some(Value::String(k)), _) => k.clone(),
            (_, Some(Value::String(t))) => format!(
                "{} -[{t}]-> {}",
                map.get("from").map(cell_text).unwrap_or_default(),
                map.get("to").map(cell_text).unwrap_or_default()
            ),
            _ => v.to_string(),
        },
        other => other.to_string(),
    }
}

/// A graph prepared for queries: nodes by label, insights by node, and (optionally) the
/// image findings behind the vulnerability edges. Prepare once, run many queries.
pub struct QueryEngine<'g> {
    pub(crate) graph: &'g SecurityGraph,
    by_kind: HashMap<NodeKind, Vec<NodeId>>,
    /// Per node: its insight kinds, and the index of each in `graph.insights`.
    insights: HashMap<NodeId, Vec<(InsightKind, usize)>>,
    edge_findings: HashMap<EdgeId, &'g Finding>,
    /// Per vulnerability node: one of its findings, and whether any image can fix it.
    vuln_findings: HashMap<NodeId, (&'g Finding, bool)>,
}

impl<'g> QueryEngine<'g> {
    pub fn new(graph: &'g SecurityGraph) -> QueryEngine<'g> {
        let mut by_kind: HashMap<NodeKind, Vec<NodeId>> = HashMap::new();
        for (id, node) in graph.nodes.iter().enumerate() {
            by_kind.entry(node.kind).or_default().push(id);
        }
        let mut insights: HashMap<NodeId, Vec<(InsightKind, usize)>> = HashMap::new();
        for (index, i) in graph.insights.iter().enumerate() {
            if i.node < graph.nodes.len() {
                insights.entry(i.node).or_default().push((i.kind, index));
            }
        }
        QueryEngine {
            graph,
            by_kind,
            insights,
            edge_findings: HashMap::new(),
            vuln_findings: HashMap::new(),
        }
    }

    /// Joins the findings the graph was built with, for the finding properties (fix
    /// status, EPSS, CVSS score).
    pub fn with_findings(mut self, findings: &'g ImageFindings) -> QueryEngine<'g> {
        let images = self
            .by_kind
            .get(&NodeKind::Image)
            .cloned()
            .unwrap_or_default();
        for image in images {
            let node = self.graph.node(image);
            let digest = node.props.get("digest").and_then(Value::as_str);
            let Some(found) = findings.lookup(digest, &node.name) else {
                continue;
            };
            for (eid, e) in self.graph.outgoing(image) {
                if e.kind != EdgeKind::HasVulnerability {
                    continue;
                }
                let vuln = self.graph.node(e.to);
                if let Some(f) = found.iter().find(|f| f.id == vuln.name) {
                    self.edge_findings.insert(eid, f);
                    let fixable = f.fix_status == FixStatus::FixAvailable;
                    let entry = self.vuln_findings.entry(e.to).or_insert((f, false));
                    entry.1 |= fixable;
                }
            }
        }
        self
    }

    /// The node's insight kinds, each once, in the order the graph found them.
    pub(crate) fn insights_of(&self, id: NodeId) -> Vec<InsightKind> {
        let mut kinds: Vec<InsightKind> = Vec::new();
        for (kind, _) in self.insights.get(&id).into_iter().flatten() {
            if !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
        kinds
    }

    fn has_insight(&self, id: NodeId, kind: InsightKind) -> bool {
        self.insights
            .get(&id)
            .into_iter()
            .flatten()
            .any(|(k, _)| *k == kind)
    }

    fn insight_evidence(&self, id: NodeId, kind: InsightKind) -> Vec<String> {
        self.insights
            .get(&id)
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k == kind)
            .flat_map(|(_, i)| self.graph.insights[*i].evidence.iter().cloned())
            .collect()
    }

    pub(crate) fn edge_finding(&self, id: EdgeId) -> Option<&'g Finding> {
        self.edge_findings.get(&id).copied()
    }

    pub(crate) fn vulnerability_finding(&self, id: NodeId) -> Option<&'g Finding> {
        self.vuln_findings.get(&id).map(|(f, _)| *f)
    }

    pub(crate) fn vulnerability_fixable(&self, id: NodeId) -> bool {
        self.vuln_findings
            .get(&id)
            .is_some_and(|(_, fixable)| *fixable)
    }

    /// Parses and runs `text`.
    pub fn query(&self, text: &str, options: &QueryOptions) -> Result<QueryResult, QueryError> {
        let query = super::parse(text)?;
        self.run(&query, options)
    }

    /// Runs a parsed query.
    pub fn run(&self, query: &Query, options: &QueryOptions) -> Result<QueryResult, QueryError> {
        let mut run = Run {
            eng: self,
            options,
            deadline: Instant::now() + options.timeout,
            steps: 0,
        };
        run.execute(query)
    }

    fn node_json(&self, id: NodeId) -> Value {
        let n = self.graph.node(id);
        let mut map = serde_json::Map::new();
        map.insert("key".into(), n.key.clone().into());
        map.insert("label".into(), node_label(n.kind).into());
        map.insert("name".into(), n.name.clone().into());
        if let Some(ns) = &n.namespace {
            map.insert("namespace".into(), ns.clone().into());
        }
        Value::Object(map)
    }

    fn edge_json(&self, id: EdgeId) -> Value {
        let e = self.graph.edge(id);
        let mut map = serde_json::Map::new();
        map.insert("type".into(), edge_type(e.kind).into());
        map.insert("from".into(), self.graph.node(e.from).key.clone().into());
        map.insert("to".into(), self.graph.node(e.to).key.clone().into());
        if let Some(r) = e.rule {
            map.insert("rule".into(), r.as_str().into());
        }
        Value::Object(map)
    }

    fn to_json(&self, v: &Val) -> Value {
        match v {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::from(*i),
            Val::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Str(s) => Value::String(s.clone()),
            Val::List(items) => Value::Array(items.iter().map(|i| self.to_json(i)).collect()),
            Val::Node(n) => self.node_json(*n),
            Val::Edge(e) => self.edge_json(*e),
        }
    }
}

/// Whether matching goes on.
#[derive(PartialEq)]
enum Flow {
    More,
    Enough,
}

/// One binding per variable slot; `Null` while unbound (a matched variable is never null).
type Row = Vec<Val>;

/// A RETURN row and the binding it was computed from (ORDER BY reads both).
type Projected = (Vec<Val>, Row);

/// One step of a pattern walk: relationship `rel` from node `from` to node `to` of the
/// pattern, walked against its arrow when `reversed`.
#[derive(Clone, Copy)]
struct Step {
    rel: usize,
    from: usize,
    to: usize,
    reversed: bool,
}

struct Run<'r, 'g> {
    eng: &'r QueryEngine<'g>,
    options: &'r QueryOptions,
    deadline: Instant,
    steps: u64,
}

/// The state of matching one MATCH clause.
struct ClauseMatch<'q> {
    clause: &'q MatchClause,
    /// Variables each condition reads.
    condition_vars: Vec<Vec<usize>>,
    /// Edges used so far (a relationship is matched at most once per MATCH clause).
    used: Vec<EdgeId>,
    out: Vec<Row>,
    /// Stop after this many rows (streaming RETURN), or hold at most `max_matches`.
    want: Option<usize>,
}

impl Run<'_, '_> {
    fn tick(&mut self) -> Result<(), QueryError> {
        self.steps += 1;
        if self.steps.is_multiple_of(256) && Instant::now() > self.deadline {
            return Err(QueryError::timeout(self.options.timeout));
        }
        Ok(())
    }

    fn execute(&mut self, q: &Query) -> Result<QueryResult, QueryError> {
        let ret = &q.ret;
        let aggregating = ret.items.iter().any(|i| i.expr.has_aggregate());
        let streaming = !aggregating && !ret.distinct && ret.order.is_empty();
        let mut rows: Vec<Row> = vec![vec![Val::Null; q.vars.len()]];
        for (i, clause) in q.matches.iter().enumerate() {
            let last = i + 1 == q.matches.len();
            let want = (last && streaming).then(|| {
                ret.skip.unwrap_or(0).saturating_add(
                    ret.limit
                        .unwrap_or(usize::MAX)
                        .min(self.options.max_rows.saturating_add(1)),
                )
            });
            let mut m = ClauseMatch {
                clause,
                condition_vars: clause
                    .conditions
                    .iter()
                    .map(|c| {
                        let mut v = Vec::new();
                        c.vars(&mut v);
                        v
                    })
                    .collect(),
                used: Vec::new(),
                out: Vec::new(),
                want,
            };
            for mut row in rows {
                if self.conditions(&m, &row, None)?
                    && self.patterns(&mut m, 0, &mut row)? == Flow::Enough
                {
                    break;
                }
            }
            rows = m.out;
        }
        self.project(q, rows)
    }

    /// Tests the conditions that become fully bound: those reading `just_bound` (or, with
    /// `None`, those whose variables were all bound before the clause).
    fn conditions(
        &mut self,
        m: &ClauseMatch,
        row: &Row,
        just_bound: Option<&[usize]>,
    ) -> Result<bool, QueryError> {
        for (cond, vars) in m.clause.conditions.iter().zip(&m.condition_vars) {
            let ready = match just_bound {
                Some(bound) => {
                    vars.iter().any(|v| bound.contains(v))
                        && vars.iter().all(|&v| !matches!(row[v], Val::Null))
                }
                None => vars.iter().all(|&v| !matches!(row[v], Val::Null)),
            };
            if ready && truth(&self.eval(cond, row)) != Some(true) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn patterns(
        &mut self,
        m: &mut ClauseMatch,
        index: usize,
        row: &mut Row,
    ) -> Result<Flow, QueryError> {
        self.tick()?;
        let Some(pattern) = m.clause.patterns.get(index) else {
            m.out.push(row.clone());
            if let Some(want) = m.want {
                if m.out.len() >= want {
                    return Ok(Flow::Enough);
                }
            } else if m.out.len() > self.options.max_matches {
                return Err(QueryError::too_many_matches(self.options.max_matches));
            }
            return Ok(Flow::More);
        };
        let anchor = self.anchor(&pattern.nodes, row);
        let mut steps = Vec::new();
        for r in anchor..pattern.rels.len() {
            steps.push(Step {
                rel: r,
                from: r,
                to: r + 1,
                reversed: false,
            });
        }
        for r in (0..anchor).rev() {
            steps.push(Step {
                rel: r,
                from: r + 1,
                to: r,
                reversed: true,
            });
        }
        let np = &pattern.nodes[anchor];
        let candidates: Vec<NodeId> = match &row[np.var] {
            Val::Node(id) => vec![*id],
            _ => self.candidates(np, row),
        };
        for id in candidates {
            if self.bind_node(np, id, row)? {
                let newly = matches!(row[np.var], Val::Null);
                if newly {
                    row[np.var] = Val::Node(id);
                }
                let flow = if !newly || self.conditions(m, row, Some(&[np.var]))? {
                    self.walk(m, index, &steps, 0, row)?
                } else {
                    Flow::More
                };
                if newly {
                    row[np.var] = Val::Null;
                }
                if flow == Flow::Enough {
                    return Ok(flow);
                }
            }
        }
        Ok(Flow::More)
    }

    /// The node to start a pattern from: a bound one, else the one with the fewest
    /// candidates.
    fn anchor(&self, nodes: &[NodePattern], row: &Row) -> usize {
        if let Some(i) = nodes
            .iter()
            .position(|n| matches!(row[n.var], Val::Node(_)))
        {
            return i;
        }
        let cost = |n: &NodePattern| -> usize {
            if n.props
                .iter()
                .any(|(k, e)| k == "key" && matches!(e, Expr::Literal(_)))
            {
                return 1;
            }
            let base = if n.kinds.is_empty() {
                self.eng.graph.nodes.len()
            } else {
                n.kinds
                    .iter()
                    .map(|k| self.eng.by_kind.get(k).map_or(0, Vec::len))
                    .sum()
            };
            // A property map usually narrows a label a lot.
            if n.props.is_empty() {
                base
            } else {
                base / 8 + 1
            }
        };
        (0..nodes.len())
            .min_by_key(|&i| cost(&nodes[i]))
            .unwrap_or(0)
    }

    fn candidates(&self, np: &NodePattern, row: &Row) -> Vec<NodeId> {
        if let Some((_, e)) = np.props.iter().find(|(k, _)| k == "key")
            && let Val::Str(key) = self.eval(e, row)
        {
            return self.eng.graph.find(&key).into_iter().collect();
        }
        if np.kinds.is_empty() {
            return (0..self.eng.graph.nodes.len()).collect();
        }
        let mut out: Vec<NodeId> = np
            .kinds
            .iter()
            .flat_map(|k| self.eng.by_kind.get(k).into_iter().flatten().copied())
            .collect();
        if np.kinds.len() > 1 {
            out.sort_unstable();
        }
        out
    }

    /// Whether node `id` fits the node pattern (labels and properties); a bound variable
    /// must be bound to `id`.
    fn bind_node(&mut self, np: &NodePattern, id: NodeId, row: &Row) -> Result<bool, QueryError> {
        self.tick()?;
        match &row[np.var] {
            Val::Node(bound) if *bound != id => return Ok(false),
            _ => {}
        }
        let node = self.eng.graph.node(id);
        if !np.kinds.is_empty() && !np.kinds.contains(&node.kind) {
            return Ok(false);
        }
        for (key, expr) in &np.props {
            let want = self.eval(expr, row);
            if self.eng.node_prop(id, key).equals(&want) != Some(true) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn rel_fits(&self, rp: &RelPattern, eid: EdgeId, row: &Row) -> bool {
        let e = self.eng.graph.edge(eid);
        if !rp.kinds.is_empty() && !rp.kinds.contains(&e.kind) {
            return false;
        }
        rp.props.iter().all(|(key, expr)| {
            self.eng.edge_prop(eid, key).equals(&self.eval(expr, row)) == Some(true)
        })
    }

    /// Edges from `at` that walk relationship pattern `rp` (in its direction, or against
    /// it when `reversed`), with the node at their other end.
    fn edges_from(&self, rp: &RelPattern, at: NodeId, reversed: bool) -> Vec<(EdgeId, NodeId)> {
        let g = self.eng.graph;
        let dir = match (rp.direction, reversed) {
            (Direction::Both, _) => Direction::Both,
            (Direction::Out, false) | (Direction::In, true) => Direction::Out,
            _ => Direction::In,
        };
        let mut out = Vec::new();
        if matches!(dir, Direction::Out | Direction::Both) {
            out.extend(g.outgoing(at).map(|(id, e)| (id, e.to)));
        }
        if matches!(dir, Direction::In | Direction::Both) {
            out.extend(g.incoming(at).map(|(id, e)| (id, e.from)));
        }
        if !rp.kinds.is_empty() {
            out.retain(|(id, _)| rp.kinds.contains(&g.edge(*id).kind));
        }
        out
    }

    fn walk(
        &mut self,
        m: &mut ClauseMatch,
        pattern: usize,
        steps: &[Step],
        k: usize,
        row: &mut Row,
    ) -> Result<Flow, QueryError> {
        let Some(&step) = steps.get(k) else {
            return self.patterns(m, pattern + 1, row);
        };
        let p = &m.clause.patterns[pattern];
        let rp = &p.rels[step.rel];
        let Val::Node(at) = row[p.nodes[step.from].var] else {
            return Ok(Flow::More);
        };
        match rp.hops {
            None => {
                for (eid, other) in self.edges_from(rp, at, step.reversed) {
                    if m.used.contains(&eid) || !self.rel_fits(rp, eid, row) {
                        continue;
                    }
                    let bound_rel = matches!(row[rp.var], Val::Edge(_));
                    if let Val::Edge(b) = row[rp.var]
                        && b != eid
                    {
                        continue;
                    }
                    m.used.push(eid);
                    if !bound_rel {
                        row[rp.var] = Val::Edge(eid);
                    }
                    let flow = if bound_rel || self.conditions(m, row, Some(&[rp.var]))? {
                        self.arrive(m, pattern, steps, k, other, row)?
                    } else {
                        Flow::More
                    };
                    if !bound_rel {
                        row[rp.var] = Val::Null;
                    }
                    m.used.pop();
                    if flow == Flow::Enough {
                        return Ok(flow);
                    }
                }
                Ok(Flow::More)
            }
            Some((min, max)) => {
                let mut path = Vec::new();
                self.var_length(m, pattern, steps, k, at, min, max, &mut path, row)
            }
        }
    }

    /// Depth-first over paths of `min..=max` edges from `at`, each edge at most once.
    #[allow(clippy::too_many_arguments)]
    fn var_length(
        &mut self,
        m: &mut ClauseMatch,
        pattern: usize,
        steps: &[Step],
        k: usize,
        at: NodeId,
        min: usize,
        max: usize,
        path: &mut Vec<EdgeId>,
        row: &mut Row,
    ) -> Result<Flow, QueryError> {
        self.tick()?;
        let step = steps[k];
        let rp = &m.clause.patterns[pattern].rels[step.rel];
        if path.len() >= min {
            let list = Val::List(path.iter().map(|&e| Val::Edge(e)).collect());
            let fits = match &row[rp.var] {
                Val::Null => true,
                bound => *bound == list,
            };
            if fits {
                let newly = matches!(row[rp.var], Val::Null);
                if newly {
                    row[rp.var] = list;
                }
                let flow = if !newly || self.conditions(m, row, Some(&[rp.var]))? {
                    self.arrive(m, pattern, steps, k, at, row)?
                } else {
                    Flow::More
                };
                if newly {
                    row[rp.var] = Val::Null;
                }
                if flow == Flow::Enough {
                    return Ok(flow);
                }
            }
        }
        if path.len() == max {
            return Ok(Flow::More);
        }
        for (eid, other) in self.edges_from(rp, at, step.reversed) {
            if m.used.contains(&eid) || !self.rel_fits(rp, eid, row) {
                continue;
            }
            m.used.push(eid);
            path.push(eid);
            let flow = self.var_length(m, pattern, steps, k, other, min, max, path, row);
            path.pop();
            m.used.pop();
            if flow? == Flow::Enough {
                return Ok(Flow::Enough);
            }
        }
        Ok(Flow::More)
    }

    /// Binds the node a step arrives at and goes on with the next step.
    fn arrive(
        &mut self,
        m: &mut ClauseMatch,
        pattern: usize,
        steps: &[Step],
        k: usize,
        node: NodeId,
        row: &mut Row,
    ) -> Result<Flow, QueryError> {
        let np = &m.clause.patterns[pattern].nodes[steps[k].to];
        if !self.bind_node(np, node, row)? {
            return Ok(Flow::More);
        }
        let newly = matches!(row[np.var], Val::Null);
        if newly {
            row[np.var] = Val::Node(node);
        }
        let flow = if !newly || self.conditions(m, row, Some(&[np.var]))? {
            self.walk(m, pattern, steps, k + 1, row)?
        } else {
            Flow::More
        };
        if newly {
            row[np.var] = Val::Null;
        }
        Ok(flow)
    }

    fn eval(&self, expr: &Expr, row: &Row) -> Val {
        match expr {
            Expr::Literal(v) => v.clone(),
            Expr::List(items) => Val::List(items.iter().map(|e| self.eval(e, row)).collect()),
            Expr::Var(slot) => row.get(*slot).cloned().unwrap_or(Val::Null),
            Expr::Prop(base, name) => match self.eval(base, row) {
                Val::Node(id) => self.eng.node_prop(id, name),
                Val::Edge(id) => self.eng.edge_prop(id, name),
                _ => Val::Null,
            },
            Expr::Not(e) => truth(&self.eval(e, row)).map_or(Val::Null, |b| Val::Bool(!b)),
            Expr::Neg(e) => match self.eval(e, row) {
                Val::Int(i) => i.checked_neg().map_or(Val::Null, Val::Int),
                Val::Float(f) => Val::Float(-f),
                _ => Val::Null,
            },
            Expr::IsNull(e, negated) => {
                Val::Bool(matches!(self.eval(e, row), Val::Null) != *negated)
            }
            Expr::Binary(op, a, b) => self.binary(*op, a, b, row),
            Expr::Call(func, args) => self.call(*func, args, row),
            Expr::ListPredicate {
                quantifier,
                slot,
                list,
                cond,
            } => {
                let Val::List(items) = self.eval(list, row) else {
                    return Val::Null;
                };
                let mut inner = row.clone();
                let (mut any_true, mut any_false, mut unknown) = (false, false, false);
                for item in items {
                    if let Some(cell) = inner.get_mut(*slot) {
                        *cell = item;
                    }
                    match truth(&self.eval(cond, &inner)) {
                        Some(true) => any_true = true,
                        Some(false) => any_false = true,
                        None => unknown = true,
                    }
                }
                match quantifier {
                    Quantifier::Any if any_true => Val::Bool(true),
                    Quantifier::All if any_false => Val::Bool(false),
                    Quantifier::None if any_true => Val::Bool(false),
                    _ if unknown => Val::Null,
                    Quantifier::Any => Val::Bool(false),
                    Quantifier::All | Quantifier::None => Val::Bool(true),
                }
            }
            // Aggregates are computed in `project`, never evaluated per row.
            Expr::Agg { .. } => Val::Null,
        }
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr, row: &Row) -> Val {
        let left = self.eval(a, row);
        // Short-circuit where the answer is known, as three-valued logic allows.
        match (op, truth(&left)) {
            (BinOp::And, Some(false)) => return Val::Bool(false),
            (BinOp::Or, Some(true)) => return Val::Bool(true),
            _ => {}
        }
        let right = self.eval(b, row);
        let bool_or_null = |o: Option<bool>| o.map_or(Val::Null, Val::Bool);
        match op {
            BinOp::And => match (truth(&left), truth(&right)) {
                (_, Some(false)) => Val::Bool(false),
                (Some(true), Some(true)) => Val::Bool(true),
                _ => Val::Null,
            },
            BinOp::Or => match (truth(&left), truth(&right)) {
                (_, Some(true)) => Val::Bool(true),
                (Some(false), Some(false)) => Val::Bool(false),
                _ => Val::Null,
            },
            BinOp::Xor => match (truth(&left), truth(&right)) {
                (Some(x), Some(y)) => Val::Bool(x != y),
                _ => Val::Null,
            },
            BinOp::Eq => bool_or_null(left.equals(&right)),
            BinOp::Ne => bool_or_null(left.equals(&right).map(|b| !b)),
            BinOp::Lt => bool_or_null(left.compare(&right).map(|o| o.is_lt())),
            BinOp::Le => bool_or_null(left.compare(&right).map(|o| o.is_le())),
            BinOp::Gt => bool_or_null(left.compare(&right).map(|o| o.is_gt())),
            BinOp::Ge => bool_or_null(left.compare(&right).map(|o| o.is_ge())),
            BinOp::In => match right {
                Val::List(items) => bool_or_null(member(&left, &items)),
                _ => Val::Null,
            },
            BinOp::Contains => match (&left, &right) {
                (Val::Str(s), Val::Str(t)) => Val::Bool(s.contains(t.as_str())),
                (Val::List(items), _) => bool_or_null(member(&right, items)),
                _ => Val::Null,
            },
            BinOp::StartsWith => match (&left, &right) {
                (Val::Str(s), Val::Str(t)) => Val::Bool(s.starts_with(t.as_str())),
                _ => Val::Null,
            },
            BinOp::EndsWith => match (&left, &right) {
                (Val::Str(s), Val::Str(t)) => Val::Bool(s.ends_with(t.as_str())),
                _ => Val::Null,
            },
            BinOp::Add => match (left, right) {
                (Val::Str(s), Val::Str(t)) => Val::Str(s + &t),
                (Val::List(mut x), Val::List(y)) => {
                    x.extend(y);
                    Val::List(x)
                }
                (l, r) => arithmetic(op, &l, &r),
            },
            _ => arithmetic(op, &left, &right),
        }
    }

    fn call(&self, func: Func, args: &[Expr], row: &Row) -> Val {
        let arg = |i: usize| args.get(i).map_or(Val::Null, |e| self.eval(e, row));
        match func {
            Func::Size | Func::Length => match arg(0) {
                Val::List(items) => Val::Int(items.len() as i64),
                Val::Str(s) => Val::Int(s.chars().count() as i64),
                _ => Val::Null,
            },
            Func::Labels => match arg(0) {
                Val::Node(id) => {
                    Val::List(vec![Val::Str(node_label(self.eng.graph.node(id).kind))])
                }
                _ => Val::Null,
            },
            Func::Type => match arg(0) {
                Val::Edge(id) => Val::Str(edge_type(self.eng.graph.edge(id).kind)),
                _ => Val::Null,
            },
            Func::HasInsight => match (arg(0), arg(1)) {
                (Val::Node(id), Val::Str(name)) => match insight_kind(&name) {
                    Some(kind) => Val::Bool(self.eng.has_insight(id, kind)),
                    None => Val::Null,
                },
                _ => Val::Null,
            },
            Func::InsightEvidence => match (arg(0), arg(1)) {
                (Val::Node(id), Val::Str(name)) => match insight_kind(&name) {
                    Some(kind) => Val::List(
                        self.eng
                            .insight_evidence(id, kind)
                            .into_iter()
                            .map(Val::Str)
                            .collect(),
                    ),
                    None => Val::Null,
                },
                _ => Val::Null,
            },
            Func::ToLower => match arg(0) {
                Val::Str(s) => Val::Str(s.to_lowercase()),
                _ => Val::Null,
            },
            Func::ToUpper => match arg(0) {
                Val::Str(s) => Val::Str(s.to_uppercase()),
                _ => Val::Null,
            },
            Func::Coalesce => args
                .iter()
                .map(|e| self.eval(e, row))
                .find(|v| !matches!(v, Val::Null))
                .unwrap_or(Val::Null),
        }
    }

    fn project(&mut self, q: &Query, rows: Vec<Row>) -> Result<QueryResult, QueryError> {
        let ret = &q.ret;
        let first_column = q.vars.len() - ret.items.len();
        let aggregating = ret.items.iter().any(|i| i.expr.has_aggregate());
        let mut out: Vec<Projected> = Vec::new();
        if aggregating {
            let mut groups: HashMap<Vec<Val>, usize> = HashMap::new();
            let mut members: Vec<(Vec<Val>, Row, Vec<usize>)> = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                self.tick()?;
                let key: Vec<Val> = ret
                    .items
                    .iter()
                    .filter(|it| !it.expr.has_aggregate())
                    .map(|it| self.eval(&it.expr, row))
                    .collect();
                match groups.get(&key) {
                    Some(&g) => members[g].2.push(i),
                    None => {
                        groups.insert(key.clone(), members.len());
                        members.push((key, row.clone(), vec![i]));
                    }
                }
            }
            if members.is_empty() && ret.items.iter().all(|i| i.expr.has_aggregate()) {
                members.push((Vec::new(), vec![Val::Null; q.vars.len()], Vec::new()));
            }
            for (key, rep, idx) in members {
                let mut keys = key.into_iter();
                let mut projected = Vec::with_capacity(ret.items.len());
                for item in &ret.items {
                    projected.push(match &item.expr {
                        Expr::Agg {
                            func,
                            distinct,
                            arg,
                        } => self.aggregate(*func, *distinct, arg.as_deref(), &rows, &idx)?,
                        _ => keys.next().unwrap_or(Val::Null),
                    });
                }
                out.push((projected, rep));
            }
        } else {
            for row in rows {
                self.tick()?;
                let projected = ret.items.iter().map(|i| self.eval(&i.expr, &row)).collect();
                out.push((projected, row));
            }
        }
        if ret.distinct {
            let mut seen = std::collections::HashSet::new();
            out.retain(|(p, _)| seen.insert(p.clone()));
        }
        if !ret.order.is_empty() {
            let mut keyed: Vec<(Vec<Val>, Projected)> = Vec::with_capacity(out.len());
            for (projected, mut rep) in out {
                self.tick()?;
                rep.resize(q.vars.len(), Val::Null);
                for (c, v) in projected.iter().enumerate() {
                    rep[first_column + c] = v.clone();
                }
                let keys = ret.order.iter().map(|(e, _)| self.eval(e, &rep)).collect();
                keyed.push((keys, (projected, rep)));
            }
            keyed.sort_by(|a, b| {
                for ((x, y), (_, descending)) in a.0.iter().zip(&b.0).zip(&ret.order) {
                    let o = x.total_cmp(y);
                    let o = if *descending { o.reverse() } else { o };
                    if o.is_ne() {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
            out = keyed.into_iter().map(|(_, r)| r).collect();
        }
        let skip = ret.skip.unwrap_or(0);
        let take = ret.limit.unwrap_or(usize::MAX);
        let mut selected: Vec<Vec<Val>> = out
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|(p, _)| p)
            .collect();
        let truncated = selected.len() > self.options.max_rows;
        selected.truncate(self.options.max_rows);
        Ok(QueryResult {
            columns: ret.items.iter().map(|i| i.name.clone()).collect(),
            rows: selected
                .iter()
                .map(|r| r.iter().map(|v| self.eng.to_json(v)).collect())
                .collect(),
            truncated,
        })
    }

    fn aggregate(
        &mut self,
        func: Aggregate,
        distinct: bool,
        arg: Option<&Expr>,
        rows: &[Row],
        idx: &[usize],
    ) -> Result<Val, QueryError> {
        if func == Aggregate::CountRows {
            return Ok(Val::Int(idx.len() as i64));
        }
        let mut values = Vec::with_capacity(idx.len());
        for &i in idx {
            self.tick()?;
            let v = arg.map_or(Val::Null, |e| self.eval(e, &rows[i]));
            if !matches!(v, Val::Null) {
                values.push(v);
            }
        }
        if distinct {
            let mut seen = std::collections::HashSet::new();
            values.retain(|v| seen.insert(v.clone()));
        }
        Ok(match func {
            Aggregate::CountRows | Aggregate::Count => Val::Int(values.len() as i64),
            Aggregate::Collect => Val::List(values),
            Aggregate::Min => values
                .into_iter()
                .min_by(Val::total_cmp)
                .unwrap_or(Val::Null),
            Aggregate::Max => values
                .into_iter()
                .max_by(Val::total_cmp)
                .unwrap_or(Val::Null),
            Aggregate::Sum => {
                let mut total = Val::Int(0);
                for v in &values {
                    total = arithmetic(BinOp::Add, &total, v);
                }
                total
            }
            Aggregate::Avg => {
                let numbers: Vec<f64> = values.iter().filter_map(Val::as_f64).collect();
                if numbers.is_empty() {
                    Val::Null
                } else {
                    Val::Float(numbers.iter().sum::<f64>() / numbers.len() as f64)
                }
            }
        })
    }
}

/// The truth of a value in WHERE: `None` for null and for non-booleans.
fn truth(v: &Val) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        _ => None,
    }
}

/// `x IN list`: true when an element equals it, null when unknown.
fn member(x: &Val, items: &[Val]) -> Option<bool> {
    let mut unknown = false;
    for item in items {
        match x.equals(item) {
            Some(true) => return Some(true),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown { None } else { Some(false) }
}

/// Number arithmetic: integers stay integers (null on overflow or division by zero).
fn arithmetic(op: BinOp, a: &Val, b: &Val) -> Val {
    if let (Val::Int(x), Val::Int(y)) = (a, b) {
        let r = match op {
            BinOp::Add => x.checked_add(*y),
            BinOp::Sub => x.checked_sub(*y),
            BinOp::Mul => x.checked_mul(*y),
            BinOp::Div => x.checked_div(*y),
            BinOp::Mod => x.checked_rem(*y),
            _ => None,
        };
        return r.map_or(Val::Null, Val::Int);
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
        return Val::Null;
    };
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y != 0.0 => x / y,
        BinOp::Mod if y != 0.0 => x % y,
        _ => return Val::Null,
    };
    if r.is_finite() {
        Val::Float(r)
    } else {
        Val::Null
    }
}
