//! The session's calls waiting for a person, and what the person already said.
//!
//! Owns: the pending approvals (each with the one-shot channel its held call waits on),
//! their ids (`<pid>-<n>`, unique across the running sessions of a user, which the
//! approval socket is named by), the elicitation ids mcpguard sent for them, the grants of
//! scope `session`, and the continuations of approved modern calls (a server's own
//! `input_required` rounds on a call the person already approved). An approval leaves the
//! table exactly once: answered, expired, withdrawn by the client, or ended with the session.

use super::digest::CallDigest;
use super::{Answer, Channel};
use crate::jsonrpc::message::RequestId;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};
use tokio::sync::oneshot;

/// One call waiting for a person.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    /// `<pid>-<n>`: what `mcpguard approve` names it by.
    pub(crate) id: String,
    /// The client's id of the held `tools/call`.
    pub(crate) call_id: RequestId,
    pub(crate) tool: String,
    pub(crate) arguments: Value,
    pub(crate) digest: CallDigest,
    /// The rule that asked for approval, and why.
    pub(crate) rule: String,
    pub(crate) reason: String,
    pub(crate) since: SystemTime,
    pub(crate) started: Instant,
    pub(crate) deadline: Instant,
    /// The channels it was put before.
    pub(crate) channels: Vec<Channel>,
    /// The id of the `elicitation/create` mcpguard sent the client for it.
    pub(crate) elicitation_id: Option<RequestId>,
    /// Set once it left the table, so a prompt still showing it can stop.
    pub(crate) closed: Arc<AtomicBool>,
}

struct Waiting {
    ask: Ask,
    answer: oneshot::Sender<Answer>,
}

/// Why an answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotTaken {
    #[error("no pending approval has id {0} (answered, expired or withdrawn already)")]
    NotPending(String),
}

/// What became of a call whose client cancelled it.
#[derive(Debug)]
pub(crate) enum Withdrawal {
    /// It was waiting: the question is withdrawn.
    Asked(Box<Ask>),
    /// It was answered an instant ago and is on its way: it goes no further.
    Released,
}

/// A question mcpguard put in an `input_required` answer (2026-07-28 era), until the
/// client's retry answers it.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) tool: String,
    pub(crate) call_id: RequestId,
    pub(crate) digest: CallDigest,
    pub(crate) issued: Instant,
}

/// The most calls one session holds for approval at once.
pub(crate) const MAX_WAITING: usize = 64;

pub(crate) struct Table {
    /// This process's id, the first part of every approval id.
    pid: u32,
    /// A random tag in every approval id, so an id from an earlier process with the same
    /// pid names nothing here.
    tag: String,
    /// A random part of every elicitation id, so no server's id can equal one.
    elicitation_prefix: String,
    next: u64,
    waiting: Vec<Waiting>,
    session_grants: HashSet<CallDigest>,
    /// Approved calls the server asked its own question about: the hash of the server's
    /// `requestState`, and until when the retry carrying it continues the call.
    continuations: HashMap<CallDigest, (String, Instant)>,
    /// Calls answered and not yet relayed or refused, and whether the client cancelled
    /// them meanwhile.
    released: HashMap<RequestId, bool>,
    issued: HashMap<String, Issued>,
}

impl Table {
    pub(crate) fn new(pid: u32, random: &str) -> Table {
        Table {
            pid,
            tag: random.chars().take(4).collect(),
            elicitation_prefix: format!("mcpguard-approval-{random}-"),
            next: 0,
            waiting: Vec::new(),
            session_grants: HashSet::new(),
            continuations: HashMap::new(),
            released: HashMap::new(),
            issued: HashMap::new(),
        }
    }

    /// The id the next approval will get, and a fresh elicitation id for it.
    pub(crate) fn next_ids(&mut self) -> (String, RequestId) {
        self.next += 1;
        (
            format!("{}-{}-{}", self.pid, self.next, self.tag),
            RequestId::String(format!("{}{}", self.elicitation_prefix, self.next)),
        )
    }

    /// Puts `ask` in the table; the receiver gets its answer.
    pub(crate) fn open(&mut self, ask: Ask) -> oneshot::Receiver<Answer> {
        let (answer, receiver) = oneshot::channel();
        self.waiting.push(Waiting { ask, answer });
        receiver
    }

    /// Answers approval `id`; returns what it was.
    pub(crate) fn answer(&mut self, id: &str, answer: Answer) -> Result<Ask, NotTaken> {
        let position = self
            .waiting
            .iter()
            .position(|w| w.ask.id == id)
            .ok_or_else(|| NotTaken::NotPending(id.to_owned()))?;
        let waiting = self.waiting.remove(position);
        waiting.ask.closed.store(true, Ordering::SeqCst);
        self.released.insert(waiting.ask.call_id.clone(), false);
        // A waiter that is gone has already been answered by the end of the session.
        let _ = waiting.answer.send(answer);
        Ok(waiting.ask)
    }

