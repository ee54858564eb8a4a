//! Reading JSON documents field by field, so that every error names the document and
//! the field (`statements[2].status`) where it found the problem.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::VexError;

/// Longest text kept from a document field (statements, notes); longer ones are cut.
const MAX_TEXT: usize = 4096;
/// Most entries read from one array (statements, products, components).
pub(crate) const MAX_ENTRIES: usize = 100_000;

/// A document being read: its name for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Doc<'a> {
    pub name: &'a str,
}

impl Doc<'_> {
    pub fn error(&self, field: &str, message: impl Into<String>) -> VexError {
        VexError::Invalid {
            document: self.name.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// An optional string field.
    pub fn opt_str<'v>(
        &self,
        value: &'v Value,
        key: &str,
        path: &str,
    ) -> Result<Option<&'v str>, VexError> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.error(
                &join(path, key),
                format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    /// A required, non-empty string field.
    pub fn req_str<'v>(
        &self,
        value: &'v Value,
        key: &str,
        path: &str,
    ) -> Result<&'v str, VexError> {
        match self.opt_str(value, key, path)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.error(&join(path, key), "is empty")),
            None => Err(self.error(&join(path, key), "is missing")),
        }
    }

    /// An optional array field (missing or null: empty), bounded.
    pub fn array<'v>(
        &self,
        value: &'v Value,
        key: &str,
        path: &str,
    ) -> Result<&'v [Value], VexError> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) if a.len() > MAX_ENTRIES => {
                Err(self.error(&join(path, key), format!("more than {MAX_ENTRIES} entries")))
            }
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(self.error(
                &join(path, key),
                format!("expected an array, found {}", kind(other)),
            )),
        }
    }

    /// An optional RFC 3339 timestamp field.
    pub fn time(
        &self,
        value: &Value,
        key: &str,
        path: &str,
    ) -> Result<Option<OffsetDateTime>, VexError> {
        self.opt_str(value, key, path)?
            .map(|s| {
                OffsetDateTime::parse(s.trim(), &Rfc3339)
                    .map_err(|e| self.error(&join(path, key), format!("not an RFC 3339 time: {e}")))
            })
            .transpose()
    }
}

/// `statements[2]` + `status` → `statements[2].status`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Text from a document, trimmed and bounded; empty text is no text.
pub(crate) fn text(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    if s.is_empty() {
        return None;
    }
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(s[..end].to_string())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
