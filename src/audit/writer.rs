//! The append-only audit writer, owned by the supervisor.
//!
//! Owns: appending records to `<state>/audit/<server>/<YYYY-MM-DD>.jsonl` (UTC day of the
//! record) on one hash chain per server that continues across days, sessions and
//! concurrent sessions: each append takes an exclusive lock on the server's directory
//! lock file, reads the chain head (cached while the file is unchanged), writes the sealed
//! line with one `write`, and releases the lock. A torn last line from a crash is sealed off
//! with a newline and left for `audit verify` to report; the chain continues from the last
//! whole record. Each record is written with one `write`; the caller says how far towards
//! the disk it goes (`Durability`): synced for denials and session ends, writeback started
//! for a session's start, the page cache for the rest (the next sync takes them along).

use super::chain::{self, Head};
use super::record::Record;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Where a server's chain lives.
pub(crate) fn server_dir(state: &Path, server: &str) -> PathBuf {
    state.join("audit").join(server)
}

/// What the writer last wrote, to skip re-reading the head when nobody else wrote since:
/// the day file (kept open), its length after our write, and the head.
#[derive(Debug)]
struct Cached {
    day: String,
    file: File,
    len: u64,
    head: Head,
}

/// How far a record is taken towards the disk before `append` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// In the kernel's page cache: on disk with the next sync, or the kernel's own writeback.
    Written,
    /// Writeback of the file started, not waited for (a session's start: on disk within
    /// moments, without holding up the server's start on the disk).
    Flushing,
    /// On disk (`fdatasync`) before `append` returns, with every record before it.
    Synced,
}

impl Durability {
    /// `Synced` when `sync`, else `Written`.
    pub(crate) fn synced_if(sync: bool) -> Durability {
        if sync {
            Durability::Synced
        } else {
            Durability::Written
        }
    }
}

pub(crate) struct AuditWriter {
    dir: PathBuf,
    lock: File,
    cached: Option<Cached>,
}

impl AuditWriter {
    pub(crate) fn open(dir: PathBuf) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        Ok(AuditWriter {
            dir,
            lock,
            cached: None,
        })
    }

    /// The directory of this server's chain.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `record` (its `ts`, `seq`, `prev` and `hash` are set here, under the lock, so
    /// records of concurrent writers are in time order on the chain) and returns its hash.
    pub(crate) fn append(
        &mut self,
        mut record: Record,
        durability: Durability,
    ) -> io::Result<String> {
        let _guard = FileLock::exclusive(&self.lock)?;
        record.ts = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let mut day = record.ts.get(..10).unwrap_or("undated").to_owned();
        // A clock stepped back over midnight must not put this record in a file older than
        // the one holding the chain head: files are read in name order when verifying.
        // (Checked when the day is not the one this writer last wrote to; otherwise the
        // cached head check below notices any other writer.)
        if self.cached.as_ref().is_none_or(|c| c.day != day)
            && let Some(newest) = chain_files(&self.dir)?
                .last()
                .and_then(|p| p.file_stem())
                .and_then(|s| s.to_str())
            && newest > day.as_str()
        {
            day = newest.to_owned();
        }
        let head = self.head(&day)?;
        record.seq = head.seq + 1;
        record.prev = head.hash;
        record.hash.clear();
        let unhashed = serde_json::to_string(&record).map_err(io::Error::other)?;
        let (mut line, hash) = chain::seal(&unhashed);
        line.push('\n');
        let mut cached = match self.cached.take() {
            Some(cached) if cached.day == day => cached,
            _ => {
                let path = self.dir.join(format!("{day}.jsonl"));
                let file = OpenOptions::new().create(true).append(true).open(&path)?;
                let len = file.metadata()?.len();
                Cached {
                    day: day.clone(),
                    file,
                    len,
                    head: Head::default(),
                }
            }
        };
        cached.file.write_all(line.as_bytes())?;
        match durability {
            Durability::Written => {}
            Durability::Flushing => start_writeback(&cached.file),
            Durability::Synced => cached.file.sync_data()?,
        }
        cached.len += line.len() as u64;
        cached.head = Head {
            seq: record.seq,
            hash: hash.clone(),
        };
        self.cached = Some(cached);
        Ok(hash)
    }

    /// The chain head. When this writer's open day file is still exactly as it left it (no
    /// other writer appended) the cached head is current: any other writer would have had to
    /// write to this same file, because records are dated under the lock.
    fn head(&mut self, day: &str) -> io::Result<Head> {
        if let Some(cached) = &self.cached
            && cached.day == day
            && cached.file.metadata()?.len() == cached.len
        {
            return Ok(cached.head.clone());
        }
        // Someone else wrote, or a new day began: find the head on disk.
        self.cached = None;
        let mut files = chain_files(&self.dir)?;
        while let Some(path) = files.pop() {
            seal_torn_tail(&path)?;
            if let Some(head) = last_record(&path)? {
                return Ok(head);
            }
        }
        Ok(Head::default())
    }
}

