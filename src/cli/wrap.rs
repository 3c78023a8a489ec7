//! `mcpguard wrap` and `mcpguard unwrap`: the agents' files selected, each entry's change
//! decided and said, the diff shown and confirmed, wrapped entries checked by starting
//! them (only once the user agreed: a project's config is not trusted to run anything
//! before), the files written and the records kept.

use super::args::{Selection, UnwrapArgs, WrapArgs};
use crate::terminal::escape;
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
    let mcpguard = this_mcpguard()?;
    each_file(&args.selection, &files, |out, file, matched| {
        wrap_file(out, &args, &places, file, &mcpguard, matched)
    })
}

pub(crate) fn unwrap(args: UnwrapArgs) -> anyhow::Result<u8> {
    let places = places()?;
    let files = select_files(&places, &args.selection)?;
    let records = record::load()?;
    each_file(&args.selection, &files, |out, file, matched| {
        unwrap_file(out, &args.selection, file, &records, matched)
    })
}

/// Runs `work` on each file: a file's failure is said and the next file goes on (only a
/// reader gone or nobody to confirm with stops everything). Exit 1 when anything was left
/// out, or a `--server` named nothing.
fn each_file(
    selection: &Selection,
    files: &[ConfigFile],
    mut work: impl FnMut(&mut super::output::Stdout, &ConfigFile, &mut bool) -> anyhow::Result<bool>,
) -> anyhow::Result<u8> {
    let mut out = super::output::stdout();
    let mut all_fine = true;
    let mut matched = false;
    for file in files {
        match work(&mut out, file, &mut matched) {
            Ok(fine) => all_fine &= fine,
            Err(e) if ends_everything(&e) => return Err(e),
            Err(e) => {
                writeln!(out, "{}: {}", shown(&file.path), escape(&format!("{e:#}")))?;
                all_fine = false;
            }
        }
    }
    if !selection.server.is_empty() && !matched {
        writeln!(
            out,
            "no entry named {} in the selected configs",
            escape(&selection.server.join(", "))
        )?;
        return Ok(1);
    }
    Ok(u8::from(!all_fine))
}