    /// Whether `id` is one of mcpguard's own elicitation ids (its answer is never relayed).
    pub(crate) fn is_elicitation(&self, id: &RequestId) -> bool {
        matches!(id, RequestId::String(text) if text.starts_with(&self.elicitation_prefix))
    }

    /// The approval that elicitation `id` asks for, if still pending.
    pub(crate) fn by_elicitation(&self, id: &RequestId) -> Option<&Ask> {
        self.waiting
            .iter()
            .map(|w| &w.ask)
            .find(|ask| ask.elicitation_id.as_ref() == Some(id))
    }

    /// Takes approval `id` out without an answer (its time ran out); None when it was
    /// answered meanwhile.
    pub(crate) fn expire(&mut self, id: &str) -> Option<Ask> {
        let position = self.waiting.iter().position(|w| w.ask.id == id)?;
        let waiting = self.waiting.remove(position);
        waiting.ask.closed.store(true, Ordering::SeqCst);
        Some(waiting.ask)
    }

    /// The client cancelled its call `call_id`: its approval is withdrawn, or, answered an
    /// instant ago, the call is stopped on its way.
    pub(crate) fn withdraw_call(&mut self, call_id: &RequestId) -> Option<Withdrawal> {
        if let Some(cancelled) = self.released.get_mut(call_id) {
            *cancelled = true;
            return Some(Withdrawal::Released);
        }
        let position = self
            .waiting
            .iter()
            .position(|w| &w.ask.call_id == call_id)?;
        let waiting = self.waiting.remove(position);
        waiting.ask.closed.store(true, Ordering::SeqCst);
        Some(Withdrawal::Asked(Box::new(waiting.ask)))
    }

    /// The answered call `call_id` goes on now; true when the client cancelled it since.
    pub(crate) fn take_released(&mut self, call_id: &RequestId) -> bool {
        self.released.remove(call_id).unwrap_or(false)
    }

    /// Every approval still pending, taken out (the session ends).
    pub(crate) fn drain(&mut self) -> Vec<Ask> {
        self.waiting
            .drain(..)
            .map(|w| {
                w.ask.closed.store(true, Ordering::SeqCst);
                w.ask
            })
            .collect()
    }

