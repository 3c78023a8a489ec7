//! The credentials one session hands its server.
//!
//! Owns: turning the profile's `[secrets.VAR]` tables and `--secret VAR=NAME` into what to
//! fetch, and fetching it each time the server starts: the stored secret (refused past its
//! own expiry), minted into a short-lived token when the profile says so, with the time the
//! server must be given a fresh one. Every value fetched is named for redaction.

use super::index::{self, Standing};
use super::mint;
use super::store::{self, Backend, Store};
use crate::audit::redact::Injected;
use crate::profile::model::{Delivery, SecretSpec};
use crate::sandbox::plan::SecretText;
use std::collections::BTreeMap;
use std::time::Duration;

/// One credential of the session, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    /// The server's environment variable (`GITHUB_TOKEN`).
    pub(crate) variable: String,
    /// The stored secret's name (`mcpguard secret set NAME`).
    pub(crate) key: String,
    pub(crate) delivery: Delivery,
    /// How long a value the server holds may live.
    pub(crate) ttl: Option<Duration>,
    /// The command that mints a token from the stored secret (empty: none).
    pub(crate) mint: Vec<String>,
}

/// What one start of the server gets.
#[derive(Debug, Default)]
pub(crate) struct Issued {
    pub(crate) in_env: Vec<(String, SecretText)>,
    pub(crate) in_files: Vec<(String, SecretText)>,
    /// Every value fetched or minted, named, for redaction.
    pub(crate) injected: Vec<Injected>,
    /// When the shortest-lived of them runs out.
    pub(crate) lifetime: Option<Duration>,
}

/// The shortest a credential may live: the restart it forces has to finish well within it.
const MIN_TTL: Duration = Duration::from_secs(1);

/// The session's credentials: the profile's, then `--secret VAR=NAME` (which replaces a
/// profile entry for the same variable).
pub(crate) fn configured(
    profile: &BTreeMap<String, SecretSpec>,
    flags: &[String],
) -> anyhow::Result<Vec<Credential>> {
    let mut by_variable: BTreeMap<String, Credential> = BTreeMap::new();
    for (variable, spec) in profile {
        let key = format!("secrets.{variable}");
        check_variable(variable).map_err(|e| anyhow::anyhow!("profile key {key}: {e}"))?;
        store::check_name(&spec.key).map_err(|e| anyhow::anyhow!("profile key {key}.key: {e}"))?;
        let ttl = spec
            .ttl
            .as_deref()
            .map(|text| parse_ttl(text).map_err(|e| anyhow::anyhow!("profile key {key}.ttl: {e}")))
            .transpose()?;
        if spec.mint.first().is_some_and(|p| p.is_empty()) {
            anyhow::bail!("profile key {key}.mint: the command is empty");
        }
        by_variable.insert(
            variable.clone(),
            Credential {
                variable: variable.clone(),
                key: spec.key.clone(),
                delivery: spec.delivery.unwrap_or_default(),
                ttl,
                mint: spec.mint.clone(),
            },
        );
    }
    for flag in flags {
        let Some((variable, name)) = flag.split_once('=') else {
            anyhow::bail!(
                "--secret {}: write VAR=NAME (the server's variable, then the stored secret's name)",
                crate::terminal::escape(flag)
            );
        };
        check_variable(variable).map_err(|e| anyhow::anyhow!("--secret {variable}: {e}"))?;
        store::check_name(name).map_err(|e| anyhow::anyhow!("--secret {variable}: {e}"))?;
        by_variable.insert(
            variable.to_owned(),
            Credential {
                variable: variable.to_owned(),
                key: name.to_owned(),
                delivery: Delivery::Env,
                ttl: None,
                mint: Vec::new(),
            },
        );
    }
    Ok(by_variable.into_values().collect())
}

fn check_variable(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let valid = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an environment variable name (letters, digits and `_`, not starting with a digit)",
            crate::terminal::escape(name)
        ))
    }
}

pub(crate) fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text).map_err(|e| {
        format!(
            "`{}` is not a duration ({e}); write e.g. 15m or 1h",
            crate::terminal::escape(text)
        )
    })?;
    if ttl < MIN_TTL {
        return Err(format!(
            "{ttl:?} is shorter than the {MIN_TTL:?} a credential may live"
        ));
    }
    Ok(ttl)
}

