//! Where credentials live: the OS keyring, through the `keyring-core` family.
//!
//! Owns: choosing the store (the Secret Service when a session bus and a provider answer,
//! else the kernel's keyutils, after joining a session keyring when the process has none),
//! and reading, writing and deleting one secret by name. Values are never written anywhere
//! else by mcpguard: there is no home-made encrypted file to fall back to, so when neither
//! store works the error names both and how to get one.

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The keyring "service" every mcpguard secret is filed under (the name is the "user").
const SERVICE: &str = "mcpguard";

/// A store mcpguard can keep secrets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Backend {
    /// The freedesktop Secret Service on the session bus (gnome-keyring, KWallet,
    /// KeePassXC): kept on disk, encrypted by the provider.
    SecretService,
    /// The kernel's key retention service, in the user's persistent keyring: kept in
    /// memory until reboot, or until it goes unused for the kernel's expiry (3 days by default).
    Keyutils,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Backend, StoreError> {
        match text {
            "secret-service" => Ok(Backend::SecretService),
            "keyutils" => Ok(Backend::Keyutils),
            other => Err(StoreError::UnknownBackend(other.to_owned())),
        }
    }

    /// How long what is stored here lasts, in words (said when a secret is stored).
    pub(crate) fn lasting(self) -> &'static str {
        match self {
            Backend::SecretService => "kept on disk by your Secret Service provider",
            Backend::Keyutils => {
                "kept in kernel memory: lost at reboot, and after 3 days unused \
                 (for a store that persists, run a Secret Service provider such as gnome-keyring \
                 or KeePassXC on your session bus)"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(
        "no credential store works here: the Secret Service: {secret_service}; the kernel keyring \
         (keyutils): {keyutils}. Start a Secret Service provider on your session bus \
         (gnome-keyring-daemon --unlock, KeePassXC, KWallet), or run where keyctl is allowed \
         (containers often block it; `keyctl session -` gives a shell a session keyring)"
    )]
    NoneAvailable {
        secret_service: String,
        keyutils: String,
    },
    #[error("the {backend} store is not available: {why}")]
    Unavailable { backend: &'static str, why: String },
    #[error(
        "unknown credential store `{0}` (MCPGUARD_SECRET_STORE or --store): use secret-service or keyutils"
    )]
    UnknownBackend(String),
    #[error(
        "no secret named {name} in the {backend} store; store it with `mcpguard secret set {name}`"
    )]
    NotFound { name: String, backend: &'static str },
    #[error(
        "the {backend} store failed on {name}: {message} (a locked keyring must be unlocked; \
         MCPGUARD_SECRET_STORE or --store picks the other store)"
    )]
    Failed {
        name: String,
        backend: &'static str,
        message: String,
    },
}

