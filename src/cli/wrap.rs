//! `mcpguard wrap` and `mcpguard unwrap`: the agents' files selected, each entry's change
//! decided and said, wrapped entries checked by starting them, the diff shown and
//! confirmed, the files written and the records kept.

use super::args::{Selection, UnwrapArgs, WrapArgs};
use crate::wrap::change::{self, EntryChange};
use crate::wrap::clients::{self, ConfigFile, Places};
use crate::wrap::edit::{self, Edit};
use crate::wrap::entry::{Entry, Launch, Transport};
use crate::wrap::plan::{self, Facts, Kind, Subject};
use crate::wrap::preflight::{self, Outcome, Start};
use crate::wrap::record::{self, Record};
use crate::wrap::rewrite;
use crate::wrap::vars::Variables;
use anyhow::Context;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The `PATH` a desktop application gives the programs it starts.
const DESKTOP_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub(crate) fn wrap(args: WrapArgs) -> anyhow::Result<u8> {
    let places = places()?;
    let files = select_files(&places, &args.selection)?;
    let mcpguard = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context(
            "cannot tell where this mcpguard is (it goes into each entry as an absolute path)",
        )?;
    let mcpguard_text = mcpguard.display().to_string();
    let mut out = super::output::stdout();
    let mut left_out = false;
    let mut matched = false;
    for file in &files {
        let (text, entries) = match read(file) {
            Ok(read) => read,
            Err(e) => {
                writeln!(out, "{}: {e:#}", shown(&file.path))?;
                left_out = true;
                continue;
            }
        };
        writeln!(
            out,
            "{} ({} config)",
            shown(&file.path),
            file.client.label()
        )?;
        let variables = variables(&places, file);
        let mut changes: Vec<(EntryChange, Action)> = Vec::new();
        for entry in entries.iter().filter(|e| selected(&args.selection, e)) {
            matched = true;
            let launch = match &entry.transport {
                Transport::Stdio(launch) => launch,
                Transport::Remote(how) => {
                    writeln!(
                        out,
                        "  {}: left alone: a remote server ({how}); mcpguard wraps stdio servers",
                        entry.name
                    )?;
                    continue;
                }
                Transport::Other(why) => {
                    writeln!(out, "  {}: left alone: {why}", entry.name)?;
                    continue;
                }
            };
            if let Some(wrapped) = edit::wrapped(launch) {
                match args.profile.as_deref() {
                    Some(profile) if profile != wrapped.profile => {
                        let edits = edit::set_profile(&text, launch, profile);
                        let mut argv_after = launch.argv();
                        argv_after = with_profile(argv_after, wrapped.separator, profile);
                        writeln!(
                            out,
                            "  {}: profile {} → {profile}",
                            entry.name, wrapped.profile
                        )?;
                        changes.push((
                            EntryChange {
                                locator: entry.locator.clone(),
                                edits,
                                argv_after,
                            },
                            Action::Reprofile,
                        ));
                    }
                    _ => writeln!(
                        out,
                        "  {}: already wrapped (profile {})",
                        entry.name, wrapped.profile
                    )?,
                }
                continue;
            }
            if edit::is_mcpguard(&launch.command.value) {
                writeln!(
                    out,
                    "  {}: left alone: it runs mcpguard already, but not as `mcpguard run … --`",
                    entry.name
                )?;
                continue;
            }
            let subject = Subject {
                name: entry.name.clone(),
                argv: launch.argv(),
                env_names: env_names(file, launch, &variables, &mut out)?,
            };
            let facts = RealFacts {
                variables: &variables,
            };
            let choice = plan::choose(&subject, args.profile.as_deref(), &facts);
            writeln!(out, "  {}: wrap with profile {}", entry.name, choice.why)?;
            for note in &choice.notes {
                writeln!(out, "      {note}")?;
            }
            let edits = edit::wrap(&text, launch, &mcpguard_text, &choice.options);
            let argv_after: Vec<String> = std::iter::once(mcpguard_text.clone())
                .chain(choice.options.iter().cloned())
                .chain(launch.argv())
                .collect();
            changes.push((
                EntryChange {
                    locator: entry.locator.clone(),
                    edits,
                    argv_after,
                },
                Action::Wrap,
            ));
        }
        if changes.is_empty() {
            continue;
        }
        if args.selection.dry_run || args.no_check {
            let why = if args.selection.dry_run {
                "--dry-run"
            } else {
                "--no-check"
            };
            writeln!(out, "  not started to check them ({why})")?;
        } else {
            let mut kept = Vec::new();
            for (change, action) in changes {
                let Some(launch) = change::launch_at(&entries, &change.locator) else {
                    continue;
                };
                let name = entry_name(&entries, &change.locator);
                write!(out, "  checking {name}: ")?;
                out.flush()?;
                match check(
                    file,
                    launch,
                    &change.argv_after,
                    &variables,
                    &places,
                    args.check_timeout,
                ) {
                    Ok(Outcome::Served(tools)) => {
                        if tools.is_empty() {
                            writeln!(
                                out,
                                "it serves no tool through mcpguard: the profile denies and hides every one; left as it was (choose another with --profile)"
                            )?;
                            left_out = true;
                            continue;
                        }
                        writeln!(
                            out,
                            "answered initialize and tools/list ({} tools: {})",
                            tools.len(),
                            tool_list(&tools)
                        )?;
                        kept.push((change, action));
                    }
                    Ok(Outcome::Failed(why)) => {
                        writeln!(out, "FAILED, left as it was: {why}")?;
                        left_out = true;
                    }
                    Err(unchecked) => {
                        writeln!(out, "not checked: {unchecked}; written unchecked")?;
                        kept.push((change, action));
                    }
                }
            }
            changes = kept;
            if changes.is_empty() {
                continue;
            }
        }
        let entry_changes: Vec<EntryChange> = changes.iter().map(|(c, _)| c.clone()).collect();
        let (new_text, after) = change::apply(&text, &entries, &entry_changes, |t| file.entries(t))
            .with_context(|| shown(&file.path))?;
        let backup = match put_in_place(&mut out, &args.selection, file, &text, &new_text)? {
            Written::Yes(backup) => backup,
            Written::DryRun => continue,
            Written::Declined => {
                left_out = true;
                continue;
            }
        };
        let canonical = file
            .path
            .canonicalize()
            .unwrap_or_else(|_| file.path.clone());
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let mut fresh: Vec<Record> = Vec::new();
        let mut moved: Vec<(String, String, String)> = Vec::new();
        for (change, action) in &changes {
            let (Some(before), Some(now_launch)) = (
                change::launch_at(&entries, &change.locator),
                change::launch_at(&after, &change.locator),
            ) else {
                continue;
            };
            let new_digest = record::digest(&new_text[now_launch.region()]);
            match action {
                Action::Wrap => fresh.push(Record {
                    file: canonical.clone(),
                    locator: change.locator.clone(),
                    original: text[before.region()].to_owned(),
                    wrapped_sha256: new_digest,
                    wrapped_at: now.clone(),
                }),
                Action::Reprofile => moved.push((
                    change.locator.clone(),
                    record::digest(&text[before.region()]),
                    new_digest,
                )),
            }
        }
        record::update(|all| {
            all.retain(|r| !(r.file == canonical && fresh.iter().any(|f| f.locator == r.locator)));
            for r in all.iter_mut().filter(|r| r.file == canonical) {
                if let Some((_, old, new)) = moved
                    .iter()
                    .find(|(l, old, _)| *l == r.locator && *old == r.wrapped_sha256)
                {
                    let _ = old;
                    r.wrapped_sha256.clone_from(new);
                }
            }
            all.extend(fresh.iter().cloned());
        })?;
        wrote(&mut out, file, &backup)?;
    }
    if !args.selection.server.is_empty() && !matched {
        writeln!(
            out,
            "no entry named {} in the selected configs",
            args.selection.server.join(", ")
        )?;
        return Ok(1);
    }
    Ok(u8::from(left_out))
}