/// Wraps the selected entries of one file; false when one was left out.
fn wrap_file(
    out: &mut impl Write,
    args: &WrapArgs,
    places: &Places,
    file: &ConfigFile,
    mcpguard: &str,
    matched: &mut bool,
) -> anyhow::Result<bool> {
    let (text, entries) = read(file)?;
    heading(out, file)?;
    let variables = variables(places, file);
    let facts = RealFacts {
        variables: &variables,
    };
    let confine = (file.scope == clients::Scope::Project).then(|| places.project.clone());
    let mut fine = true;
    let mut changes: Vec<(EntryChange, Action)> = Vec::new();
    for entry in entries.iter().filter(|e| selected(&args.selection, e)) {
        *matched = true;
        let name = escape(&entry.name).into_owned();
        let launch = match &entry.transport {
            Transport::Stdio(launch) => launch,
            Transport::Remote(how) => {
                writeln!(
                    out,
                    "  {name}: left alone: a remote server ({}); mcpguard wraps stdio servers",
                    escape(how)
                )?;
                continue;
            }
            Transport::Other(why) => {
                writeln!(out, "  {name}: left alone: {}", escape(why))?;
                continue;
            }
        };
        let (names, unread) = env_names(file, launch, &variables);
        let subject = |argv: Vec<String>| Subject {
            name: entry.name.clone(),
            argv,
            env_names: names.clone(),
            confine: confine.clone(),
        };
        if let Some(wrapped) = edit::wrapped(launch) {
            let Some(profile) = args.profile.as_deref().filter(|p| *p != wrapped.profile) else {
                writeln!(
                    out,
                    "  {name}: already wrapped (profile {})",
                    escape(&wrapped.profile)
                )?;
                continue;
            };
            let subject = subject(wrapped.original.clone());
            let before = plan::choose(&subject, Some(&wrapped.profile), &facts);
            let ours = before.options[1..before.options.len() - 1] == wrapped.options[..];
            let changed = if ours {
                let after = plan::choose(&subject, Some(profile), &facts);
                writeln!(
                    out,
                    "  {name}: profile {} → {}, its grants chosen again for it",
                    escape(&wrapped.profile),
                    escape(profile)
                )?;
                for note in &after.notes {
                    writeln!(out, "      {}", escape(note))?;
                }
                edit::set_options(
                    &text,
                    launch,
                    &wrapped,
                    &after.options[1..after.options.len() - 1],
                )
            } else {
                writeln!(
                    out,
                    "  {name}: profile {} → {}; its other options were changed by hand and stay as they are: check that they suit the new profile",
                    escape(&wrapped.profile),
                    escape(profile)
                )?;
                edit::set_profile(&text, launch, &wrapped, profile)
            };
            let (edit, argv_after) =
                changed.context("its arguments are laid out in a way mcpguard does not edit")?;
            changes.push((
                EntryChange {
                    locator: entry.locator.clone(),
                    edits: vec![edit],
                    argv_after,
                },
                Action::Reprofile,
            ));
            continue;
        }
        if edit::is_mcpguard(&launch.command.value) {
            writeln!(
                out,
                "  {name}: left alone: it runs mcpguard already, but not as `mcpguard run … --`"
            )?;
            continue;
        }
        let subject = subject(launch.argv());
        let choice = plan::choose(&subject, args.profile.as_deref(), &facts);
        writeln!(out, "  {name}: wrap with profile {}", escape(&choice.why))?;
        for note in choice.notes.iter().chain(&unread) {
            writeln!(out, "      {}", escape(note))?;
        }
        let edits = edit::wrap(&text, launch, mcpguard, &choice.options);
        let argv_after: Vec<String> = std::iter::once(mcpguard.to_owned())
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
        return Ok(fine);
    }
    let all: Vec<EntryChange> = changes.iter().map(|(c, _)| c.clone()).collect();
    let (shown_text, _) = change::apply(&text, &entries, &all, |t| file.entries(t))?;
    write_diff(out, file, &text, &shown_text)?;
    if args.selection.dry_run {
        writeln!(out, "  nothing written, nothing started (--dry-run)")?;
        return Ok(fine);
    }
    // Nothing the file names runs before the user agreed to this change.
    if !confirmed(&args.selection, &file.path)? {
        writeln!(out, "  {} left as it was", shown(&file.path))?;
        return Ok(false);
    }
    if args.no_check {
        writeln!(out, "  not started to check them (--no-check)")?;
    } else {
        let mut kept = Vec::new();
        for (change, action) in changes {
            let Some(launch) = change::launch_at(&entries, &change.locator) else {
                continue;
            };
            write!(
                out,
                "  checking {}: ",
                escape(&entry_name(&entries, &change.locator))
            )?;
            out.flush()?;
            match check(
                file,
                launch,
                &change.argv_after,
                &variables,
                places,
                args.check_timeout,
            ) {
                Ok(Outcome::Served(tools)) if tools.is_empty() => {
                    writeln!(
                        out,
                        "NOT written: it offers no tool through mcpguard: either the profile denies and hides every tool it has (choose another with --profile), or it has none (wrap it with --no-check)"
                    )?;
                    fine = false;
                }
                Ok(Outcome::Served(tools)) => {
                    writeln!(
                        out,
                        "answered initialize and tools/list ({} tools: {})",
                        tools.len(),
                        tool_list(&tools)
                    )?;
                    kept.push((change, action));
                }
                Ok(Outcome::Failed(why)) => {
                    writeln!(out, "FAILED, NOT written: {why}")?;
                    fine = false;
                }
                Err(unchecked) => {
                    writeln!(
                        out,
                        "not checked: {}; written unchecked",
                        escape(&unchecked)
                    )?;
                    kept.push((change, action));
                }
            }
        }
        changes = kept;
    }
    if changes.is_empty() {
        writeln!(out, "  {} left as it was", shown(&file.path))?;
        return Ok(fine);
    }
    let kept: Vec<EntryChange> = changes.iter().map(|(c, _)| c.clone()).collect();
    let (new_text, after) = change::apply(&text, &entries, &kept, |t| file.entries(t))?;
    if new_text != shown_text {
        writeln!(
            out,
            "  only the entries that passed their check are written:"
        )?;
        write_diff(out, file, &text, &new_text)?;
    }
    let backup = rewrite::replace(&file.path, &text, &new_text)?;
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
            // A record still matching the entry follows it to its new profile.
            if let Some((_, _, new)) = moved
                .iter()
                .find(|(l, old, _)| *l == r.locator && *old == r.wrapped_sha256)
            {
                r.wrapped_sha256.clone_from(new);
            }
        }
        all.extend(fresh.iter().cloned());
    })?;
    wrote(out, file, &backup)?;
    Ok(fine)
}