/// An open store.
pub(crate) struct Store {
    pub(crate) backend: Backend,
    inner: Arc<CredentialStore>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// Opens `wanted`, or (none named) the first store that works: the Secret Service, then
/// keyutils.
pub(crate) fn open(wanted: Option<Backend>) -> Result<Store, StoreError> {
    match wanted {
        Some(backend) => open_backend(backend).map_err(|why| StoreError::Unavailable {
            backend: backend.name(),
            why,
        }),
        None => {
            let secret_service = match open_backend(Backend::SecretService) {
                Ok(store) => return Ok(store),
                Err(why) => why,
            };
            tracing::debug!("Secret Service not used: {secret_service}");
            match open_backend(Backend::Keyutils) {
                Ok(store) => Ok(store),
                Err(keyutils) => Err(StoreError::NoneAvailable {
                    secret_service,
                    keyutils,
                }),
            }
        }
    }
}

/// The store the user chose with `MCPGUARD_SECRET_STORE`, if any.
pub(crate) fn chosen() -> Result<Option<Backend>, StoreError> {
    crate::paths::secret_store_choice()
        .map(|text| Backend::parse(&text))
        .transpose()
}

fn open_backend(backend: Backend) -> Result<Store, String> {
    let inner: Arc<CredentialStore> = match backend {
        Backend::SecretService => {
            if crate::paths::session_bus().is_none() {
                return Err(
                    "no session bus (DBUS_SESSION_BUS_ADDRESS is not set and /run/user/<uid>/bus does not exist)"
                        .to_owned(),
                );
            }
            let store = zbus_secret_service_keyring_store::Store::new().map_err(describe)?;
            // A bus without a provider answers only when asked for something: ask now, so
            // the choice falls to keyutils instead of failing on first use.
            let probe = Entry::new_in_store(
                &(store.clone() as Arc<CredentialStore>),
                SERVICE,
                "mcpguard-store-probe",
            )
            .map_err(describe)?;
            match probe.get_password() {
                Ok(_) | Err(KeyringError::NoEntry) => {}
                Err(e) => return Err(describe(e)),
            }
            store
        }
        Backend::Keyutils => {
            join_session_keyring()?;
            linux_keyutils_keyring_store::Store::new().map_err(describe)?
        }
    };
    Ok(Store { backend, inner })
}

/// The keyutils store files keys through the session keyring. A process started outside a
/// login session (cron, CI, `docker exec`, ssh without pam_keyinit) has only the per-user
/// session keyring, where the store's keys end up unreadable ("AccessDenied"); it gets an
/// anonymous session keyring of its own first. Keys themselves live in the user's
/// persistent keyring, so other processes of the user find them.
fn join_session_keyring() -> Result<(), String> {
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    const KEY_SPEC_USER_SESSION_KEYRING: libc::c_long = -5;
    let id_of = |special: libc::c_long| {
        // SAFETY: keyctl(GET_KEYRING_ID, special, create = 0) only reads the id of one of
        // this process's own keyrings; no pointers are passed.
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_GET_KEYRING_ID, special, 0) }
    };
    let session = id_of(KEY_SPEC_SESSION_KEYRING);
    if session < 0 {
        return Err(format!(
            "keyctl is not permitted here ({})",
            std::io::Error::last_os_error()
        ));
    }
    if session != id_of(KEY_SPEC_USER_SESSION_KEYRING) {
        return Ok(());
    }
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) creates an anonymous session keyring for
    // this process; the name pointer may be null.
    let joined = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if joined < 0 {
        return Err(format!(
            "could not join a session keyring ({})",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn describe(error: KeyringError) -> String {
    match error {
        KeyringError::NoStorageAccess(inner) | KeyringError::PlatformFailure(inner) => {
            inner.to_string()
        }
        other => other.to_string(),
    }
}

impl Store {
    fn entry(&self, name: &str) -> Result<Entry, StoreError> {
        Entry::new_in_store(&self.inner, SERVICE, name).map_err(|e| self.failed(name, e))
    }

    fn failed(&self, name: &str, error: KeyringError) -> StoreError {
        match error {
            KeyringError::NoEntry => StoreError::NotFound {
                name: name.to_owned(),
                backend: self.backend.name(),
            },
            other => StoreError::Failed {
                name: name.to_owned(),
                backend: self.backend.name(),
                message: describe(other),
            },
        }
    }

    pub(crate) fn set(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.entry(name)?
            .set_password(value)
            .map_err(|e| self.failed(name, e))
    }

    pub(crate) fn get(&self, name: &str) -> Result<Zeroizing<String>, StoreError> {
        self.entry(name)?
            .get_password()
            .map(Zeroizing::new)
            .map_err(|e| self.failed(name, e))
    }

    /// Removes the secret; `false` when there was none.
    pub(crate) fn remove(&self, name: &str) -> Result<bool, StoreError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(self.failed(name, e)),
        }
    }
}

/// A secret's name: what `secret set` files it under and profiles name in `key`.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !name.starts_with(['.', '-']);
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a secret name: use 1 to 64 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`",
            crate::terminal::escape(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        assert_eq!(
            ["github", "GH_TOKEN", "a.b-c", "", ".x", "-x", "a b", "a/b"]
                .map(|n| check_name(n).is_ok()),
            [true, true, true, false, false, false, false, false]
        );
    }
}