pub(crate) fn unwrap(args: UnwrapArgs) -> anyhow::Result<u8> {
    let places = places()?;
    let files = select_files(&places, &args.selection)?;
    let records = record::load()?;
    let mut out = super::output::stdout();
    let mut left_out = false;
    let mut matched = false;
    for file in &files {
        let (text, entries) = match read(file) {
            Ok(read) => read,
            Err(e) => {
                writeln!(out, "{}: {e:#}", shown(&file.path))?;
                left_out = true;
                continue;
            }
        };
        let canonical = file
            .path
            .canonicalize()
            .unwrap_or_else(|_| file.path.clone());
        writeln!(
            out,
            "{} ({} config)",
            shown(&file.path),
            file.client.label()
        )?;
        let mut changes = Vec::new();
        for entry in entries.iter().filter(|e| selected(&args.selection, e)) {
            matched = true;
            let Transport::Stdio(launch) = &entry.transport else {
                continue;
            };
            let Some(wrapped) = edit::wrapped(launch) else {
                writeln!(out, "  {}: not wrapped", entry.name)?;
                continue;
            };
            let region = launch.region();
            let recorded = record::find(&records, &canonical, &entry.locator)
                .filter(|r| r.wrapped_sha256 == record::digest(&text[region.clone()]));
            let edits = match recorded {
                Some(r) => {
                    writeln!(out, "  {}: restored as it was before wrap", entry.name)?;
                    vec![Edit {
                        range: region,
                        text: r.original.clone(),
                    }]
                }
                None => {
                    let Some(edits) = edit::unwrap_from_argv(&text, launch, &wrapped) else {
                        writeln!(
                            out,
                            "  {}: cannot be unwrapped: its arguments after `--` are missing or laid out in a way mcpguard does not edit",
                            entry.name
                        )?;
                        left_out = true;
                        continue;
                    };
                    let why = if record::find(&records, &canonical, &entry.locator).is_some() {
                        "it was edited since it was wrapped"
                    } else {
                        "no record of it was kept (wrapped by hand or elsewhere)"
                    };
                    writeln!(
                        out,
                        "  {}: WARNING: {why}: rebuilt from its arguments after `--`; what the entry said beyond its command and arguments before wrap (an absent `args`, other spellings) cannot be restored",
                        entry.name
                    )?;
                    edits
                }
            };
            changes.push(EntryChange {
                locator: entry.locator.clone(),
                edits,
                argv_after: wrapped.original.clone(),
            });
        }
        if changes.is_empty() {
            continue;
        }
        let (new_text, _) = change::apply(&text, &entries, &changes, |t| file.entries(t))
            .with_context(|| shown(&file.path))?;
        let backup = match put_in_place(&mut out, &args.selection, file, &text, &new_text)? {
            Written::Yes(backup) => backup,
            Written::DryRun => continue,
            Written::Declined => {
                left_out = true;
                continue;
            }
        };
        let done: Vec<String> = changes.iter().map(|c| c.locator.clone()).collect();
        record::update(|all| all.retain(|r| !(r.file == canonical && done.contains(&r.locator))))?;
        wrote(&mut out, file, &backup)?;
    }
    if !args.selection.server.is_empty() && !matched {
        writeln!(
            out,
            "no entry named {} in the selected configs",
            args.selection.server.join(", ")
        )?;
        return Ok(1);
    }
    Ok(u8::from(left_out))
}

