//! The hardened profiles shipped in the binary (profiles/*.toml), and the one a misspelled
//! name was probably meant to be.

const BUILT_IN: [(&str, &str); 8] = [
    ("default", include_str!("../../profiles/default.toml")),
    ("everything", include_str!("../../profiles/everything.toml")),
    ("fetch", include_str!("../../profiles/fetch.toml")),
    ("filesystem", include_str!("../../profiles/filesystem.toml")),
    ("git", include_str!("../../profiles/git.toml")),
    ("memory", include_str!("../../profiles/memory.toml")),
    ("sqlite", include_str!("../../profiles/sqlite.toml")),
    ("time", include_str!("../../profiles/time.toml")),
];

/// The text of built-in profile `name`.
pub(crate) fn get(name: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Every built-in profile's name.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(n, _)| *n)
}

/// The built-in profile `name` probably means (`filesytem` → `filesystem`): the nearest by
/// edit distance, ignoring case, when it is near enough to be a slip rather than another
/// name; never for something that looks like a file path.
pub(crate) fn closest(name: &str) -> Option<&'static str> {
    if name.contains('/') || name.ends_with(".toml") {
        return None;
    }
    let name = name.to_lowercase();
    let near_enough = (name.chars().count() / 3).max(2);
    names()
        .map(|builtin| (distance(&name, builtin), builtin))
        .filter(|(d, _)| *d <= near_enough)
        .min_by_key(|(d, _)| *d)
        .map(|(_, builtin)| builtin)
}

/// Levenshtein distance over characters (the names are a few letters long).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load;
    use crate::profile::model::Verdict;

    #[test]
    fn a_slip_suggests_the_built_in_it_misses() {
        assert_eq!(closest("filesytem"), Some("filesystem"));
        assert_eq!(closest("Default"), Some("default"));
        assert_eq!(closest("defualt"), Some("default"));
        assert_eq!(closest("sqllite"), Some("sqlite"));
        assert_eq!(closest("tiem"), Some("time"));
        assert_eq!(closest("postgres"), None);
        assert_eq!(closest("./filesytem.toml"), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }

    /// What `profile list` says a built-in does is what its rules do.
    #[test]
    fn each_description_says_what_its_rules_do() {
        for name in names() {
            let (profile, _) = load::load_unexpanded(name).unwrap();
            let text = profile.profile.description.to_lowercase();
            let tools = &profile.tools;
            let why = |what: &str| format!("{name}: {text:?} does not say {what}");
            let unnamed_may_prompt =
                tools.destructive == Some(Verdict::Prompt) && tools.default != Some(Verdict::Deny);
            if unnamed_may_prompt {
                // A tool no list names runs without approval when annotated read-only or
                // non-destructive: the description may not say "read-only" alone.
                assert!(
                    text.contains("non-destructive"),
                    "{}",
                    why("non-destructive tools run")
                );
            }
            if !tools.prompt.is_empty() || unnamed_may_prompt {
                assert!(text.contains("approval"), "{}", why("what needs approval"));
                if tools.on_prompt.is_none_or(|v| v == Verdict::Deny) {
                    assert!(
                        text.contains("refused when none can be asked"),
                        "{}",
                        why("that approval is refused when nobody can be asked")
                    );
                }
            }
            if !tools.deny.is_empty() {
                assert!(text.contains("refused"), "{}", why("what is refused"));
            }
            if tools.default == Some(Verdict::Deny) {
                assert!(
                    text.contains("other tool"),
                    "{}",
                    why("that other tools are refused")
                );
            }
        }
    }
}