/// Starts writing `file`'s dirty pages out without waiting for them. Best effort: where it
/// fails, the kernel's own writeback, or the next synced record, takes them.
fn start_writeback(file: &File) {
    // SAFETY: sync_file_range on a descriptor we own, with plain integer arguments.
    unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

/// The chain's files, oldest first (names are dates).
pub(crate) fn chain_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    files.sort();
    Ok(files)
}

/// Ends a file that does not end with a newline (a write cut short) with one, so the torn
/// fragment stays a line of its own and the next record starts clean.
fn seal_torn_tail(path: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}

/// The last whole, sealed record of a file, read from its end.
fn last_record(path: &Path) -> io::Result<Option<Head>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::with_capacity((len - start) as usize);
        file.read_to_end(&mut tail)?;
        let text = String::from_utf8_lossy(&tail);
        let mut lines: Vec<&str> = text.split('\n').collect();
        // The first line of a window that does not start the file may be partial.
        if start > 0 {
            lines.remove(0);
        }
        for line in lines.iter().rev() {
            if let Some((hashed, hash)) = chain::unseal(line)
                && chain::sha256_hex(hashed.as_bytes()) == hash
                && let Ok(value) = serde_json::from_str::<serde_json::Value>(line)
            {
                return Ok(Some(Head {
                    seq: value["seq"].as_u64().unwrap_or(0),
                    hash: hash.to_owned(),
                }));
            }
        }
        if start == 0 {
            return Ok(None);
        }
        window *= 4;
    }
}

/// An exclusive `flock` on a descriptor the writer keeps open, released on drop.
struct FileLock(std::os::fd::RawFd);

impl FileLock {
    fn exclusive(file: &File) -> io::Result<Self> {
        let fd = file.as_raw_fd();
        // SAFETY: flock on a descriptor we own and keep open for the lock's lifetime.
        if unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(FileLock(fd))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking cannot harm anything.
        unsafe { libc::flock(self.0, libc::LOCK_UN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn record(event: &str) -> Record {
        Record::sample(event)
    }

    fn today() -> String {
        humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()[..10].to_owned()
    }

    fn verify(dir: &Path) -> (Head, Vec<chain::Finding>) {
        let text = std::fs::read_to_string(dir.join(format!("{}.jsonl", today()))).unwrap();
        chain::check(Head::default(), text.lines(), 1)
    }

    #[test]
    fn writers_share_one_chain_and_survive_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = AuditWriter::open(dir.path().to_path_buf()).unwrap();
        let mut second = AuditWriter::open(dir.path().to_path_buf()).unwrap();
        first.append(record("a"), Durability::Written).unwrap();
        second.append(record("b"), Durability::Written).unwrap();
        first.append(record("c"), Durability::Synced).unwrap();
        let last_line: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(dir.path().join(format!("{}.jsonl", today())))
                .unwrap()
                .lines()
                .last()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            verify(dir.path()),
            (
                Head {
                    seq: 3,
                    hash: last_line["hash"].as_str().unwrap().to_owned()
                },
                vec![]
            )
        );
        // A crash mid-write leaves half a line.
        let path = dir.path().join(format!("{}.jsonl", today()));
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"v\":1,\"ts\":\"2026-11-21T10:00:01")
            .unwrap();
        let mut third = AuditWriter::open(dir.path().to_path_buf()).unwrap();
        third.append(record("d"), Durability::Synced).unwrap();
        let (head, findings) = verify(dir.path());
        assert_eq!(head.seq, 4);
        assert_eq!(findings, vec![chain::Finding::Torn { line: 4, bytes: 32 }]);
    }
}