/// What became of a file's change.
enum Written {
    /// Written; the backup of what was there.
    Yes(PathBuf),
    DryRun,
    Declined,
}

/// Shows the diff, asks, and writes `new_text` over `text` (with a backup).
fn put_in_place(
    out: &mut impl Write,
    selection: &Selection,
    file: &ConfigFile,
    text: &str,
    new_text: &str,
) -> anyhow::Result<Written> {
    write!(out, "{}", rewrite::diff(&file.path, text, new_text))?;
    if selection.dry_run {
        return Ok(Written::DryRun);
    }
    if !confirmed(selection, &file.path)? {
        writeln!(out, "  {} left as it was", shown(&file.path))?;
        return Ok(Written::Declined);
    }
    Ok(Written::Yes(rewrite::replace(&file.path, text, new_text)?))
}

fn wrote(out: &mut impl Write, file: &ConfigFile, backup: &Path) -> anyhow::Result<()> {
    writeln!(
        out,
        "  wrote {} (backup: {}); {}",
        shown(&file.path),
        backup.display(),
        file.client.reload_hint()
    )?;
    Ok(())
}

/// What a change does, for its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Wrap,
    Reprofile,
}

pub(crate) fn places() -> anyhow::Result<Places> {
    let home = crate::paths::home().ok_or_else(|| {
        anyhow::anyhow!("HOME is not set: cannot tell where the agents' configs are")
    })?;
    Ok(Places {
        config_home: crate::paths::config_home().unwrap_or_else(|| home.join(".config")),
        codex_home: crate::paths::codex_home().unwrap_or_else(|| home.join(".codex")),
        project: std::env::current_dir().context("the current directory")?,
        home,
    })
}

