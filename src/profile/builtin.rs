//! The hardened profiles shipped in the binary (profiles/*.toml).

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
