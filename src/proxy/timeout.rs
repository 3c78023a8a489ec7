//! The deadline of one `tools/call`.
//!
//! Owns: waiting until a call's deadline (which progress notifications push back), and then,
//! if the server still has not answered, answering the client with a `mcpguard.timeout`
//! error and telling the server `notifications/cancelled`, so neither side waits forever.

use super::shared::Shared;
use super::writer::LineSender;
use crate::jsonrpc::message::RequestId;
use crate::jsonrpc::reply::{self, ErrorCode};
use std::sync::Arc;
use tokio::time::{Instant, sleep_until};

/// Starts the timer of call `id` (of `generation`) due at `deadline`.
pub(crate) fn arm(
    shared: Arc<Shared>,
    id: RequestId,
    generation: u64,
    deadline: Instant,
    to_client: LineSender,
    to_server: LineSender,
) {
    tokio::spawn(async move {
        let mut due = deadline;
        loop {
            sleep_until(due).await;
            let expired = {
                let mut state = shared.lock();
                match state.pending.deadline_of(&id, generation) {
                    None => return,
                    Some(later) if later > Instant::now() => {
                        due = later;
                        None
                    }
                    Some(_) => {
                        let request = state.pending.answer_by_guard(&id, generation);
                        state
                            .throttles
                            .call_ended(|| true, std::time::Instant::now());
                        if let (Some(request), Some(audit)) = (&request, state.audit.as_mut()) {
                            super::recording::ended_without_answer(
                                audit,
                                crate::audit::record::EventKind::Timeout,
                                &id,
                                request,
                            );
                        }
                        request
                    }
                }
            };
            let Some(request) = expired else { continue };
            let limit = shared
                .config
                .call_timeout
                .map(|d| humantime::format_duration(d).to_string());
            let limit = limit.unwrap_or_default();
            let tool = request.tool.as_deref().unwrap_or("?");
            tracing::warn!(
                server = %shared.config.server_name,
                "tools/call {tool} (id {id}) got no answer within {limit}; answered with a timeout error and cancelled at the server"
            );
            let message = format!(
                "the server did not answer tools/call {tool} within {limit} (raise it with --call-timeout)"
            );
            to_client
                .send(reply::error_line(Some(&id), ErrorCode::Timeout, &message))
                .await;
            to_server
                .send(reply::cancelled_line(&id, "mcpguard: call timed out"))
                .await;
            return;
        }
    });
}
