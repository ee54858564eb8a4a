//! `crowsnest query`: a read-only subset of openCypher over the [`SecurityGraph`], and
//! named templates written in it. docs/query.md describes the language.
//!
//! ```
//! use crowsnest_graph::query::{QueryEngine, QueryOptions};
//! # let graph = crowsnest_graph::SecurityGraph::default();
//! let engine = QueryEngine::new(&graph);
//! let result = engine
//!     .query("MATCH (i:Internet) RETURN i.name AS name", &QueryOptions::default())
//!     .unwrap();
//! assert_eq!(result.columns, ["name"]);
//! ```
//!
//! Bounds: a query text of at most [`MAX_QUERY_BYTES`], nesting at most 64 deep,
//! variable-length relationships of at most [`HARD_MAX_HOPS`] hops ([`DEFAULT_MAX_HOPS`]
//! when unbounded), and per run a deadline and row caps ([`QueryOptions`]).

mod ast;
mod engine;
mod error;
mod lexer;
mod parser;
mod props;
mod templates;
mod value;

pub use ast::Query;
pub use engine::{QueryEngine, QueryOptions, QueryResult, cell_text};
pub use error::{QueryError, QueryErrorKind};
pub use parser::{DEFAULT_MAX_HOPS, HARD_MAX_HOPS, MAX_QUERY_BYTES, edge_type, node_label, parse};
pub use props::{EDGE_PROPERTIES, NODE_PROPERTIES, PropertyDoc, insight_name, reference_markdown};
pub use templates::{TEMPLATES, Template, template};

use crate::SecurityGraph;

/// Parses and runs `text` on `graph` (without image findings).
pub fn run(
    graph: &SecurityGraph,
    text: &str,
    options: &QueryOptions,
) -> Result<QueryResult, QueryError> {
    QueryEngine::new(graph).query(text, options)
}
