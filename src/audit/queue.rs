//! The audit writer on a thread of its own, behind a bounded queue.
//!
//! Owns: taking appends off the relay's thread when a lost record stops nothing
//! (`audit.on-failure = "continue"`): the relay queues the record and goes on, a writer
//! thread appends it. Nothing is dropped: a full queue makes the relay wait (back-pressure,
//! not loss), a record that cannot be written is counted in the outage as before, and
//! [`Queue::drain`] waits until every queued record is written (the session's end waits for
//! it). With `"refuse"` no queue is used: a request is relayed only once its record is
//! written, which a queue could only wait for.

use super::Unrecorded;
use super::appender::Appender;
use super::record::Record;
use super::writer::Durability;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Records queued and not yet written, at most.
pub(crate) const CAPACITY: usize = 256;
/// A record heavier than this (a payload near the 64 KiB cap, or a method, id or detail
/// as long as the message limit allows, which the server chooses) is not left in the queue:
/// its sender waits until it is written. So a full queue holds at most
/// `CAPACITY * HEAVY` bytes (20 MiB), usually a few hundred bytes per record.
pub(crate) const HEAVY: usize = 80 * 1024;

enum Job {
    Append(Box<Record>, Durability),
    /// Answered once everything queued before it is written.
    Drain(SyncSender<()>),
}

pub(crate) struct Queue {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Set once the loss of the writer thread was said.
    said_gone: AtomicBool,
}

impl Queue {
    /// Starts the writer thread with `appender`; gives it back when no thread can start.
    pub(crate) fn start(appender: Appender) -> Result<Queue, (std::io::Error, Box<Appender>)> {
        let (jobs, queue) = sync_channel(CAPACITY);
        // The appender goes to the thread only once it exists: a failed spawn returns it.
        let (hand_over, take) = sync_channel::<Appender>(1);
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                if let Ok(appender) = take.recv() {
                    write_all(appender, queue);
                }
            });
        match thread {
            Ok(thread) => {
                // The thread waits on `take` until this send: it cannot fail.
                let _ = hand_over.send(appender);
                Ok(Queue {
                    jobs: Some(jobs),
                    thread: Some(thread),
                    said_gone: AtomicBool::new(false),
                })
            }
            Err(e) => Err((e, Box::new(appender))),
        }
    }

    /// Queues `record`, waiting while the queue is full, and for a heavy record until it is
    /// written. `Unrecorded` only when the writer thread is gone (it ends with the queue,
    /// so only by a panic).
    pub(crate) fn append(&self, record: Record, durability: Durability) -> Result<(), Unrecorded> {
        let heavy = record.weight() > HEAVY;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(Job::Append(Box::new(record), durability)).is_ok());
        if sent {
            if heavy {
                self.drain();
            }
            return Ok(());
        }
        if !self.said_gone.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "the audit writer thread has ended (a bug in mcpguard: please report it with \
                 this session's stderr); this record and every later one of this session are \
                 lost: restart the server in your agent (which restarts mcpguard) to record again"
            );
        }
        Err(Unrecorded)
    }

    /// Waits until every record queued so far is written (or found unwritable).
    pub(crate) fn drain(&self) {
        let (done, wait) = sync_channel(1);
        if let Some(jobs) = &self.jobs
            && jobs.send(Job::Drain(done)).is_ok()
        {
            let _ = wait.recv();
        }
    }
}

impl Drop for Queue {
    /// Writes what is queued before the trail is let go.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_all(mut appender: Appender, queue: Receiver<Job>) {
    for job in queue {
        match job {
            // A record that cannot be written is counted in the outage and said on stderr
            // by the appender; the relay already went on, as "continue" says.
            Job::Append(record, durability) => {
                let _ = appender.append(*record, durability);
            }
            Job::Drain(done) => {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain;
    use crate::audit::writer::{AuditWriter, chain_files};
    use pretty_assertions::assert_eq;

    fn record(n: usize) -> Record {
        let mut record = Record::sample("request");
        record.id = Some(serde_json::json!(n));
        record
    }

    /// A queue writing the chain of a server in `dir`.
    fn queue_in(dir: &std::path::Path) -> Queue {
        let writer = AuditWriter::open(dir.to_path_buf()).unwrap();
        Queue::start(Appender::new(writer, "srv"))
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// Everything on the chain in `dir`, oldest file first.
    fn chain_text(dir: &std::path::Path) -> String {
        chain_files(dir)
            .unwrap()
            .iter()
            .map(|file| std::fs::read_to_string(file).unwrap())
            .collect()
    }

    #[test]
    fn a_heavy_record_is_written_before_append_returns() {
        let dir = tempfile::tempdir().unwrap();
        let queue = queue_in(dir.path());
        let mut heavy = record(0);
        heavy.method = Some("m".repeat(4 << 20));
        assert!(heavy.weight() > HEAVY);
        queue.append(heavy, Durability::Written).unwrap();
        // No drain: the append itself waited, so the queue never held the 4 MiB.
        let written = chain_text(dir.path()).len();
        assert!(written > 4 << 20, "{written} bytes written");
    }

    #[test]
    fn every_queued_record_is_written_in_order_before_drain_returns() {
        let dir = tempfile::tempdir().unwrap();
        let queue = queue_in(dir.path());
        // More than the queue holds: the producer waits instead of dropping.
        let total = CAPACITY * 4;
        for n in 0..total {
            queue.append(record(n), Durability::Written).unwrap();
        }
        queue.drain();
        let text = chain_text(dir.path());
        let (head, findings) = chain::check(chain::Head::default(), text.lines(), 1);
        assert_eq!((head.seq, findings.len()), (total as u64, 0));
        let ids: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ids, (0..total as u64).collect::<Vec<_>>());
        // What is queued when the queue is dropped is written too.
        queue.append(record(total), Durability::Written).unwrap();
        drop(queue);
        let text = chain_text(dir.path());
        assert_eq!(text.lines().count(), total + 1);
    }
}
