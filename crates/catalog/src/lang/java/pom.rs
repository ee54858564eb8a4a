//! The coordinates in a `META-INF/maven/<groupId>/<artifactId>/pom.xml`, for archives that
//! ship the POM without `pom.properties`.
//!
//! A small XML scanner, not a general parser: it follows element nesting to read
//! `project/{groupId,artifactId,version}` and `project/parent/{groupId,version}` (which a
//! POM inherits when it does not state its own), and nothing else. It never expands
//! entities: a value with an entity reference other than XML's five and character
//! references, or a `${property}`, is treated as absent, so an entity bomb in a DTD is
//! inert text. Input is capped by the caller; nesting is capped at [`MAX_DEPTH`].

/// Deepest element nesting read; a deeper document is refused.
const MAX_DEPTH: usize = 256;

/// What a POM states, each coordinate absent when it is not stated literally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct PomCoordinates {
    pub group: Option<String>,
    pub artifact: Option<String>,
    pub version: Option<String>,
}

/// Reads the coordinates of a POM; an error for text that is not a well-nested document.
pub(super) fn read(text: &str) -> Result<PomCoordinates, String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut own = PomCoordinates::default();
    let mut parent = PomCoordinates::default();
    let mut rest = text;
    let mut text_start: Option<&str> = None;
    while let Some(open) = rest.find('<') {
        let before = &rest[..open];
        let markup = &rest[open..];
        if let Some(body) = markup.strip_prefix("<!--") {
            rest = after(body, "-->", "comment")?;
            continue;
        }
        if let Some(body) = markup.strip_prefix("<![CDATA[") {
            rest = after(body, "]]>", "CDATA section")?;
            text_start = None;
            continue;
        }
        if let Some(body) = markup.strip_prefix("<?") {
            rest = after(body, "?>", "processing instruction")?;
            continue;
        }
        if markup.starts_with("<!") {
            rest = skip_declaration(markup)?;
            continue;
        }
        let close = markup.find('>').ok_or("unterminated tag")?;
        let tag = &markup[1..close];
        rest = &markup[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            if stack.pop() != Some(name) {
                return Err(format!("closing tag </{name}> does not match"));
            }
            let value = text_start.take().map(|_| before);
            if let Some(value) = value.and_then(literal) {
                let slot = match (stack.as_slice(), name) {
                    (["project"], "groupId") => Some(&mut own.group),
                    (["project"], "artifactId") => Some(&mut own.artifact),
                    (["project"], "version") => Some(&mut own.version),
                    (["project", "parent"], "groupId") => Some(&mut parent.group),
                    (["project", "parent"], "version") => Some(&mut parent.version),
                    _ => None,
                };
                if let Some(slot) = slot {
                    *slot = Some(value);
                }
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or_default();
        if name.is_empty() {
            return Err("empty tag name".to_string());
        }
        if !self_closing {
            if stack.len() == MAX_DEPTH {
                return Err(format!("elements nest more than {MAX_DEPTH} deep"));
            }
            stack.push(name);
            text_start = Some(rest);
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("element <{open}> is never closed"));
    }
    Ok(PomCoordinates {
        group: own.group.or(parent.group),
        artifact: own.artifact,
        version: own.version.or(parent.version),
    })
}

fn after<'a>(body: &'a str, end: &str, what: &str) -> Result<&'a str, String> {
    body.find(end)
        .map(|at| &body[at + end.len()..])
        .ok_or_else(|| format!("unterminated {what}"))
}

/// Skips `<!DOCTYPE …>` with its internal subset (`[ … ]`, where entity declarations
/// live) without interpreting anything in it.
fn skip_declaration(markup: &str) -> Result<&str, String> {
    let mut in_subset = false;
    let mut quote: Option<char> = None;
    for (at, c) in markup.char_indices().skip(2) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => in_subset = true,
            (None, ']') => in_subset = false,
            (None, '>') if !in_subset => return Ok(&markup[at + 1..]),
            _ => {}
        }
    }
    Err("unterminated declaration".to_string())
}

/// The text as a literal value: trimmed, XML's predefined and character references
/// decoded; `None` for an empty value, an unknown entity or a `${property}`.
fn literal(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.contains("${") || raw.contains('<') {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let (name, tail) = rest[amp + 1..].split_once(';')?;
        out.push(match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match name.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => name.strip_prefix('#')?.parse().ok()?,
                };
                char::from_u32(code)?
            }
        });
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(g: Option<&str>, a: Option<&str>, v: Option<&str>) -> PomCoordinates {
        PomCoordinates {
            group: g.map(Into::into),
            artifact: a.map(Into::into),
            version: v.map(Into::into),
        }
    }

    #[test]
    fn own_coordinates_and_inherited_ones() {
        let pom = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment with <groupId>wrong</groupId> -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.example</groupId>
    <artifactId>parent</artifactId>
    <version>2.1</version>
  </parent>
  <artifactId>child</artifactId>
  <dependencies>
    <dependency><groupId>dep.group</groupId><artifactId>dep</artifactId><version>9</version></dependency>
  </dependencies>
  <build/>
</project>"#;
        assert_eq!(
            read(pom).unwrap(),
            coords(Some("org.example"), Some("child"), Some("2.1"))
        );
        let own = "<project><groupId>a&amp;b</groupId><artifactId>x</artifactId><version>${revision}</version></project>";
        assert_eq!(read(own).unwrap(), coords(Some("a&b"), Some("x"), None));
    }

    /// A billion-laughs DTD is skipped, its entities never expanded: a value that refers
    /// to one is absent, and the scan takes time linear in the input.
    #[test]
    fn entity_bomb_is_inert() {
        let mut dtd = String::from("<!DOCTYPE project [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            dtd.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&{prev};").repeat(10)
            ));
        }
        dtd.push_str("]>\n");
        let pom = format!(
            "{dtd}<project><groupId>&lol9;</groupId><artifactId>bomb</artifactId><version>1</version></project>"
        );
        assert_eq!(read(&pom).unwrap(), coords(None, Some("bomb"), Some("1")));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for (pom, want) in [
            ("<project><groupId>x</project>", "does not match"),
            ("<project>", "never closed"),
            ("<project><!-- x", "unterminated comment"),
            ("<project", "unterminated tag"),
            ("<!DOCTYPE [", "unterminated declaration"),
            ("<>", "empty tag name"),
        ] {
            let err = read(pom).unwrap_err();
            assert!(err.contains(want), "{pom}: {err}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(read(&deep).unwrap_err().contains("nest more than"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,512}") {
            let _ = read(&text);
        }
    }
}