/// Unwraps the selected entries of one file; false when one could not be.
fn unwrap_file(
    out: &mut impl Write,
    selection: &Selection,
    file: &ConfigFile,
    records: &[Record],
    matched: &mut bool,
) -> anyhow::Result<bool> {
    let (text, entries) = read(file)?;
    let canonical = file
        .path
        .canonicalize()
        .unwrap_or_else(|_| file.path.clone());
    heading(out, file)?;
    let mut fine = true;
    let mut changes = Vec::new();
    for entry in entries.iter().filter(|e| selected(selection, e)) {
        *matched = true;
        let name = escape(&entry.name).into_owned();
        let Transport::Stdio(launch) = &entry.transport else {
            continue;
        };
        let Some(wrapped) = edit::wrapped(launch) else {
            writeln!(out, "  {name}: not wrapped")?;
            continue;
        };
        let region = launch.region();
        let recorded = record::find(records, &canonical, &entry.locator);
        let matching =
            recorded.filter(|r| r.wrapped_sha256 == record::digest(&text[region.clone()]));
        let edits = match matching {
            Some(r) => {
                writeln!(out, "  {name}: restored as it was before wrap")?;
                vec![Edit {
                    range: region,
                    text: r.original.clone(),
                }]
            }
            None => {
                let Some(edits) = edit::unwrap_from_argv(&text, launch, &wrapped) else {
                    writeln!(
                        out,
                        "  {name}: cannot be unwrapped: its arguments after `--` are missing or laid out in a way mcpguard does not edit; edit it by hand"
                    )?;
                    fine = false;
                    continue;
                };
                let why = if recorded.is_some() {
                    "it was edited since it was wrapped"
                } else {
                    "no record of it was kept (wrapped by hand or elsewhere)"
                };
                writeln!(
                    out,
                    "  {name}: WARNING: {why}: rebuilt from its arguments after `--`; what the entry said beyond its command and arguments before wrap (an absent `args`, other spellings) cannot be restored"
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
        return Ok(fine);
    }
    let (new_text, _) = change::apply(&text, &entries, &changes, |t| file.entries(t))?;
    write_diff(out, file, &text, &new_text)?;
    if selection.dry_run {
        writeln!(out, "  nothing written (--dry-run)")?;
        return Ok(fine);
    }
    if !confirmed(selection, &file.path)? {
        writeln!(out, "  {} left as it was", shown(&file.path))?;
        return Ok(false);
    }
    let backup = rewrite::replace(&file.path, &text, &new_text)?;
    let done: Vec<String> = changes.iter().map(|c| c.locator.clone()).collect();
    record::update(|all| all.retain(|r| !(r.file == canonical && done.contains(&r.locator))))?;
    wrote(out, file, &backup)?;
    Ok(fine)
}

/// The diff, each line shown as a terminal may show it (a hostile file must not be able to
/// hide or forge lines above the question).
fn write_diff(
    out: &mut impl Write,
    file: &ConfigFile,
    before: &str,
    after: &str,
) -> anyhow::Result<()> {
    let target = file
        .path
        .canonicalize()
        .unwrap_or_else(|_| file.path.clone());
    if target != file.path {
        writeln!(
            out,
            "  ({} is a link: the file written is {})",
            shown(&file.path),
            shown(&target)
        )?;
    }
    for line in rewrite::diff(&target, before, after).lines() {
        writeln!(out, "{}", escape(line.strip_suffix('\r').unwrap_or(line)))?;
    }
    Ok(())
}

fn wrote(out: &mut impl Write, file: &ConfigFile, backup: &Path) -> anyhow::Result<()> {
    writeln!(
        out,
        "  wrote {} (backup: {}); {}",
        shown(&file.path),
        shown(backup),
        file.client.reload_hint()
    )?;
    Ok(())
}

/// This mcpguard as it is installed: the path the shell found it at (a package manager's
/// link stays valid across upgrades, the versioned file it points to does not), when that
/// path is this program.
fn this_mcpguard() -> anyhow::Result<String> {
    let running = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context(
            "cannot tell where this mcpguard is (it goes into each entry as an absolute path)",
        )?;
    let invoked = std::env::args_os().next().map(PathBuf::from);
    let search_path = crate::paths::search_path();
    let candidate = invoked
        .and_then(|argv0| {
            let argv0 = argv0.to_str()?.to_owned();
            crate::program::resolve(&argv0, search_path.as_deref())
        })
        .and_then(|found| std::path::absolute(found).ok());
    let chosen = candidate
        .filter(|c| c.is_absolute() && c.canonicalize().is_ok_and(|real| real == running))
        .unwrap_or(running);
    Ok(chosen.display().to_string())
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
    // A path names files a repository chose (`.continue/mcpServers/<name>`): escaped.
    let text =
        match crate::paths::home().and_then(|h| path.strip_prefix(h).ok().map(Path::to_path_buf)) {
            Some(rest) => format!("~/{}", rest.display()),
            None => path.display().to_string(),
        };
    escape(&text).into_owned()
}

fn heading(out: &mut impl Write, file: &ConfigFile) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} ({} config)",
        shown(&file.path),
        file.client.label()
    )?;
    Ok(())
}

