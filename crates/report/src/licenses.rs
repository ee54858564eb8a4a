//! Declared licenses as packages state them, sorted into what SBOM formats can carry: a
//! license-list identifier, a valid SPDX expression, or free text.

/// One declared license string, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum License {
    /// An identifier of the SPDX license list, in its canonical spelling.
    Id(&'static str),
    /// A valid SPDX expression that is more than a single identifier (`MIT OR Apache-2.0`).
    Expression(String),
    /// Anything else (`BSD-like`, `GPL v2 or later`, a URL): kept as a name.
    Name(String),
}

pub(crate) fn classify(declared: &str) -> License {
    let text = declared.trim();
    if let Some(id) = spdx::license_id(text) {
        return License::Id(id.name);
    }
    match spdx::Expression::parse(text) {
        Ok(_) => License::Expression(text.to_string()),
        Err(_) => License::Name(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ids_expressions_and_names() {
        assert_eq!(classify(" MIT "), License::Id("MIT"));
        assert_eq!(classify("Apache-2.0"), License::Id("Apache-2.0"));
        assert_eq!(
            classify("MIT OR Apache-2.0"),
            License::Expression("MIT OR Apache-2.0".into())
        );
        assert_eq!(
            classify("GPL v2 or later"),
            License::Name("GPL v2 or later".into())
        );
        assert_eq!(classify(""), License::Name(String::new()));
    }
}
