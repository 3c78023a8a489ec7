//! Appending records through outages.
//!
//! Owns: handing each record to the chain writer, and what happens when it cannot be
//! written: the reason on stderr once per outage, a count of the records lost, and an
//! `audit.resumed` record (since when, why, how many) written first once the trail is
//! writable again, so that a gap in the trail is itself on the trail, never silent.

use super::Unrecorded;
use super::record::{EventKind, Record};
use super::writer::{AuditWriter, Durability};
use crate::profile::model::AuditFailureMode;

/// A time when records could not be written.
struct Outage {
    since: String,
    error: String,
    lost: u64,
}

pub(crate) struct Appender {
    writer: AuditWriter,
    /// Set while records cannot be written.
    outage: Option<Outage>,
    on_failure: AuditFailureMode,
    server: String,
}

impl Appender {
    pub(crate) fn new(writer: AuditWriter, server: &str) -> Self {
        Appender {
            writer,
            outage: None,
            on_failure: AuditFailureMode::default(),
            server: server.to_owned(),
        }
    }

    pub(crate) fn set_on_failure(&mut self, mode: AuditFailureMode) {
        self.on_failure = mode;
    }

    /// Appends `record`. While records cannot be written, each attempt first tries to
    /// write the `audit.resumed` record (with `record`'s session, server, profile and
    /// client).
    pub(crate) fn append(
        &mut self,
        record: Record,
        durability: Durability,
    ) -> Result<(), Unrecorded> {
        if self.outage.is_some() && !self.end_outage(&record) {
            if let Some(outage) = self.outage.as_mut() {
                outage.lost += 1;
            }
            return Err(Unrecorded);
        }
        match self.writer.append(record, durability) {
            Ok(_) => Ok(()),
            Err(e) => {
                let consequence = match self.on_failure {
                    AuditFailureMode::Refuse => {
                        "requests are refused (mcpguard.audit_unavailable) until it can \
                         (audit.on-failure = \"refuse\")"
                    }
                    AuditFailureMode::Continue => {
                        "requests are relayed unrecorded (audit.on-failure = \"continue\")"
                    }
                };
                tracing::error!(
                    server = %self.server,
                    "the audit trail cannot be written ({e}); {consequence}; free space or fix \
                     the permissions of {}",
                    self.writer.dir().display()
                );
                self.outage = Some(Outage {
                    since: humantime::format_rfc3339_millis(std::time::SystemTime::now())
                        .to_string(),
                    error: e.to_string(),
                    lost: 1,
                });
                Err(Unrecorded)
            }
        }
    }

    /// Tries to close an outage with its record; true when the trail is writable again.
    fn end_outage(&mut self, next: &Record) -> bool {
        let Some(outage) = &self.outage else {
            return true;
        };
        let mut record = Record {
            client: next.client.clone(),
            ..Record::new(
                EventKind::AuditResumed.name(),
                &next.session,
                &next.server,
                next.profile.clone(),
            )
        };
        record.detail = Some(serde_json::json!({
            "since": outage.since,
            "error": outage.error,
            "lost": outage.lost,
        }));
        if self.writer.append(record, Durability::Synced).is_err() {
            return false;
        }
        tracing::warn!(
            server = %self.server,
            "the audit trail is writable again; {} record(s) since {} were lost (recorded as audit.resumed)",
            outage.lost,
            outage.since
        );
        self.outage = None;
        true
    }
}
