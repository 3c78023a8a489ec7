//! The `requestState` mcpguard puts in its own `input_required` answers (2026-07-28 era).
//!
//! Owns: issuing a state bound to one exact call (tool and argument digest), its approval
//! and an expiry, sealed with HMAC-SHA256 under a key that lives only in this process; and
//! checking the state a client's retry carries: the seal, the expiry, that it was not used
//! before, and that the retry is the same call. The client holds the state between the two
//! rounds, so everything in it is read back only after the seal is checked.

use super::digest::CallDigest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What every state mcpguard issues starts with; a server's own states never do, and pass
/// through untouched.
pub(crate) const PREFIX: &str = "mcpguard1.";

/// The key of the `input_required` entry that carries mcpguard's question.
pub(crate) const INPUT_KEY: &str = "dev.mcpguard/confirm";

type Seal = Hmac<Sha256>;

/// What a state says, once its seal holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) tool: String,
    pub(crate) digest: String,
    /// The approval it answers (`<pid>-<n>`).
    pub(crate) approval: String,
    /// Milliseconds since the epoch after which it is refused.
    pub(crate) expires: u64,
    pub(crate) nonce: String,
}

/// Why a retry's state is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    #[error("its requestState was not issued by this mcpguard (the seal does not hold)")]
    Forged,
    #[error("its requestState expired (approvals last tools.approval-timeout); ask again")]
    Expired,
    #[error("its requestState was already used once; every approval answers one call")]
    Replayed,
    #[error(
        "the call is not the one that was approved: the tool or its arguments changed between the two rounds"
    )]
    OtherCall,
}

pub(crate) struct Signer {
    key: [u8; 32],
    /// Nonces already presented, with their expiry (kept until then).
    used: HashMap<String, u64>,
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `n` random bytes from the kernel, as hex.
pub(crate) fn random_hex(n: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Signer {
    /// A signer with a fresh random key.
    pub(crate) fn new() -> Result<Signer, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Signer {
            key,
            used: HashMap::new(),
        })
    }

    fn seal(&self) -> Seal {
        // HMAC takes a key of any length, so this cannot fail.
        #[allow(clippy::expect_used)]
        Seal::new_from_slice(&self.key).expect("HMAC accepts any key length")
    }

    /// A state for call `digest` of `tool`, answering approval `approval`, valid for `ttl`.
    pub(crate) fn issue(
        &self,
        tool: &str,
        digest: &CallDigest,
        approval: &str,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<String, getrandom::Error> {
        let claims = Claims {
            tool: tool.to_owned(),
            digest: digest.0.clone(),
            approval: approval.to_owned(),
            expires: millis(now + ttl),
            nonce: random_hex(16)?,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let mut seal = self.seal();
        seal.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(seal.finalize().into_bytes());
        Ok(format!("{PREFIX}{payload}.{tag}"))
    }

    /// Checks the state a retry of `tool` with `digest` carries; a state that passes is
    /// spent.
    pub(crate) fn redeem(
        &mut self,
        state: &str,
        tool: &str,
        digest: &CallDigest,
        now: SystemTime,
    ) -> Result<Claims, Refused> {
        let sealed = state.strip_prefix(PREFIX).ok_or(Refused::Forged)?;
        let (payload, tag) = sealed.split_once('.').ok_or(Refused::Forged)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Refused::Forged)?;
        let mut seal = self.seal();
        seal.update(payload.as_bytes());
        seal.verify_slice(&tag).map_err(|_| Refused::Forged)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(Refused::Forged)?;
        let now = millis(now);
        self.used.retain(|_, expires| *expires >= now);
        if claims.expires < now {
            return Err(Refused::Expired);
        }
        if self
            .used
            .insert(claims.nonce.clone(), claims.expires)
            .is_some()
        {
            return Err(Refused::Replayed);
        }
        if claims.tool != tool || claims.digest != digest.0 {
            return Err(Refused::OtherCall);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn digest(path: &str) -> CallDigest {
        CallDigest::of("write_file", Some(&json!({ "path": path })))
    }

    #[test]
    fn a_state_answers_its_call_once_before_it_expires() {
        let mut signer = Signer::new().unwrap();
        let now = SystemTime::now();
        let ttl = Duration::from_secs(50);
        let state = signer
            .issue("write_file", &digest("a"), "9-1", ttl, now)
            .unwrap();
        assert!(state.starts_with(PREFIX));
        let claims = signer
            .redeem(&state, "write_file", &digest("a"), now)
            .unwrap();
        assert_eq!(
            (claims.tool.as_str(), claims.approval.as_str()),
            ("write_file", "9-1")
        );
        assert_eq!(
            signer.redeem(&state, "write_file", &digest("a"), now),
            Err(Refused::Replayed)
        );
        let state = signer
            .issue("write_file", &digest("a"), "9-2", ttl, now)
            .unwrap();
        assert_eq!(
            signer.redeem(&state, "write_file", &digest("b"), now),
            Err(Refused::OtherCall)
        );
        let state = signer
            .issue("write_file", &digest("a"), "9-3", ttl, now)
            .unwrap();
        assert_eq!(
            signer.redeem(
                &state,
                "write_file",
                &digest("a"),
                now + ttl + Duration::from_secs(1)
            ),
            Err(Refused::Expired)
        );
    }

    #[test]
    fn a_state_from_elsewhere_or_altered_is_forged() {
        let mut signer = Signer::new().unwrap();
        let other = Signer::new().unwrap();
        let now = SystemTime::now();
        let ttl = Duration::from_secs(50);
        let theirs = other
            .issue("write_file", &digest("a"), "1-1", ttl, now)
            .unwrap();
        assert_eq!(
            signer.redeem(&theirs, "write_file", &digest("a"), now),
            Err(Refused::Forged)
        );
        // The claims rewritten to another path, with the old seal.
        let ours = signer
            .issue("write_file", &digest("a"), "1-1", ttl, now)
            .unwrap();
        let (_, tag) = ours.rsplit_once('.').unwrap();
        let claims = Claims {
            tool: "write_file".into(),
            digest: digest("b").0,
            approval: "1-1".into(),
            expires: u64::MAX,
            nonce: "00".into(),
        };
        let altered = format!(
            "{PREFIX}{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        );
        assert_eq!(
            signer.redeem(&altered, "write_file", &digest("b"), now),
            Err(Refused::Forged)
        );
        for junk in ["mcpguard1.", "mcpguard1.x", "mcpguard1.a.b", "v1.abc"] {
            assert_eq!(
                signer.redeem(junk, "write_file", &digest("a"), now),
                Err(Refused::Forged),
                "{junk}"
            );
        }
    }
}
