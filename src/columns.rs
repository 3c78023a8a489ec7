//! Columns that line up whatever the names in them: the width of a column of names comes
//! from the names (at least its heading, at most a cap), and a name longer than the cap is
//! cut with an ellipsis, so one long tool name cannot push every column after it.
//!
//! Owns: column widths and clipping, counted in characters. The text is shown already
//! escaped for the terminal (`terminal::escape`), which leaves no control character in it.

use std::borrow::Cow;

/// The marker of a clipped name.
const ELLIPSIS: char = '…';

/// `text` in at most `max` characters: clipped with an ellipsis when longer.
pub(crate) fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        return Cow::Borrowed(text);
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    Cow::Owned(format!("{kept}{ELLIPSIS}"))
}

/// The width of a column headed `heading` holding `values`: the widest of them, at most
/// `cap` (and never narrower than the heading).
pub(crate) fn width<S: AsRef<str>>(
    heading: &str,
    values: impl IntoIterator<Item = S>,
    cap: usize,
) -> usize {
    values
        .into_iter()
        .map(|v| v.as_ref().chars().count().min(cap))
        .fold(heading.chars().count(), usize::max)
}

/// `text` clipped to `width` and padded to it on the right.
pub(crate) fn left(text: &str, width: usize) -> String {
    format!("{:<width$}", clip(text, width))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn widths_follow_the_data_up_to_the_cap() {
        assert_eq!(width("tool", ["read", "write_file"], 8), 8);
        assert_eq!(width("tool", ["a", "bc"], 8), 4);
        assert_eq!(width("tool", ["löschen_datei"], 40), 13);
        assert_eq!(
            [
                left("write_file", 8),
                left("rd", 8),
                left("löschen_datei", 8)
            ],
            ["write_f…", "rd      ", "löschen…"]
        );
        assert_eq!(clip("abc", 3), "abc");
    }
}