fn select_files(places: &Places, selection: &Selection) -> anyhow::Result<Vec<ConfigFile>> {
    if !selection.config.is_empty() {
        if selection.client.len() > 1 {
            anyhow::bail!("--config takes at most one --client (the agent the files belong to)");
        }
        return selection
            .config
            .iter()
            .map(|path| clients::named(places, path, selection.client.first().copied()))
            .collect();
    }
    let files: Vec<ConfigFile> = clients::found(places)
        .into_iter()
        .filter(|f| selection.client.is_empty() || selection.client.contains(&f.client))
        .collect();
    if files.is_empty() {
        anyhow::bail!(
            "no agent config found{} (`mcpguard clients` lists where each agent's is looked for); name one with --config FILE",
            if selection.client.is_empty() {
                String::new()
            } else {
                " for the agents named with --client".to_owned()
            }
        );
    }
    Ok(files)
}

pub(crate) fn read(file: &ConfigFile) -> anyhow::Result<(String, Vec<Entry>)> {
    let bytes = std::fs::read(&file.path).with_context(|| "cannot read it".to_owned())?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "it is not UTF-8 text (byte {}); it was left untouched",
            e.utf8_error().valid_up_to()
        )
    })?;
    let entries = file
        .entries(&text)
        .map_err(|e| anyhow::anyhow!("cannot be read: {e}; it was left untouched"))?;
    Ok((text, entries))
}

fn selected(selection: &Selection, entry: &Entry) -> bool {
    selection.server.is_empty() || selection.server.contains(&entry.name)
}

fn entry_name(entries: &[Entry], locator: &str) -> String {
    entries
        .iter()
        .find(|e| e.locator == locator)
        .map(|e| e.name.clone())
        .unwrap_or_default()
}

/// The file's path with the home directory as `~`.
pub(crate) fn shown(path: &Path) -> String {
    match crate::paths::home().and_then(|h| path.strip_prefix(h).ok().map(Path::to_path_buf)) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

fn variables(places: &Places, file: &ConfigFile) -> Variables {
    Variables {
        environment: crate::paths::environment().into_iter().collect(),
        home: Some(places.home.clone()),
        workspace: (file.scope == clients::Scope::Project).then(|| places.project.clone()),
    }
}

/// The names the server is given: the entry's `env`, Codex's `env_vars`, and the names in
/// an `envFile` mcpguard can read.
fn env_names(
    file: &ConfigFile,
    launch: &Launch,
    variables: &Variables,
    out: &mut impl Write,
) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = launch.env.iter().map(|(k, _)| k.clone()).collect();
    names.extend(launch.env_names.iter().cloned());
    if let Some(env_file) = &launch.env_file {
        let path = variables.expand(env_file).map(PathBuf::from).map(|p| {
            if p.is_relative() {
                file.path.parent().unwrap_or(Path::new(".")).join(p)
            } else {
                p
            }
        });
        match path.as_ref().map(std::fs::read_to_string) {
            Some(Ok(contents)) => names.extend(contents.lines().filter_map(|line| {
                let line = line.trim().trim_start_matches("export ");
                let (name, _) = line.split_once('=')?;
                let name = name.trim();
                (!name.is_empty() && !name.starts_with('#')).then(|| name.to_owned())
            })),
            _ => writeln!(
                out,
                "      its envFile {env_file} cannot be read here: its variables are not passed to the server; add `--env NAME` to the wrapped args for each"
            )?,
        }
    }
    Ok(names)
}