    /// The approvals still pending, oldest first.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &Ask> {
        self.waiting.iter().map(|w| &w.ask)
    }

    /// How many calls wait.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// mcpguard asked through `input_required` (approval `id`).
    pub(crate) fn issue(&mut self, id: String, issued: Issued) {
        self.issued.insert(id, issued);
    }

    /// The client's retry answered approval `id`.
    pub(crate) fn redeemed(&mut self, id: &str) {
        self.issued.remove(id);
    }

    /// The questions asked through `input_required` that no retry answered, oldest first.
    pub(crate) fn drain_issued(&mut self) -> Vec<(String, Issued)> {
        let mut all: Vec<_> = self.issued.drain().collect();
        all.sort_by_key(|(_, issued)| issued.issued);
        all
    }

    pub(crate) fn grant_session(&mut self, digest: CallDigest) {
        self.session_grants.insert(digest);
    }

    pub(crate) fn granted_for_session(&self, digest: &CallDigest) -> bool {
        self.session_grants.contains(digest)
    }

    /// The server asked its own question about approved call `digest`, with a
    /// `requestState` whose hash is `state`: the retry that carries it, until `until`, is
    /// the same call, not a new one to approve.
    pub(crate) fn allow_continuation(&mut self, digest: CallDigest, state: String, until: Instant) {
        let now = Instant::now();
        self.continuations.retain(|_, (_, expiry)| *expiry > now);
        self.continuations.insert(digest, (state, until));
    }

    /// Whether a retry of `digest` carrying a state whose hash is `state` continues an
    /// approved call; the round is used up.
    pub(crate) fn take_continuation(&mut self, digest: &CallDigest, state: &str) -> bool {
        match self.continuations.get(digest) {
            Some((expected, expiry)) if expected == state && *expiry > Instant::now() => {
                self.continuations.remove(digest);
                true
            }
            _ => false,
        }
    }

    /// The approved call `digest` is complete: its next call asks again.
    pub(crate) fn complete(&mut self, digest: &CallDigest) {
        self.continuations.remove(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Approver, Choice, Scope};
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use std::time::Duration;

    fn ask(table: &mut Table, call: &str) -> Ask {
        let (id, elicitation) = table.next_ids();
        Ask {
            id,
            call_id: RequestId::Number(call.into()),
            tool: "write_file".into(),
            arguments: json!({"path": "a"}),
            digest: CallDigest::of("write_file", Some(&json!({"path": "a"}))),
            rule: "tools.destructive".into(),
            reason: "may change things".into(),
            since: SystemTime::UNIX_EPOCH,
            started: Instant::now(),
            deadline: Instant::now() + Duration::from_secs(50),
            channels: vec![Channel::Socket],
            elicitation_id: Some(elicitation),
            closed: Arc::default(),
        }
    }

    fn allow() -> Answer {
        Answer {
            choice: Choice::Allow(Scope::Once),
            approver: Approver::Socket {
                uid: 1000,
                pid: 4242,
                program: None,
            },
            pattern: None,
        }
    }

    #[test]
    fn an_approval_leaves_the_table_once() {
        let mut table = Table::new(77, "abcd");
        let first = ask(&mut table, "1");
        assert_eq!(first.id, "77-1-abcd");
        assert_eq!(
            first.elicitation_id,
            Some(RequestId::String("mcpguard-approval-abcd-1".into()))
        );
        let closed = Arc::clone(&first.closed);
        let mut receiver = table.open(first);
        let taken = table.answer("77-1-abcd", allow()).unwrap();
        assert_eq!(taken.call_id, RequestId::Number("1".into()));
        assert!(closed.load(Ordering::SeqCst));
        assert_eq!(receiver.try_recv().unwrap(), allow());
        assert_eq!(
            table.answer("77-1-abcd", allow()).unwrap_err(),
            NotTaken::NotPending("77-1-abcd".into())
        );
        assert!(table.expire("77-1-abcd").is_none());
        assert!(
            !table.take_released(&RequestId::Number("1".into())),
            "answered, not cancelled"
        );
    }

    #[test]
    fn withdrawn_expired_and_drained_approvals_give_their_waiter_nothing() {
        let mut table = Table::new(5, "ffee");
        let a = ask(&mut table, "1");
        let b = ask(&mut table, "2");
        let c = ask(&mut table, "3");
        let elicitation_of_b = b.elicitation_id.clone().unwrap();
        let (mut ra, mut rb, mut rc) = (table.open(a), table.open(b), table.open(c));
        assert!(table.is_elicitation(&elicitation_of_b));
        assert!(!table.is_elicitation(&RequestId::String("mcpguard-approval-00-2".into())));
        assert_eq!(
            table.by_elicitation(&elicitation_of_b).unwrap().id,
            "5-2-ffee"
        );
        assert!(matches!(
            table.withdraw_call(&RequestId::Number("1".into())),
            Some(Withdrawal::Asked(ask)) if ask.id == "5-1-ffee"
        ));
        assert!(
            table
                .withdraw_call(&RequestId::Number("1".into()))
                .is_none()
        );
        assert_eq!(table.expire("5-2-ffee").unwrap().id, "5-2-ffee");
        let rest: Vec<String> = table.drain().into_iter().map(|a| a.id).collect();
        assert_eq!(rest, vec!["5-3-ffee".to_owned()]);
        for receiver in [&mut ra, &mut rb, &mut rc] {
            assert!(receiver.try_recv().is_err());
        }
        assert_eq!(table.pending().count(), 0);
    }

    #[test]
    fn grants_are_per_exact_call() {
        let mut table = Table::new(1, "0");
        let a = CallDigest::of("t", Some(&json!({"p": 1})));
        let b = CallDigest::of("t", Some(&json!({"p": 2})));
        table.grant_session(a.clone());
        assert_eq!(
            (table.granted_for_session(&a), table.granted_for_session(&b)),
            (true, false)
        );
        let soon = || Instant::now() + Duration::from_secs(5);
        table.allow_continuation(b.clone(), "s1".into(), soon());
        assert!(!table.take_continuation(&a, "s1"));
        assert!(!table.take_continuation(&b, "s2"), "another state");
        assert!(table.take_continuation(&b, "s1"));
        assert!(!table.take_continuation(&b, "s1"), "one retry per round");
        table.allow_continuation(b.clone(), "s1".into(), soon());
        table.complete(&b);
        assert!(!table.take_continuation(&b, "s1"));
        table.allow_continuation(a.clone(), "s1".into(), Instant::now());
        assert!(
            !table.take_continuation(&a, "s1"),
            "an expired continuation does not count"
        );
    }

    #[test]
    fn a_cancel_just_after_the_answer_stops_the_call() {
        let mut table = Table::new(9, "abcd");
        let one = ask(&mut table, "1");
        let id = one.id.clone();
        let _receiver = table.open(one);
        table.answer(&id, allow()).unwrap();
        assert!(matches!(
            table.withdraw_call(&RequestId::Number("1".into())),
            Some(Withdrawal::Released)
        ));
        assert!(table.take_released(&RequestId::Number("1".into())));
        assert!(!table.take_released(&RequestId::Number("1".into())));
        assert!(
            table
                .withdraw_call(&RequestId::Number("1".into()))
                .is_none()
        );
    }
}
