//! Shell-style globs for paths and repositories: `*` matches within one `/`-separated
//! segment, `**` across segments, `?` one character; everything else is literal.

/// Whether `text` matches `pattern` as a whole. Runs in O(pattern × text) time and memory per step.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // reachable[j]: the pattern prefix consumed so far can end right before t[j].
    let mut reachable = vec![false; t.len() + 1];
    reachable[0] = true;
    let mut i = 0;
    while i < p.len() {
        let mut next = vec![false; t.len() + 1];
        match p[i] {
            '*' => {
                let across = p.get(i + 1) == Some(&'*');
                // Extend every reachable position as far as the star may run.
                for j in 0..=t.len() {
                    next[j] = reachable[j] || (j > 0 && next[j - 1] && (across || t[j - 1] != '/'));
                }
                if across {
                    i += 1;
                }
            }
            '?' => {
                for j in 0..t.len() {
                    next[j + 1] = reachable[j] && t[j] != '/';
                }
            }
            c => {
                for j in 0..t.len() {
                    next[j + 1] = reachable[j] && t[j] == c;
                }
            }
        }
        reachable = next;
        i += 1;
    }
    reachable[t.len()]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn segments_and_double_stars() {
        assert!(matches("*/app-bookworm", "registry:5000/app-bookworm"));
        assert!(!matches(
            "*/app-bookworm",
            "registry:5000/team/app-bookworm"
        ));
        assert!(matches(
            "**/app-bookworm",
            "registry:5000/team/app-bookworm"
        ));
        assert!(matches("app/lib/*.jar", "app/lib/log4j-core-2.14.1.jar"));
        assert!(!matches("app/*.jar", "app/lib/log4j-core-2.14.1.jar"));
        assert!(matches("app/**", "app/lib/x.jar"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "a/c"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(matches("", ""));
    }

    #[test]
    fn hostile_patterns_stay_polynomial() {
        let pattern = "*a".repeat(200);
        let text = "a".repeat(2000) + "b";
        assert!(!matches(&pattern, &text));
    }
}
