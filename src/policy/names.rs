//! Stage: tool decisions by name pattern, `default`, and `destructive` by annotations.
//!
//! Owns: compiling the profile's `allow`, `prompt` and `deny` globs, and deciding a tool by
//! name (strictest matching list; `default` when none matches) and by what it may do: a tool
//! no list names, not marked `readOnlyHint: true` or `destructiveHint: false` in its pinned
//! annotations, gets at least the `destructive` decision (absent annotations mean
//! destructive, per the MCP specification; annotations that change later are ignored).

use super::Finding;
use crate::mcp::catalog::ToolEntry;
use crate::profile::model::{ToolsSection, Verdict};
use globset::{Glob, GlobMatcher};

pub(crate) struct NameRules {
    lists: Vec<(Verdict, String, GlobMatcher)>,
    default: Verdict,
    destructive: Option<Verdict>,
}

impl NameRules {
    pub(crate) fn new(tools: &ToolsSection) -> Result<NameRules, String> {
        let mut lists = Vec::new();
        for (verdict, patterns, key) in [
            (Verdict::Allow, &tools.allow, "allow"),
            (Verdict::Prompt, &tools.prompt, "prompt"),
            (Verdict::Deny, &tools.deny, "deny"),
        ] {
            for pattern in patterns {
                let glob = Glob::new(pattern)
                    .map_err(|e| format!("tools.{key}: `{pattern}` is not a valid glob: {e}"))?;
                lists.push((
                    verdict,
                    format!("tools.{key}:{pattern}"),
                    glob.compile_matcher(),
                ));
            }
        }
        Ok(NameRules {
            lists,
            default: tools.default.unwrap_or(Verdict::Allow),
            destructive: tools.destructive,
        })
    }

    pub(crate) fn decide(&self, name: &str, entry: Option<&ToolEntry>) -> Finding {
        let mut best: Option<Finding> = None;
        for (verdict, rule, glob) in &self.lists {
            if glob.is_match(name) && best.as_ref().is_none_or(|b| *verdict > b.verdict) {
                best = Some(Finding {
                    verdict: *verdict,
                    rule: rule.clone(),
                    reason: format!("`{name}` is in {rule}"),
                });
            }
        }
        let by_name = best.unwrap_or(Finding {
            verdict: self.default,
            rule: "tools.default".into(),
            reason: format!(
                "`{name}` is not named by the profile; tools.default is {}",
                self.default.name()
            ),
        });
        match (self.destructive, entry) {
            // Only for tools the profile does not name: a tool it lists was judged by its author.
            (Some(verdict), Some(entry))
                if by_name.rule == "tools.default"
                    && verdict > by_name.verdict
                    && !entry.is_harmless() =>
            {
                Finding {
                    verdict,
                    rule: "tools.destructive".into(),
                    reason: format!(
                        "`{name}` may change things (its annotations do not say read-only or non-destructive)"
                    ),
                }
            }
            _ => by_name,
        }
    }
}
