//! Resource attacks against the real sandbox, as root and as an unprivileged user: a fork
//! bomb, an allocation loop, filling every tmpfs, filling the persistent cache.
//!
//! tests/fixtures/limits_attack.py is the hostile server. Every attack stops by itself at a
//! bound the machine can afford (2000 processes, 6 GiB of untouched address space, 50 MiB
//! per tmpfs, 4 MiB of cache), so a sandbox that fails to limit it fails the test without
//! taking the machine down; each bound is above what the limit under test allows.

use crate::common::*;
use crate::sandbox::{Who, test_user};
use pretty_assertions::assert_eq;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// A home, a state directory and a granted directory `who` owns, and the attack script.
struct Host {
    _dir: tempfile::TempDir,
    who: Who,
    home: PathBuf,
    state: PathBuf,
    granted: PathBuf,
    tools: PathBuf,
}

impl Host {
    fn new(who: Who) -> Host {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let [home, state, granted, tools] =
            ["home", "state", "granted", "tools"].map(|d| dir.path().join(d));
        for d in [&home, &state, &granted, &tools] {
            std::fs::create_dir_all(d).unwrap();
            if let Who::User { uid, gid } = who {
                std::os::unix::fs::chown(d, Some(uid), Some(gid)).unwrap();
            }
        }
        std::fs::copy(
            repo().join("tests/fixtures/limits_attack.py"),
            tools.join("limits_attack.py"),
        )
        .unwrap();
        Host {
            _dir: dir,
            who,
            home,
            state,
            granted,
            tools,
        }
    }

    /// `mcpguard ARGS` as `who`, with this host's home and state.
    fn mcpguard(&self, args: &[&str]) -> Command {
        let bin = reachable_mcpguard();
        let mut command = match self.who {
            Who::Root => Command::new(&bin),
            Who::User { uid, gid } => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string()])
                    .args(["--clear-groups", "--"])
                    .arg(&bin);
                c
            }
        };
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("MCPGUARD_HOME", &self.state)
            .args(args);
        command
    }

    /// A profile extending the default one with these `[limits]` lines.
    fn profile(&self, limits: &str) -> String {
        let path = self.tools.join("limits.toml");
        std::fs::write(
            &path,
            format!(
                "[profile]\nname = \"limits-test\"\nextends = \"default\"\n[limits]\n{limits}\n"
            ),
        )
        .unwrap();
        path.display().to_string()
    }

    /// Runs the attack `args` inside `mcpguard run --profile PROFILE`; returns its findings
    /// and mcpguard's stderr.
    fn attack(&self, profile: &str, args: &[&str]) -> (Value, String) {
        let result = self.granted.join("result.json");
        let _ = std::fs::remove_file(&result);
        let tools = self.tools.display().to_string();
        let granted = self.granted.display().to_string();
        let script = self.tools.join("limits_attack.py").display().to_string();
        let mut command = self.mcpguard(&[
            "run",
            "--name",
            "attacker",
            "--profile",
            profile,
            "--allow-read",
            &tools,
            "--allow-write",
            &granted,
            "--",
            "/usr/bin/python3",
            &script,
        ]);
        command.args(args).arg(&result);
        let (code, stderr) = run_holding_stdin(&mut command);
        assert_eq!(code, Some(0), "mcpguard failed:\n{stderr}");
        let text = std::fs::read_to_string(&result)
            .unwrap_or_else(|e| panic!("no result ({e}):\n{stderr}"));
        (serde_json::from_str(&text).unwrap(), stderr)
    }

    /// Every audit record written under this host's state directory.
    fn audit_records(&self) -> Vec<Value> {
        let mut records = Vec::new();
        let mut pending = vec![self.state.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|x| x == "jsonl") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    records.extend(text.lines().map(|l| serde_json::from_str(l).unwrap()));
                }
            }
        }
        records
    }
}

fn fork_bomb_stops_at_the_process_limit(who: Who) {
    let host = Host::new(who);
    let profile = host.profile("");
    // The default limit is 512 tasks (up to 811 where pid_max enforces it, the kernel
    // skipping the first 300 pids after a wrap); the attack would stop at 2000 on its own.
    let (found, stderr) = host.attack(&profile, &["fork", "2000"]);
    let started = found["started"].as_u64().unwrap();
    assert!(
        (100..812).contains(&started),
        "the fork bomb started {started} processes:\n{found}\n{stderr}"
    );
    assert_eq!(
        found["error"], "Resource temporarily unavailable",
        "{found}"
    );
}

