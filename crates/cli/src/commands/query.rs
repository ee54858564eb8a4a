//! `crowsnest query`: read-only openCypher-subset queries (or named templates) over the
//! security graph of a snapshot or manifests. docs/query.md describes the language.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use crowsnest_graph::query::{
    QueryEngine, QueryOptions, QueryResult, TEMPLATES, cell_text, parse, template,
};

use crate::args::{GlobalArgs, GraphFormat, QueryArgs};
use crate::output::{self, Table};

/// Exit code of a query that is not valid (as clap's usage errors).
const INVALID_QUERY: i32 = 2;

pub async fn query(args: QueryArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    if args.list_templates {
        return list_templates(args.graph.format);
    }
    let text = match (&args.query, &args.template) {
        (Some(q), None) => q.clone(),
        (None, Some(name)) => match template(name) {
            Some(t) => t.query.to_string(),
            None => {
                eprintln!(
                    "error: no template '{name}'\nhint: `crowsnest query --list-templates` lists them"
                );
                return Ok(INVALID_QUERY);
            }
        },
        _ => bail!("give a QUERY or --template NAME (or --list-templates)"),
    };
    if !matches!(args.graph.format, GraphFormat::Table | GraphFormat::Json) {
        bail!("crowsnest query writes --format table or json");
    }
    // A bad query is reported before the graph is loaded (which may scan images).
    let parsed = match parse(&text) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("error: invalid query: {e}");
            return Ok(INVALID_QUERY);
        }
    };
    if !(args.query_timeout.is_finite() && args.query_timeout > 0.0) {
        bail!("--query-timeout must be a positive number of seconds");
    }
    let loaded = super::graph::load_graph(&args.graph, global).await?;
    let engine = QueryEngine::new(&loaded.graph).with_findings(&loaded.findings);
    let options = QueryOptions {
        timeout: Duration::from_secs_f64(args.query_timeout.min(86_400.0)),
        max_rows: args.max_rows,
        ..QueryOptions::default()
    };
    let result = engine.run(&parsed, &options).context("running the query")?;
    write(&result, args.graph.format, args.max_rows)?;
    Ok(crate::exit::OK)
}

fn write(result: &QueryResult, format: GraphFormat, max_rows: usize) -> anyhow::Result<()> {
    if result.truncated {
        eprintln!(
            "warning: more than {max_rows} rows; the first {max_rows} are shown (add LIMIT, or raise --max-rows)"
        );
    }
    if format == GraphFormat::Json {
        return output::json(result);
    }
    let mut out = output::writer(None)?;
    let mut table = Table::new(result.columns.iter().map(|c| c.to_uppercase()));
    for row in &result.rows {
        table.row(row.iter().map(cell_text));
    }
    table.write(&mut out)?;
    writeln!(out, "({} rows)", result.rows.len())?;
    out.flush()?;
    Ok(())
}

fn list_templates(format: GraphFormat) -> anyhow::Result<i32> {
    if format == GraphFormat::Json {
        let list: Vec<_> = TEMPLATES
            .iter()
            .map(|t| {
                serde_json::json!({"name": t.name, "description": t.description, "query": t.query})
            })
            .collect();
        output::json(&list)?;
    } else {
        let mut table = Table::new(["TEMPLATE", "DESCRIPTION"]);
        for t in TEMPLATES {
            table.row([t.name, t.description]);
        }
        let mut out = output::writer(None)?;
        table.write(&mut out)?;
        out.flush()?;
    }
    Ok(crate::exit::OK)
}