fn with_profile(mut argv: Vec<String>, separator: usize, profile: &str) -> Vec<String> {
    // argv[0] is the command; args start at 1, so `--` is at separator + 1.
    let options = 2..separator + 1;
    let mut found = false;
    for i in options.clone() {
        if argv[i] == "--profile" && i + 1 < argv.len() {
            argv[i + 1] = profile.to_owned();
            found = true;
        } else if argv[i].starts_with("--profile=") {
            argv[i] = format!("--profile={profile}");
            found = true;
        }
    }
    if !found {
        argv.splice(2..2, ["--profile".to_owned(), profile.to_owned()]);
    }
    argv
}

fn tool_list(tools: &[String]) -> String {
    let shown: Vec<String> = tools
        .iter()
        .take(8)
        .map(|t| crate::terminal::escape(t).into_owned())
        .collect();
    if tools.len() > shown.len() {
        format!("{}, …", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Starts the wrapped entry as the agent would. Err: it cannot be started here (a value
/// only the agent can fill in).
fn check(
    file: &ConfigFile,
    launch: &Launch,
    argv_after: &[String],
    variables: &Variables,
    places: &Places,
    patience: std::time::Duration,
) -> Result<Outcome, String> {
    let mut expanded = Vec::with_capacity(argv_after.len());
    for arg in argv_after {
        expanded.push(variables.expand(arg).ok_or_else(|| {
            format!(
                "its argument {arg} holds a variable only {} can fill in",
                file.client.label()
            )
        })?);
    }
    // The agent hands its servers the session's environment (mcpguard then passes the
    // server only what its profile allows), with a desktop application's PATH.
    let mut env: Vec<(String, String)> = crate::paths::environment()
        .into_iter()
        .filter(|(k, _)| k != "PATH")
        .collect();
    let path = if file.client.is_desktop_app() {
        DESKTOP_PATH.to_owned()
    } else {
        crate::paths::search_path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| DESKTOP_PATH.to_owned())
    };
    env.push(("PATH".to_owned(), path));
    for (name, value) in &launch.env {
        let value = variables.expand(value).ok_or_else(|| {
            format!(
                "its variable {name} holds a value only {} can fill in",
                file.client.label()
            )
        })?;
        env.retain(|(k, _)| k != name);
        env.push((name.clone(), value));
    }
    let cwd = launch
        .cwd
        .as_deref()
        .and_then(|c| variables.expand(c))
        .map(PathBuf::from)
        .unwrap_or_else(|| match file.scope {
            clients::Scope::Project => places.project.clone(),
            clients::Scope::User => places.home.clone(),
        });
    let start = Start {
        program: PathBuf::from(&expanded[0]),
        args: expanded[1..].to_vec(),
        env,
        cwd,
    };
    Ok(preflight::check(&start, patience))
}

fn confirmed(selection: &Selection, path: &Path) -> anyhow::Result<bool> {
    if selection.yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "{}: not written: stdin is not a terminal to confirm the change on; run again with --yes to write it, or --dry-run to only see it",
            shown(path)
        );
    }
    dialoguer::Confirm::new()
        .with_prompt(format!("Write these changes to {}?", shown(path)))
        .default(false)
        .interact()
        .context("could not ask for confirmation")
}

/// The facts the choice needs, from this machine.
struct RealFacts<'a> {
    variables: &'a Variables,
}

impl Facts for RealFacts<'_> {
    fn kind(&self, path: &Path) -> Kind {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Kind::Directory,
            Ok(_) => Kind::File,
            Err(_) => Kind::Missing,
        }
    }

    fn resolve(&self, program: &str) -> Vec<PathBuf> {
        let found = if program.contains('/') {
            Some(PathBuf::from(program))
        } else {
            crate::paths::search_path().and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(program))
                    .find(|candidate| candidate.is_file())
            })
        };
        let Some(found) = found else {
            return Vec::new();
        };
        let canonical = found.canonicalize().ok();
        std::iter::once(found).chain(canonical).collect()
    }

    fn expand(&self, value: &str) -> Option<String> {
        self.variables.expand(value)
    }
}
