//! Giving up privileges before the server's `execve`.
//!
//! Owns: a new session (no controlling terminal, so TIOCSTI has nothing to inject into),
//! rlimits, closing inherited descriptors, dropping every capability (bounding, ambient,
//! effective, permitted, inheritable) with securebits locked so uid 0 regains nothing at
//! exec, `PR_SET_NO_NEW_PRIVS`, and checking the result in /proc/self/status.

use std::io;

const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;
const SECBIT_NO_SETUID_FIXUP: libc::c_ulong = 1 << 2;
const SECBIT_NO_SETUID_FIXUP_LOCKED: libc::c_ulong = 1 << 3;
const SECBIT_KEEP_CAPS_LOCKED: libc::c_ulong = 1 << 5;
const SECBIT_NO_CAP_AMBIENT_RAISE: libc::c_ulong = 1 << 6;
const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: libc::c_ulong = 1 << 7;

/// A new session with no controlling terminal.
pub(crate) fn new_session() -> io::Result<()> {
    nix::unistd::setsid().map(|_| ()).map_err(io::Error::from)
}

/// No core dumps (they would carry the server's memory, secrets included, onto the host);
/// at most `processes` tasks of this uid in this user namespace (RLIMIT_NPROC; see
/// `limits.rs` for what it counts); at most `memory` bytes of private writable memory per
/// process (RLIMIT_DATA). Soft and hard limits alike, so the server cannot raise them.
pub(crate) fn limit_resources(processes: Option<u32>, memory: Option<u64>) -> io::Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
    if let Some(n) = processes {
        setrlimit(Resource::RLIMIT_NPROC, n.into(), n.into())?;
    }
    if let Some(bytes) = memory {
        setrlimit(Resource::RLIMIT_DATA, bytes, bytes)?;
    }
    Ok(())
}

/// Drops all capabilities. A process that holds none to begin with (degraded mode as an
/// unprivileged user) may lack the right to change securebits and the bounding set; that is
/// tolerated only then, since it has nothing to give up and NO_NEW_PRIVS stops it gaining any.
pub(crate) fn drop_capabilities() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only, throughout this function.
    unsafe {
        let bits = SECBIT_NOROOT
            | SECBIT_NOROOT_LOCKED
            | SECBIT_NO_SETUID_FIXUP
            | SECBIT_NO_SETUID_FIXUP_LOCKED
            | SECBIT_KEEP_CAPS_LOCKED
            | SECBIT_NO_CAP_AMBIENT_RAISE
            | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
        let holds_caps = status_field(&read_status(), "CapEff")
            .is_some_and(|v| !v.trim_start_matches('0').is_empty());
        if libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) != 0 && holds_caps {
            return Err(io::Error::last_os_error());
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<libc::c_ulong>().ok())
            .unwrap_or(63);
        for cap in 0..=last {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && holds_caps {
                return Err(io::Error::last_os_error());
            }
        }
    }
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset reads the header and two data structs we own.
    if unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

pub(crate) fn no_new_privs() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A field of /proc/self/status, from the file's `status` text.
fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':').map(str::trim))
}

fn read_status() -> String {
    std::fs::read_to_string("/proc/self/status").unwrap_or_default()
}

/// Checks that the process really holds no capability and cannot gain any (one read of
/// /proc/self/status for all five fields).
pub(crate) fn verify_unprivileged() -> Result<(), String> {
    let status = read_status();
    for field in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        let value = status_field(&status, field).unwrap_or_default();
        if !value.trim_start_matches('0').is_empty() {
            return Err(format!("{field} is {value} after dropping capabilities"));
        }
    }
    if status_field(&status, "NoNewPrivs") != Some("1") {
        return Err("NoNewPrivs is not set".into());
    }
    Ok(())
}