#[test]
fn a_fork_bomb_stops_at_the_process_limit_as_root() {
    fork_bomb_stops_at_the_process_limit(Who::Root);
}

#[test]
fn a_fork_bomb_stops_at_the_process_limit_as_a_user() {
    fork_bomb_stops_at_the_process_limit(test_user());
}

fn allocation_stops_at_the_memory_limit(who: Who) {
    let host = Host::new(who);
    // The default limit (4 GiB per process); the attack stops at 6 GiB on its own.
    let (found, stderr) = host.attack(&host.profile(""), &["alloc", "6144"]);
    let mib = found["mib"].as_u64().unwrap();
    assert!(
        (1024..=4096).contains(&mib),
        "the allocation loop got {mib} MiB:\n{found}\n{stderr}"
    );
    assert_eq!(found["error"], "Cannot allocate memory", "{found}");
}

#[test]
fn an_allocation_loop_stops_at_the_memory_limit_as_root() {
    allocation_stops_at_the_memory_limit(Who::Root);
}

#[test]
fn an_allocation_loop_stops_at_the_memory_limit_as_a_user() {
    allocation_stops_at_the_memory_limit(test_user());
}

fn tmpfs_share_one_budget(who: Who) {
    let host = Host::new(who);
    // 50 MiB into each of four scratch directories: 200 MiB without a shared budget.
    let (found, stderr) = host.attack(
        &host.profile("tmpfs = \"64MiB\""),
        &["fill", "50", "/tmp", "/var/tmp", "/dev/shm", "$HOME"],
    );
    let total = found["total"].as_u64().unwrap();
    assert!(
        (60..=64).contains(&total),
        "the scratch directories took {total} MiB:\n{found}\n{stderr}"
    );
    let errors = found["errors"].as_object().unwrap();
    assert!(
        !errors.is_empty() && errors.values().all(|e| e == "No space left on device"),
        "{found}"
    );
    assert!(
        stderr.contains("mcpguard: limit: the server filled its tmpfs budget (67108864 bytes"),
        "{stderr}"
    );
}

#[test]
fn every_tmpfs_shares_one_budget_as_root() {
    tmpfs_share_one_budget(Who::Root);
}

#[test]
fn every_tmpfs_shares_one_budget_as_a_user() {
    tmpfs_share_one_budget(test_user());
}

#[test]
fn a_cache_over_its_limit_is_reported_recorded_and_pruned() {
    let host = Host::new(test_user());
    let profile = host.profile("cache = \"1MiB\"");
    // The same server (same name and command, so the same cache) three times.
    let (_, stderr) = host.attack(&profile, &["cache", "4"]);
    assert!(!stderr.contains("limit:"), "{stderr}");
    // The next session finds the cache over its limit.
    let (_, stderr) = host.attack(&profile, &["cache", "4"]);
    assert!(
        stderr.contains("limit: the persistent cache")
            && stderr.contains("mcpguard cache prune --server attacker"),
        "{stderr}"
    );
    let limits: Vec<Value> = host
        .audit_records()
        .into_iter()
        .filter(|r| r["event"] == "limit")
        .collect();
    assert_eq!(limits.len(), 1, "{limits:?}");
    assert_eq!(limits[0]["detail"]["limit"], "cache");
    assert_eq!(limits[0]["detail"]["max"], 1 << 20);
    assert!(limits[0]["detail"]["bytes"].as_u64().unwrap() >= 4 << 20);

    let output = host.mcpguard(&["cache", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&output.stdout);
    let line = listed
        .lines()
        .find(|l| l.starts_with("attacker-"))
        .unwrap_or_else(|| panic!("{listed}"));
    let bytes: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(bytes >= 4 << 20, "{line}");
    let output = host
        .mcpguard(&["cache", "prune", "--server", "attacker"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let output = host.mcpguard(&["cache", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&output.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("attacker-") && l.contains(" 0 bytes")),
        "{listed}"
    );
    // Pruned, the cache is within its limit again.
    let (_, stderr) = host.attack(&profile, &["cache", "4"]);
    assert!(!stderr.contains("limit:"), "{stderr}");
}

#[test]
fn a_bad_limit_is_refused_with_exit_125() {
    let host = Host::new(Who::Root);
    let output = host
        .mcpguard(&[
            "run",
            "--profile",
            &host.profile("processes = 2"),
            "--",
            "true",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("limits.processes = 2: write a number from 16"),
        "{stderr}"
    );
}
