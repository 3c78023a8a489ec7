//! Reading the audit trail back: every server's chain, in order, filtered.
//!
//! Owns: finding the chains under the state directory, parsing records (skipping torn lines,
//! which `audit verify` reports), the filters of `mcpguard logs`, and verification of each
//! chain across its files.

use super::chain::{self, Finding, Head};
use super::record::Record;
use super::writer::chain_files;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Which records `mcpguard logs` shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) server: Option<String>,
    pub(crate) tool: Option<String>,
    /// allow | prompt | deny, or "error" for results with isError.
    pub(crate) decision: Option<String>,
    pub(crate) since: Option<Duration>,
}

impl Filter {
    pub(crate) fn matches(&self, record: &Record, now: SystemTime) -> bool {
        if self.server.as_ref().is_some_and(|s| *s != record.server) {
            return false;
        }
        if self
            .tool
            .as_ref()
            .is_some_and(|t| record.tool.as_ref() != Some(t))
        {
            return false;
        }
        if let Some(wanted) = &self.decision {
            let verdict = record.decision.as_ref().map(|d| d.verdict.as_str());
            let is_error = record.result.as_ref().is_some_and(|r| r.is_error);
            let hit = if wanted == "error" {
                is_error
            } else {
                verdict == Some(wanted.as_str())
            };
            if !hit {
                return false;
            }
        }
        if let Some(window) = self.since {
            let Ok(ts) = humantime::parse_rfc3339(&record.ts) else {
                return false;
            };
            if now.duration_since(ts).is_ok_and(|age| age > window) {
                return false;
            }
        }
        true
    }
}

/// The servers that have a chain under `state`.
pub(crate) fn servers(state: &Path) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(state.join("audit"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Every readable record of every chain, in time order.
pub(crate) fn records(state: &Path) -> std::io::Result<Vec<Record>> {
    Tail::default().new_records(state)
}

/// Reads the trail as it grows: each call returns the records written since the last one
/// (complete lines only; a line still being written waits for the next call), without
/// reading again what was already read.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    /// How far each chain file has been read.
    offsets: std::collections::HashMap<PathBuf, u64>,
}

impl Tail {
    pub(crate) fn new_records(&mut self, state: &Path) -> std::io::Result<Vec<Record>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut fresh = Vec::new();
        for (_, dir) in servers(state) {
            for file in chain_files(&dir)? {
                let offset = self.offsets.entry(file.clone()).or_default();
                let mut handle = std::fs::File::open(&file)?;
                handle.seek(SeekFrom::Start(*offset))?;
                let mut text = Vec::new();
                handle.read_to_end(&mut text)?;
                let complete = text
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |end| end + 1);
                *offset += complete as u64;
                fresh.extend(
                    String::from_utf8_lossy(&text[..complete])
                        .lines()
                        .filter_map(|line| serde_json::from_str::<Record>(line).ok()),
                );
            }
        }
        fresh.sort_by(|a, b| {
            a.ts.cmp(&b.ts)
                .then(a.server.cmp(&b.server))
                .then(a.seq.cmp(&b.seq))
        });
        Ok(fresh)
    }
}

/// The result of checking one server's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainReport {
    pub(crate) server: String,
    pub(crate) records: u64,
    /// (file, finding) for torn lines and the first break, if any.
    pub(crate) findings: Vec<(PathBuf, Finding)>,
}

impl ChainReport {
    pub(crate) fn broken(&self) -> bool {
        self.findings
            .iter()
            .any(|(_, f)| matches!(f, Finding::Broken { .. }))
    }
}

/// Walks one server's chain across all its files.
pub(crate) fn verify(server: &str, dir: &Path) -> std::io::Result<ChainReport> {
    let mut head = Head::default();
    let mut findings = Vec::new();
    for file in chain_files(dir)? {
        let text = std::fs::read_to_string(&file)?;
        let (next, found) = chain::check(head, text.lines(), 1);
        head = next;
        let stop = found.iter().any(|f| matches!(f, Finding::Broken { .. }));
        findings.extend(found.into_iter().map(|f| (file.clone(), f)));
        if stop {
            break;
        }
    }
    Ok(ChainReport {
        server: server.to_owned(),
        records: head.seq,
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::io::Write;

    fn line(seq: u64) -> String {
        let mut record = Record::sample("request");
        record.ts = format!("2026-11-21T10:00:0{seq}.000Z");
        record.seq = seq;
        format!("{}\n", serde_json::to_string(&record).unwrap())
    }

    #[test]
    fn a_tail_returns_each_complete_record_once() {
        let state = tempfile::tempdir().unwrap();
        let dir = state.path().join("audit/srv");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("2026-11-21.jsonl");
        let (second, third) = (line(2), line(3));
        let (third_head, third_rest) = third.split_at(10);
        std::fs::write(&path, format!("{}{second}{third_head}", line(1))).unwrap();
        let mut tail = Tail::default();
        let seqs = |records: Vec<Record>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
        // The half-written third line waits for its end.
        assert_eq!(seqs(tail.new_records(state.path()).unwrap()), vec![1, 2]);
        assert_eq!(
            seqs(tail.new_records(state.path()).unwrap()),
            Vec::<u64>::new()
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        write!(file, "{third_rest}{}", line(4)).unwrap();
        assert_eq!(seqs(tail.new_records(state.path()).unwrap()), vec![3, 4]);
        assert_eq!(seqs(records(state.path()).unwrap()), vec![1, 2, 3, 4]);
    }
}