fn variables(places: &Places, file: &ConfigFile) -> Variables {
    Variables {
        expands: file.client.expands_variables(),
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
) -> (Vec<String>, Option<String>) {
    let mut names: Vec<String> = launch.env.iter().map(|(k, _)| k.clone()).collect();
    names.extend(launch.env_names.iter().cloned());
    let Some(env_file) = &launch.env_file else {
        return (names, None);
    };
    let path = variables.expand(env_file).map(PathBuf::from).map(|p| {
        if p.is_relative() {
            file.path.parent().unwrap_or(Path::new(".")).join(p)
        } else {
            p
        }
    });
    match path.as_ref().map(std::fs::read_to_string) {
        Some(Ok(contents)) => {
            names.extend(contents.lines().filter_map(|line| {
                let line = line.trim().trim_start_matches("export ");
                let (name, _) = line.split_once('=')?;
                let name = name.trim();
                (!name.is_empty() && !name.starts_with('#')).then(|| name.to_owned())
            }));
            (names, None)
        }
        _ => (
            names,
            Some(format!(
                "its envFile {env_file} cannot be read here: its variables are not passed to the server; add `--env NAME` to the wrapped args for each"
            )),
        ),
    }
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
        return Err(NoTerminal(shown(path)).into());
    }
    dialoguer::Confirm::new()
        .with_prompt(format!("Write these changes to {}?", shown(path)))
        .default(false)
        .interact()
        .context("could not ask for confirmation")
}

/// Nobody can be asked: the whole command stops (nothing else is written either).
#[derive(Debug, thiserror::Error)]
#[error(
    "{0}: not written: stdin is not a terminal to confirm the change on; run again with --yes to write it, or --dry-run to only see it"
)]
struct NoTerminal(String);

/// Whether an error ends the whole command rather than one file's part of it.
fn ends_everything(error: &anyhow::Error) -> bool {
    super::output::closed(error) || error.is::<NoTerminal>()
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
        let search_path = crate::paths::search_path();
        let Some(found) = crate::program::resolve(program, search_path.as_deref()) else {
            return Vec::new();
        };
        let canonical = found.canonicalize().ok();
        std::iter::once(found).chain(canonical).collect()
    }

    fn expand(&self, value: &str) -> Option<String> {
        self.variables.expand(value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::Cli;
    use clap::CommandFactory;
    use pretty_assertions::assert_eq;

    /// The wrapped form is read with the list of `run`'s options that take a value.
    #[test]
    fn the_valued_options_of_run_are_the_ones_wrap_skips() {
        let cli = Cli::command();
        let run = cli.find_subcommand("run").unwrap();
        let mut valued: Vec<String> = run
            .get_arguments()
            .chain(cli.get_arguments())
            .filter(|a| a.get_action().takes_values() && a.get_long().is_some())
            .map(|a| format!("--{}", a.get_long().unwrap_or_default()))
            .collect();
        valued.sort();
        let mut known: Vec<String> = crate::wrap::edit::VALUED_OPTIONS
            .iter()
            .map(|o| (*o).to_owned())
            .collect();
        known.sort();
        assert_eq!(valued, known);
    }
}
