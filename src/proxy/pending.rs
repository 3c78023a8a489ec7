//! Requests in flight, one table per direction.
//!
//! Owns: which client requests the server still owes an answer (with the tool name, the
//! progress token and the deadline of a `tools/call`), which server requests the client still
//! owes, and which ids mcpguard already answered itself (so a late server answer is not
//! delivered twice). Ids live in separate tables because each side numbers its own requests
//! and collisions across directions are normal (`roots/list` with id 0 beside `initialize` 0).

use crate::jsonrpc::message::RequestId;
use std::collections::{HashMap, HashSet, VecDeque};
use tokio::time::Instant;

/// How many ids answered by mcpguard are remembered to drop late answers for them.
const ANSWERED_MEMORY: usize = 1024;

/// A client request the server has not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientRequest {
    pub(crate) method: String,
    pub(crate) tool: Option<String>,
    pub(crate) progress_token: Option<String>,
    /// When a `tools/call` times out; progress notifications push it back.
    pub(crate) deadline: Option<Instant>,
    /// Distinguishes this request from a later one that reuses the same id.
    pub(crate) generation: u64,
    /// When it was relayed, for the latency in the audit trail.
    pub(crate) started: Instant,
    /// A person approved this exact call: its digest (the server's own questions about it
    /// are rounds of the same call).
    pub(crate) approved: Option<crate::approval::digest::CallDigest>,
}

/// What became of a server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResponseFate {
    /// It answers a pending client request: forward it.
    Answers(ClientRequest),
    /// mcpguard already answered this id (timeout): drop it.
    AlreadyAnswered,
    /// Not a request mcpguard saw: forward it unchanged.
    Unknown,
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    from_client: HashMap<RequestId, ClientRequest>,
    from_server: HashMap<RequestId, String>,
    progress: HashMap<String, RequestId>,
    answered_by_guard: HashSet<RequestId>,
    answered_order: VecDeque<RequestId>,
    next_generation: u64,
}

impl Pending {
    /// Records a client request; returns its generation.
    pub(crate) fn client_request(
        &mut self,
        id: RequestId,
        method: &str,
        tool: Option<String>,
        progress_token: Option<String>,
        deadline: Option<Instant>,
    ) -> u64 {
        self.next_generation += 1;
        let generation = self.next_generation;
        if let Some(token) = &progress_token {
            self.progress.insert(token.clone(), id.clone());
        }
        self.forget_answered(&id);
        let request = ClientRequest {
            method: method.to_owned(),
            tool,
            progress_token,
            deadline,
            generation,
            started: Instant::now(),
            approved: None,
        };
        if let Some(previous) = self.from_client.insert(id, request) {
            self.drop_progress(&previous);
        }
        generation
    }

    /// Call `id` was approved by a person (`digest` is the exact call).
    pub(crate) fn mark_approved(
        &mut self,
        id: &RequestId,
        digest: crate::approval::digest::CallDigest,
    ) {
        if let Some(request) = self.from_client.get_mut(id) {
            request.approved = Some(digest);
        }
    }

    /// A server response arrived for `id`.
    pub(crate) fn server_response(&mut self, id: &RequestId) -> ResponseFate {
        if let Some(request) = self.from_client.remove(id) {
            self.drop_progress(&request);
            return ResponseFate::Answers(request);
        }
        if self.answered_by_guard.contains(id) {
            return ResponseFate::AlreadyAnswered;
        }
        ResponseFate::Unknown
    }

    /// The client cancelled its request `id`: it leaves the table, and nothing is owed.
    pub(crate) fn client_cancelled(&mut self, id: &RequestId) -> Option<ClientRequest> {
        let request = self.from_client.remove(id)?;
        self.drop_progress(&request);
        Some(request)
    }

    /// Progress for `token`: a pending call's deadline moves to `new_deadline`.
    pub(crate) fn progress(&mut self, token: &str, new_deadline: Instant) {
        if let Some(id) = self.progress.get(token)
            && let Some(request) = self.from_client.get_mut(id)
            && let Some(deadline) = request.deadline.as_mut()
        {
            *deadline = new_deadline.max(*deadline);
        }
    }

    /// The deadline of request `id` of `generation`, if it is still pending.
    pub(crate) fn deadline_of(&self, id: &RequestId, generation: u64) -> Option<Instant> {
        self.from_client
            .get(id)
            .filter(|r| r.generation == generation)
            .and_then(|r| r.deadline)
    }

    /// Takes request `id` of `generation` out because mcpguard answers it itself.
    pub(crate) fn answer_by_guard(
        &mut self,
        id: &RequestId,
        generation: u64,
    ) -> Option<ClientRequest> {
        if self
            .from_client
            .get(id)
            .is_none_or(|r| r.generation != generation)
        {
            return None;
        }
        let request = self.from_client.remove(id)?;
        self.drop_progress(&request);
        self.answered_by_guard.insert(id.clone());
        self.answered_order.push_back(id.clone());
        if self.answered_order.len() > ANSWERED_MEMORY
            && let Some(oldest) = self.answered_order.pop_front()
        {
            self.answered_by_guard.remove(&oldest);
        }
        Some(request)
    }