/// Fetches every credential for one start of the server; `shown` takes secrets out of
/// what a failing mint command said.
pub(crate) fn issue(credentials: &[Credential]) -> anyhow::Result<Issued> {
    let mut issued = Issued::default();
    if credentials.is_empty() {
        return Ok(issued);
    }
    let index_path = index::path()?;
    let index = index::load(&index_path)?;
    let now = index::now();
    let mut stores: Vec<Store> = Vec::new();
    let mut used = Vec::new();
    for credential in credentials {
        let meta = index.secrets.get(&credential.key);
        if let Some(meta) = meta
            && meta.standing(now) == Standing::Expired
        {
            anyhow::bail!(
                "the secret {} expired at {}: rotate it with `mcpguard secret set {} --ttl DURATION` \
                 (the new value from its issuer), then start the session again",
                credential.key,
                meta.expires.map(index::shown).unwrap_or_default(),
                credential.key
            );
        }
        // The index says where it was stored; without an entry, where a new one would go.
        let backend: Option<Backend> = match meta {
            Some(meta) => Some(meta.store),
            None => store::chosen()?,
        };
        let store = match stores
            .iter()
            .position(|s| Some(s.backend) == backend || backend.is_none())
        {
            Some(at) => &stores[at],
            None => {
                stores.push(store::open(backend)?);
                &stores[stores.len() - 1]
            }
        };
        let secret = store.get(&credential.key)?;
        issued.injected.push(Injected {
            name: credential.key.clone(),
            value: secret.to_string(),
        });
        let value = if credential.mint.is_empty() {
            secret
        } else {
            // What a failing mint command says is shown with the secret taken out in
            // every form it could have printed it in, not only the plain one.
            let redactor = crate::audit::redact::Redactor::new([Injected {
                name: credential.key.clone(),
                value: secret.to_string(),
            }]);
            let scrub = |text: &str| redactor.scrub_injected_text(text).into_owned();
            mint::mint(&credential.mint, &secret, &scrub)
                .map_err(|e| anyhow::anyhow!("secrets.{}: {e}", credential.variable))?
        };
        issued.injected.push(Injected {
            name: credential.key.clone(),
            value: value.to_string(),
        });
        let text = SecretText(value.to_string());
        match credential.delivery {
            Delivery::Env => issued.in_env.push((credential.variable.clone(), text)),
            Delivery::File => issued.in_files.push((credential.variable.clone(), text)),
        }
        if let Some(ttl) = credential.ttl {
            issued.lifetime = Some(issued.lifetime.map_or(ttl, |l| l.min(ttl)));
        }
        used.push(credential.key.clone());
    }
    // When it was last used is for `secret list`; failing to note it stops nothing.
    if let Err(e) = index::update(&index_path, |index| {
        for name in &used {
            if let Some(meta) = index.secrets.get_mut(name) {
                meta.last_used = Some(now);
            }
        }
    }) {
        tracing::warn!("could not note when the secrets were used: {e}");
    }
    Ok(issued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_profile_and_the_flags_make_the_credentials() {
        let profile = BTreeMap::from([
            (
                "GITHUB_TOKEN".to_owned(),
                SecretSpec {
                    key: "gh".into(),
                    ttl: Some("15m".into()),
                    mint: vec!["gh-mint".into(), "--short".into()],
                    delivery: Some(Delivery::File),
                },
            ),
            (
                "API_KEY".to_owned(),
                SecretSpec {
                    key: "old".into(),
                    ..SecretSpec::default()
                },
            ),
        ]);
        assert_eq!(
            configured(&profile, &["API_KEY=api".to_owned()]).unwrap(),
            vec![
                Credential {
                    variable: "API_KEY".into(),
                    key: "api".into(),
                    delivery: Delivery::Env,
                    ttl: None,
                    mint: vec![],
                },
                Credential {
                    variable: "GITHUB_TOKEN".into(),
                    key: "gh".into(),
                    delivery: Delivery::File,
                    ttl: Some(Duration::from_secs(900)),
                    mint: vec!["gh-mint".into(), "--short".into()],
                },
            ]
        );
    }

    #[test]
    fn mistakes_name_the_key() {
        let bad = |variable: &str, spec: SecretSpec| {
            configured(&BTreeMap::from([(variable.to_owned(), spec)]), &[])
                .unwrap_err()
                .to_string()
        };
        let spec = |key: &str, ttl: Option<&str>| SecretSpec {
            key: key.into(),
            ttl: ttl.map(Into::into),
            ..SecretSpec::default()
        };
        assert_eq!(
            [
                bad("1X", spec("gh", None)),
                bad("X", spec("a/b", None)),
                bad("X", spec("gh", Some("soon"))),
                bad("X", spec("gh", Some("10ms"))),
                configured(&BTreeMap::new(), &["X".into()]).unwrap_err().to_string(),
            ],
            [
                "profile key secrets.1X: `1X` is not an environment variable name (letters, digits and `_`, not starting with a digit)".to_owned(),
                "profile key secrets.X.key: `a/b` is not a secret name: use 1 to 64 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`".to_owned(),
                "profile key secrets.X.ttl: `soon` is not a duration (expected number at 0); write e.g. 15m or 1h".to_owned(),
                "profile key secrets.X.ttl: 10ms is shorter than the 1s a credential may live".to_owned(),
                "--secret X: write VAR=NAME (the server's variable, then the stored secret's name)".to_owned(),
            ]
        );
    }
}
