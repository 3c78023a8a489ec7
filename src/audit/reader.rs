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
pub struct Filter {
    pub server: Option<String>,
    pub tool: Option<String>,
    /// allow | prompt | deny, or "error" for results with isError.
    pub decision: Option<String>,
    pub since: Option<Duration>,
}

impl Filter {
    pub fn matches(&self, record: &Record, now: SystemTime) -> bool {
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
pub fn servers(state: &Path) -> Vec<(String, PathBuf)> {
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

/// Every readable record of every chain, each chain in order, chains by server name.
pub fn records(state: &Path) -> std::io::Result<Vec<Record>> {
    let mut all = Vec::new();
    for (_, dir) in servers(state) {
        for file in chain_files(&dir)? {
            let text = std::fs::read_to_string(&file)?;
            all.extend(
                text.lines()
                    .filter_map(|line| serde_json::from_str::<Record>(line).ok()),
            );
        }
    }
    all.sort_by(|a, b| {
        a.ts.cmp(&b.ts)
            .then(a.server.cmp(&b.server))
            .then(a.seq.cmp(&b.seq))
    });
    Ok(all)
}

/// The result of checking one server's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub server: String,
    pub records: u64,
    /// (file, finding) for torn lines and the first break, if any.
    pub findings: Vec<(PathBuf, Finding)>,
}

impl ChainReport {
    pub fn broken(&self) -> bool {
        self.findings
            .iter()
            .any(|(_, f)| matches!(f, Finding::Broken { .. }))
    }
}

/// Walks one server's chain across all its files.
pub fn verify(server: &str, dir: &Path) -> std::io::Result<ChainReport> {
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