    /// Every client request still pending, taken out (the server is gone).
    pub(crate) fn drain_client_requests(&mut self) -> Vec<(RequestId, ClientRequest)> {
        self.progress.clear();
        let mut all: Vec<_> = self.from_client.drain().collect();
        all.sort_by_key(|(_, r)| r.generation);
        all
    }

    pub(crate) fn server_request(&mut self, id: RequestId, method: &str) {
        self.from_server.insert(id, method.to_owned());
    }

    /// The client answered server request `id`; returns its method if it was pending.
    pub(crate) fn client_response(&mut self, id: &RequestId) -> Option<String> {
        self.from_server.remove(id)
    }

    /// Whether `id` is a server request the client has not answered.
    pub(crate) fn is_server_request(&self, id: &RequestId) -> bool {
        self.from_server.contains_key(id)
    }

    /// The server cancelled its own request `id`.
    pub(crate) fn server_cancelled(&mut self, id: &RequestId) -> Option<String> {
        self.from_server.remove(id)
    }

    /// Whether no request is on its way in either direction (the server may be restarted).
    pub(crate) fn is_quiet(&self) -> bool {
        self.from_client.is_empty() && self.from_server.is_empty()
    }

    /// tools/call requests the server has not answered yet.
    pub(crate) fn calls_in_flight(&self) -> usize {
        self.from_client
            .values()
            .filter(|r| r.method == "tools/call")
            .count()
    }

    #[cfg(test)]
    pub(crate) fn client_pending_count(&self) -> usize {
        self.from_client.len()
    }

    #[cfg(test)]
    fn server_pending_count(&self) -> usize {
        self.from_server.len()
    }

    fn drop_progress(&mut self, request: &ClientRequest) {
        if let Some(token) = &request.progress_token {
            self.progress.remove(token);
        }
    }

    fn forget_answered(&mut self, id: &RequestId) {
        if self.answered_by_guard.remove(id) {
            self.answered_order.retain(|answered| answered != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    fn num(n: &str) -> RequestId {
        RequestId::Number(n.into())
    }

    #[test]
    fn directions_do_not_collide() {
        let mut pending = Pending::default();
        pending.client_request(num("0"), "initialize", None, None, None);
        pending.server_request(num("0"), "roots/list");
        assert_eq!(
            pending.client_response(&num("0")),
            Some("roots/list".into())
        );
        assert!(
            matches!(pending.server_response(&num("0")), ResponseFate::Answers(r) if r.method == "initialize")
        );
        assert_eq!(
            (
                pending.client_pending_count(),
                pending.server_pending_count()
            ),
            (0, 0)
        );
    }

    #[test]
    fn string_and_number_ids_differ() {
        let mut pending = Pending::default();
        pending.client_request(num("1"), "tools/list", None, None, None);
        assert_eq!(
            pending.server_response(&RequestId::String("1".into())),
            ResponseFate::Unknown
        );
        assert_eq!(pending.client_pending_count(), 1);
    }

    #[test]
    fn progress_extends_the_deadline_and_cancel_forgets_it() {
        let mut pending = Pending::default();
        let start = Instant::now();
        let generation = pending.client_request(
            num("5"),
            "tools/call",
            Some("slow".into()),
            Some("\"tok\"".into()),
            Some(start + Duration::from_secs(1)),
        );
        pending.progress("\"tok\"", start + Duration::from_secs(9));
        assert_eq!(
            pending.deadline_of(&num("5"), generation),
            Some(start + Duration::from_secs(9))
        );
        pending.progress("\"tok\"", start + Duration::from_secs(2));
        assert_eq!(
            pending.deadline_of(&num("5"), generation),
            Some(start + Duration::from_secs(9))
        );
        assert!(pending.client_cancelled(&num("5")).is_some());
        // Late progress for a cancelled call is harmless.
        pending.progress("\"tok\"", start + Duration::from_secs(20));
        assert_eq!(pending.deadline_of(&num("5"), generation), None);
        assert_eq!(pending.server_response(&num("5")), ResponseFate::Unknown);
    }

    #[test]
    fn a_timed_out_id_drops_its_late_answer_until_reused() {
        let mut pending = Pending::default();
        let generation = pending.client_request(num("3"), "tools/call", None, None, None);
        assert!(pending.answer_by_guard(&num("3"), generation + 1).is_none());
        assert!(pending.answer_by_guard(&num("3"), generation).is_some());
        assert_eq!(
            pending.server_response(&num("3")),
            ResponseFate::AlreadyAnswered
        );
        pending.client_request(num("3"), "tools/list", None, None, None);
        assert!(matches!(
            pending.server_response(&num("3")),
            ResponseFate::Answers(_)
        ));
    }

    #[test]
    fn drain_returns_requests_in_arrival_order() {
        let mut pending = Pending::default();
        pending.client_request(num("9"), "a", None, None, None);
        pending.client_request(RequestId::String("x".into()), "b", None, None, None);
        let drained: Vec<_> = pending
            .drain_client_requests()
            .into_iter()
            .map(|(id, r)| (id, r.method))
            .collect();
        assert_eq!(
            drained,
            vec![
                (num("9"), "a".to_string()),
                (RequestId::String("x".into()), "b".to_string())
            ]
        );
    }
}
