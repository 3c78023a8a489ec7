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
    let pattern = match &args.pattern {
        Some(_) if args.scope != Scope::Always => {
            bail!("--pattern goes with --scope always")
        }
        Some(text) => {
            Some(always::parse_patterns(text).map_err(|e| anyhow::anyhow!("--pattern: {e}"))?)
        }
        None => None,
    };
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
            "Allow always (calls matching a pattern)",
            "Deny",
            "Back to the list",
        ];
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
            continue;
        };
        let (allow, scope, pattern) = match action {
            0 => (true, Scope::Once, None),
            1 => (true, Scope::Session, None),
            2 => {
                let exact = always::format_patterns(&always::exact_patterns(&view.arguments));
                let typed: String = dialoguer::Input::new()
                    .with_prompt("Arguments to match (KEY=GLOB, ...; arguments not named are free)")
                    .with_initial_text(exact)
                    .allow_empty(true)
                    .validate_with(|text: &String| always::parse_patterns(text).map(|_| ()))
                    .interact_text_on(&term)?;
                (
                    true,
                    Scope::Always,
                    Some(always::parse_patterns(&typed).map_err(anyhow::Error::msg)?),
                )
            }
            3 => (false, Scope::Once, None),
            _ => continue,
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
