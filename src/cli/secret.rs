//! `mcpguard secret set | list | show | rm`: the user's credentials in the OS keyring.
//!
//! Values come from a no-echo prompt or stdin, never argv, and are printed only by
//! `show --reveal`. What is known about each secret (store, times) is the index's.

use super::args::SecretCommand;
use crate::secrets::index::{self, Meta, Standing};
use crate::secrets::store::{self, Backend};
use crate::terminal;
use std::io::{IsTerminal, Read, Write};
use zeroize::Zeroizing;

pub(crate) fn run(command: SecretCommand) -> anyhow::Result<u8> {
    // This process holds secret values: keep them out of core dumps and other
    // processes' ptrace.
    crate::secrets::keep_private();
    match command {
        SecretCommand::Set { name, ttl, store } => set(&name, ttl.as_deref(), store.as_deref()),
        SecretCommand::List { json } => list(json),
        SecretCommand::Show { name, reveal } => show(&name, reveal),
        SecretCommand::Rm { name } => remove(&name),
    }
}

fn set(name: &str, ttl: Option<&str>, wanted: Option<&str>) -> anyhow::Result<u8> {
    store::check_name(name).map_err(anyhow::Error::msg)?;
    // The same rule as a profile's `ttl`.
    let lifetime = ttl
        .map(|text| {
            crate::secrets::credentials::parse_ttl(text).map_err(|e| anyhow::anyhow!("--ttl: {e}"))
        })
        .transpose()?;
    let backend = match wanted {
        Some(text) => Some(Backend::parse(text)?),
        None => store::chosen()?,
    };
    let value = read_value(name)?;
    let store = store::open(backend)?;
    store.set(name, &value)?;
    let path = index::path()?;
    let now = index::now();
    let meta = Meta {
        store: store.backend,
        created: now,
        expires: lifetime.map(|l| now.saturating_add(l.as_secs())),
        last_used: None,
    };
    let previous = index::update(&path, |index| index.secrets.insert(name.to_owned(), meta))?;
    // A secret moved to another store must not stay behind in the first one.
    if let Some(previous) = previous
        && previous.store != store.backend
        && let Ok(old) = store::open(Some(previous.store))
    {
        let _ = old.remove(name);
    }
    eprintln!(
        "mcpguard: stored {name} in {} ({})",
        store.backend.name(),
        store.backend.lasting()
    );
    Ok(0)
}

/// The value: from a prompt that does not echo when stdin is a terminal, else all of stdin
/// with one trailing newline dropped.
fn read_value(name: &str) -> anyhow::Result<Zeroizing<String>> {
    let value = if std::io::stdin().is_terminal() {
        Zeroizing::new(
            dialoguer::Password::new()
                .with_prompt(format!("value of {name}"))
                .interact()?,
        )
    } else {
        let mut bytes = Zeroizing::new(Vec::new());
        std::io::stdin().take(1 << 20).read_to_end(&mut bytes)?;
        let mut text = Zeroizing::new(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| anyhow::anyhow!("the value on stdin is not UTF-8"))?,
        );
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        text
    };
    if value.is_empty() {
        anyhow::bail!("the value of {name} is empty; nothing stored");
    }
    Ok(value)
}

fn list(json: bool) -> anyhow::Result<u8> {
    let path = index::path()?;
    let index = index::load(&path)?;
    let now = index::now();
    let mut out = super::output::stdout();
    if json {
        let rows: Vec<serde_json::Value> = index
            .secrets
            .iter()
            .map(|(name, meta)| {
                serde_json::json!({
                    "name": name,
                    "store": meta.store,
                    "created": index::shown(meta.created),
                    "expires": meta.expires.map(index::shown),
                    "last_used": meta.last_used.map(index::shown),
                    "standing": meta.standing(now),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(0);
    }
    if index.secrets.is_empty() {
        writeln!(
            out,
            "no secrets stored (mcpguard secret set NAME stores one; index {})",
            path.display()
        )?;
        return Ok(0);
    }
    let mut rows = vec![[
        "NAME".to_owned(),
        "STORE".to_owned(),
        "CREATED".to_owned(),
        "EXPIRES".to_owned(),
        "LAST USED".to_owned(),
        "".to_owned(),
    ]];
    for (name, meta) in &index.secrets {
        rows.push([
            terminal::escape(name).into_owned(),
            meta.store.name().to_owned(),
            index::shown(meta.created),
            meta.expires
                .map(index::shown)
                .unwrap_or_else(|| "never".into()),
            meta.last_used
                .map(index::shown)
                .unwrap_or_else(|| "never".into()),
            match meta.standing(now) {
                Standing::Ok => String::new(),
                Standing::Due => format!("due: rotate with `mcpguard secret set {name}`"),
                Standing::Expired => {
                    format!("EXPIRED: sessions refuse it; `mcpguard secret set {name}`")
                }
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(0)
}

fn show(name: &str, reveal: bool) -> anyhow::Result<u8> {
    store::check_name(name).map_err(anyhow::Error::msg)?;
    let index = index::load(&index::path()?)?;
    let meta = index.secrets.get(name);
    let backend = match meta {
        Some(meta) => Some(meta.store),
        None => store::chosen()?,
    };
    let store = store::open(backend)?;
    // Asked of the store even without --reveal: "show" says whether it is really there.
    let value = store.get(name)?;
    let mut out = super::output::stdout();
    if reveal {
        writeln!(out, "{}", value.as_str())?;
        return Ok(0);
    }
    let now = index::now();
    writeln!(out, "name:       {}", terminal::escape(name))?;
    writeln!(out, "store:      {}", store.backend.name())?;
    match meta {
        Some(meta) => {
            writeln!(out, "created:    {}", index::shown(meta.created))?;
            writeln!(
                out,
                "expires:    {}",
                meta.expires
                    .map(index::shown)
                    .unwrap_or_else(|| "never".into())
            )?;
            writeln!(
                out,
                "last used:  {}",
                meta.last_used
                    .map(index::shown)
                    .unwrap_or_else(|| "never".into())
            )?;
            writeln!(
                out,
                "standing:   {}",
                match meta.standing(now) {
                    Standing::Ok => "ok",
                    Standing::Due => "due for rotation",
                    Standing::Expired => "expired (sessions refuse it)",
                }
            )?;
        }
        None => writeln!(
            out,
            "(stored outside mcpguard: no creation or expiry known)"
        )?,
    }
    writeln!(
        out,
        "length:     {} bytes (--reveal prints it)",
        value.len()
    )?;
    Ok(0)
}

fn remove(name: &str) -> anyhow::Result<u8> {
    store::check_name(name).map_err(anyhow::Error::msg)?;
    let path = index::path()?;
    let meta = index::load(&path)?.secrets.get(name).cloned();
    let backend = match &meta {
        Some(meta) => Some(meta.store),
        None => store::chosen()?,
    };
    let store = store::open(backend)?;
    let removed = store.remove(name)?;
    index::update(&path, |index| index.secrets.remove(name))?;
    if !removed && meta.is_none() {
        anyhow::bail!(
            "no secret named {} in {} (mcpguard secret list shows them)",
            terminal::escape(name),
            store.backend.name()
        );
    }
    eprintln!("mcpguard: removed {name} from {}", store.backend.name());
    Ok(0)
}
