//! `mcpguard approve`: answering the calls running sessions hold for approval.
//!
//! Owns: finding the pending calls across the user's running sessions (their sockets in
//! the approval directory), the interactive view (a `dialoguer` list of pending calls,
//! then their details and the choices), the scriptable forms (`ID --allow|--deny`,
//! `--list [--json]`, `--watch [--json]`), and the approver's mark that tells sessions a
//! person is watching (`approval::present`). Everything shown came from servers and agents,
//! so it is escaped for the terminal.

use super::args::ApproveArgs;
use crate::approval::wire::{Request, View};
use crate::approval::{Scope, always, present, runtime_dir, socket};
use crate::terminal;
use anyhow::{Context, bail};
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

/// How often the view and `--watch` look for new pending calls.
const POLL: Duration = Duration::from_millis(200);

pub(crate) fn run(args: ApproveArgs) -> anyhow::Result<u8> {
    if let Some(id) = &args.id {
        return answer(id, &args);
    }
    if args.list {
        return list(args.json);
    }
    let dir = runtime_dir::ensure()?;
    let _watching = present::Watching::start(&dir)
        .with_context(|| format!("cannot mark this approver in {}", dir.display()))?;
    if args.watch {
        return watch(&dir, args.json);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        bail!(
            "the interactive view needs a terminal; from a script use `mcpguard approve --watch --json` \
             and `mcpguard approve ID --allow|--deny`"
        );
    }
    interactive(&dir)
}

/// Every pending call in every running session, oldest first.
fn pending(dir: &Path) -> Vec<View> {
    let mut all: Vec<View> = socket::sessions(dir)
        .into_iter()
        .filter_map(|(_, path)| socket::ask(&path, &Request::List).ok())
        .filter(|reply| reply.ok)
        .flat_map(|reply| reply.pending.unwrap_or_default())
        .collect();
    all.sort_by(|a, b| a.since.cmp(&b.since).then(a.id.cmp(&b.id)));
    all
}

fn answer(id: &str, args: &ApproveArgs) -> anyhow::Result<u8> {
    if !args.allow && !args.deny {
        bail!("say what to do with {id}: --allow or --deny");
    }
    if !args.pattern.is_empty() && args.scope != Scope::Always {
        bail!("--pattern goes with --scope always");
    }
    let mut widened = always::ArgPatterns::new();
    for text in &args.pattern {
        let (key, glob) =
            always::parse_pattern(text).map_err(|e| anyhow::anyhow!("--pattern: {e}"))?;
        widened.insert(key, glob);
    }
    let pattern = (!widened.is_empty()).then_some(widened);
    let dir = runtime_dir::existing()?.with_context(|| {
        format!("no session is running that could hold {id} (no approval directory)")
    })?;
    let pid = id
        .split_once('-')
        .and_then(|(pid, _)| pid.parse::<u32>().ok())
        .with_context(|| {
            format!(
                "`{id}` is not an approval id (they look like 1234-1; see mcpguard approve --list)"
            )
        })?;
    let path = dir.join(format!("{pid}.sock"));
    let request = Request::Answer {
        id: id.to_owned(),
        allow: args.allow,
        scope: args.scope,
        pattern,
    };
    let reply = socket::ask(&path, &request).with_context(|| {
        format!(
            "no running session holds {id} (cannot reach {})",
            path.display()
        )
    })?;
    if !reply.ok {
        bail!(
            "{}",
            reply
                .error
                .unwrap_or_else(|| "the session refused the answer".into())
        );
    }
    let mut out = super::output::stdout();
    if args.allow {
        writeln!(out, "allowed {id} ({})", args.scope.name())?;
    } else {
        writeln!(out, "denied {id}")?;
    }
    Ok(0)
}

fn list(json: bool) -> anyhow::Result<u8> {
    let views = match runtime_dir::existing()? {
        Some(dir) => pending(&dir),
        None => Vec::new(),
    };
    let mut out = super::output::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&views)?)?;
        return Ok(0);
    }
    if views.is_empty() {
        writeln!(out, "no call waits for approval")?;
    }
    for view in &views {
        write!(out, "{}", details(view))?;
    }
    Ok(0)
}

fn watch(dir: &Path, json: bool) -> anyhow::Result<u8> {
    let mut seen = HashSet::new();
    let mut out = super::output::stdout();
    loop {
        for view in pending(dir) {
            if !seen.insert(view.id.clone()) {
                continue;
            }
            if json {
                writeln!(out, "{}", serde_json::to_string(&view)?)?;
            } else {
                write!(out, "{}", details(&view))?;
            }
            out.flush()?;
        }
        std::thread::sleep(POLL);
    }
}

/// One pending call in full: every argument (long values shortened), the rule, the time left.
fn details(view: &View) -> String {
    let mut text = format!(
        "{}  {} › {}  (pid {}, {}s left)\n",
        terminal::escape(&view.id),
        terminal::escape(&view.server),
        terminal::escape(&view.tool),
        view.pid,
        view.remaining_ms / 1000
    );
    if view.shown.is_empty() {
        text.push_str("    no arguments\n");
    }
    for (key, value) in &view.shown {
        text.push_str(&format!("    {key}: {value}\n"));
    }
    text.push_str(&format!(
        "    asked by {}: {}\n    call digest {}\n",
        terminal::escape(&view.rule),
        terminal::escape(&view.reason),
        view.digest.get(..12).unwrap_or(&view.digest)
    ));
    text
}

