//! One file's change: the edits for each selected entry put together, and the proof that
//! the new text says exactly what was meant, every other entry untouched.
//!
//! Owns: the check after every edit. The new text is read again with the same reader; each
//! entry must mean what it meant before, except the argv of the entries changed, which must
//! be the one intended. A change that does not check out is never written.

use super::edit::{self, Edit, meaning};
use super::entry::{Entry, Transport};
use std::collections::HashMap;

/// An entry's edits and the argv it must have after them.
#[derive(Debug, Clone)]
pub(crate) struct EntryChange {
    pub(crate) locator: String,
    pub(crate) edits: Vec<Edit>,
    pub(crate) argv_after: Vec<String>,
}

/// The new text, with `changes` made and checked.
pub(crate) fn apply(
    text: &str,
    before: &[Entry],
    changes: &[EntryChange],
    read: impl Fn(&str) -> Result<Vec<Entry>, super::entry::SyntaxError>,
) -> anyhow::Result<(String, Vec<Entry>)> {
    let edits: Vec<Edit> = changes.iter().flat_map(|c| c.edits.clone()).collect();
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    if sorted.windows(2).any(|w| w[0].range.end > w[1].range.start) {
        anyhow::bail!("internal error: two edits of the file overlap; nothing was written");
    }
    let after_text = edit::apply(text, &edits);
    let after = read(&after_text).map_err(|e| {
        anyhow::anyhow!(
            "the edited file would not parse ({e}); nothing was written — please report this with the entry"
        )
    })?;
    let expected: HashMap<&str, &Vec<String>> = changes
        .iter()
        .map(|c| (c.locator.as_str(), &c.argv_after))
        .collect();
    let want: Vec<_> = before
        .iter()
        .map(|entry| {
            let mut m = meaning(entry);
            if let Some(argv) = expected.get(entry.locator.as_str()) {
                m.argv = Some((*argv).clone());
            }
            m
        })
        .collect();
    let got: Vec<_> = after.iter().map(meaning).collect();
    if want != got {
        let first = want
            .iter()
            .zip(&got)
            .find(|(w, g)| w != g)
            .map(|(w, g)| format!("{} would read {:?} instead of {:?}", w.name, g.argv, w.argv))
            .unwrap_or_else(|| "the entries would change in number".to_owned());
        anyhow::bail!(
            "the edit would not say what was meant ({first}); nothing was written — please report this"
        );
    }
    Ok((after_text, after))
}

/// The stdio launch of the entry at `locator`.
pub(crate) fn launch_at<'a>(
    entries: &'a [Entry],
    locator: &str,
) -> Option<&'a super::entry::Launch> {
    entries
        .iter()
        .find(|e| e.locator == locator)
        .and_then(|e| match &e.transport {
            Transport::Stdio(launch) => Some(launch.as_ref()),
            _ => None,
        })
}
