//! Named queries for common questions, written in the query language itself.

/// A named query.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    pub name: &'static str,
    pub description: &'static str,
    pub query: &'static str,
}

pub const TEMPLATES: &[Template] = &[];

/// The template called `name`.
pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}
