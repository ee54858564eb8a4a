//! Query strings and cursors. Query strings are parsed here rather than by an extractor
//! so that every mistake (an unknown parameter, a bad value, a repeated one) is a 400 in
//! the one error shape, naming the parameter.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{HttpError, HttpResult};

pub const DEFAULT_LIMIT: u32 = 100;
/// Longest query string accepted.
const MAX_QUERY: usize = 8 * 1024;

/// The parameters of one request, each given at most once.
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Parses `raw`, refusing any parameter not in `allowed`.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> HttpResult<Params> {
        let raw = raw.unwrap_or("");
        if raw.len() > MAX_QUERY {
            return Err(HttpError::bad_request(format!(
                "the query string is longer than {MAX_QUERY} bytes"
            )));
        }
        let mut values = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(HttpError::bad_request(format!(
                    "unknown query parameter {k:?}; this endpoint takes: {}",
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )));
            }
            if values.insert(k.to_string(), v.to_string()).is_some() {
                return Err(HttpError::bad_request(format!(
                    "query parameter {k:?} is given more than once"
                )));
            }
        }
        Ok(Params { values })
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A value parsed with `parse`, whose error message is shown with the parameter name.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> HttpResult<Option<T>> {
        self.text(name)
            .map(|v| parse(v).map_err(|e| HttpError::bad_request(format!("{name}={v:?}: {e}"))))
            .transpose()
    }

    pub fn bool(&self, name: &str) -> HttpResult<Option<bool>> {
        self.parsed(name, |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".into()),
        })
    }

    pub fn limit(&self) -> HttpResult<u32> {
        Ok(self
            .parsed("limit", |v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=crowsnest_store::MAX_PAGE).contains(n))
                    .ok_or_else(|| format!("expected 1 to {}", crowsnest_store::MAX_PAGE))
            })?
            .unwrap_or(DEFAULT_LIMIT))
    }

    /// The `cursor` parameter decoded as a cursor of list `kind`.
    pub fn cursor<C: DeserializeOwned>(&self, kind: &str) -> HttpResult<Option<C>> {
        self.parsed("cursor", |v| decode_cursor(kind, v))
    }
}

/// A cursor is opaque to clients: base64url of `{"k": list kind, "v": position}`, so a
/// cursor of one list is refused by another.
pub fn encode_cursor<C: Serialize>(kind: &str, position: &C) -> String {
    let json = serde_json::json!({"k": kind, "v": position}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor<C: DeserializeOwned>(kind: &str, text: &str) -> Result<C, String> {
    const BAD: &str = "not a cursor this list returned";
    if text.len() > 1024 {
        return Err(BAD.into());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| BAD.to_string())?;
    #[derive(serde::Deserialize)]
    struct Wrapped<C> {
        k: String,
        v: C,
    }
    let w: Wrapped<C> = serde_json::from_slice(&bytes).map_err(|_| BAD.to_string())?;
    if w.k != kind {
        return Err(format!("a cursor of the {} list, not of {kind}", w.k));
    }
    Ok(w.v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_repeated_and_bad_values_are_refused() {
        assert!(Params::parse(Some("a=1&b=2"), &["a"]).is_err());
        assert!(Params::parse(Some("a=1&a=2"), &["a"]).is_err());
        let p = Params::parse(Some("limit=0&kev=yes"), &["limit", "kev"]).unwrap();
        assert!(p.limit().is_err());
        assert!(p.bool("kev").is_err());
        let p = Params::parse(Some("limit=1001"), &["limit"]).unwrap();
        assert!(p.limit().is_err());
        assert_eq!(
            Params::parse(None, &["limit"]).unwrap().limit().unwrap(),
            DEFAULT_LIMIT
        );
        assert!(Params::parse(Some(&"a=1&".repeat(5000)), &["a"]).is_err());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = encode_cursor("jobs", &42i64);
        let p = Params::parse(Some(&format!("cursor={c}")), &["cursor"]).unwrap();
        assert_eq!(p.cursor::<i64>("jobs").unwrap(), Some(42));
        assert!(p.cursor::<i64>("snapshots").is_err());
        for bad in ["%%%", "AAAA", "eyJ9", ""] {
            let p = Params::parse(Some(&format!("cursor={bad}")), &["cursor"]).unwrap();
            assert!(p.cursor::<i64>("jobs").is_err(), "{bad}");
        }
    }
}