/// The globs for an "always" answer: one field per string argument, filled with its exact
/// value (glob characters escaped), for the person to widen; every other value stays
/// exact. None: given up (an empty field).
fn widen(
    term: &dialoguer::console::Term,
    view: &View,
) -> anyhow::Result<Option<always::ArgPatterns>> {
    let mut widened = always::ArgPatterns::new();
    let Some(map) = view.arguments.as_object() else {
        return Ok(Some(widened));
    };
    term.write_line(
        "Always: a later call runs without asking when it has exactly these arguments, each \
         string matching its glob (* within a path segment, ** across them) and every other \
         value the same. An empty glob gives up.",
    )?;
    for (key, value) in map {
        let Some(text) = value.as_str() else {
            term.write_line(&format!(
                "  {}: {} (exactly)",
                terminal::escape(key),
                crate::columns::clip(&terminal::escape(&value.to_string()), 80)
            ))?;
            continue;
        };
        if terminal::escape(text) != text {
            // Not editable as typed text without showing control characters: kept exact.
            term.write_line(&format!(
                "  {}: kept exactly (it holds control characters)",
                terminal::escape(key)
            ))?;
            continue;
        }
        let glob: String = dialoguer::Input::new()
            .with_prompt(format!("  {} (glob)", terminal::escape(key)))
            .with_initial_text(globset::escape(text))
            .allow_empty(true)
            .validate_with(|typed: &String| {
                if typed.is_empty() {
                    Ok(())
                } else {
                    always::check_glob(typed)
                }
            })
            .interact_text_on(term)?;
        if glob.is_empty() {
            return Ok(None);
        }
        widened.insert(key.clone(), glob);
    }
    Ok(Some(widened))
}

/// One line for the list.
fn summary(view: &View) -> String {
    let arguments: Vec<String> = view
        .shown
        .iter()
        .map(|(key, value)| format!("{key}={}", crate::columns::clip(value, 40)))
        .collect();
    format!(
        "{}  {} › {}  {}  ({}s left)",
        terminal::escape(&view.id),
        terminal::escape(&view.server),
        terminal::escape(&view.tool),
        crate::columns::clip(&arguments.join(" "), 80),
        view.remaining_ms / 1000
    )
}

fn interactive(dir: &Path) -> anyhow::Result<u8> {
    let term = dialoguer::console::Term::stderr();
    let mut waiting_said = false;
    loop {
        let views = pending(dir);
        if views.is_empty() {
            if !waiting_said {
                term.write_line(
                    "No call waits for approval. Watching for new ones (Ctrl-C to quit)…",
                )?;
                waiting_said = true;
            }
            std::thread::sleep(POLL);
            continue;
        }
        waiting_said = false;
        let mut items: Vec<String> = views.iter().map(summary).collect();
        items.push("(refresh the list)".to_owned());
        let Some(chosen) = dialoguer::Select::new()
            .with_prompt(format!("{} call(s) wait for approval", views.len()))
            .items(&items)
            .default(0)
            .interact_on_opt(&term)?
        else {
            continue;
        };
        let Some(view) = views.get(chosen) else {
            continue;
        };
        term.write_str(&details(view))?;
        let choices = [
            "Allow once",
            "Allow for this session (same arguments)",
            "Allow always (calls with these arguments, strings widened to a glob)",
            "Deny",
            "Show every argument in full",
            "Back to the list",
        ];
        let decided = loop {
            let Some(action) = dialoguer::Select::new()
                .with_prompt(format!(
                    "{} › {}",
                    terminal::escape(&view.server),
                    terminal::escape(&view.tool)
                ))
                .items(choices)
                .default(0)
                .interact_on_opt(&term)?
            else {
                break None;
            };
            match action {
                0 => break Some((true, Scope::Once, None)),
                1 => break Some((true, Scope::Session, None)),
                2 => match widen(&term, view)? {
                    Some(widened) => break Some((true, Scope::Always, Some(widened))),
                    None => continue,
                },
                3 => break Some((false, Scope::Once, None)),
                4 => {
                    let full = serde_json::to_string_pretty(&view.arguments)?;
                    term.write_line(&terminal::escape_json(&full))?;
                }
                _ => break None,
            }
        };
        let Some((allow, scope, pattern)) = decided else {
            continue;
        };
        let path = dir.join(format!("{}.sock", view.pid));
        let request = Request::Answer {
            id: view.id.clone(),
            allow,
            scope,
            pattern,
        };
        match socket::ask(&path, &request) {
            Ok(reply) if reply.ok => term.write_line(&format!(
                "{} {}",
                if allow { "allowed" } else { "denied" },
                terminal::escape(&view.id)
            ))?,
            Ok(reply) => term.write_line(&format!(
                "not taken: {}",
                terminal::escape(&reply.error.unwrap_or_default())
            ))?,
            Err(e) => term.write_line(&format!("the session is gone: {e}"))?,
        }
    }
}
