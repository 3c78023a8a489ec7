//! Escape attempts against the real sandbox, as root and as an unprivileged user.
//!
//! tests/fixtures/escape_probe.py runs inside `mcpguard run` (the server command) and, as a
//! baseline, outside with the same user, home and environment. Every probe that must fail
//! inside names the layer that stops it; the baseline shows the same probe succeeding (or at
//! least reaching the kernel) outside, so a failure inside is the sandbox's doing.

use crate::common::*;
use pretty_assertions::assert_eq;
use serde_json::Value;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The unprivileged account created by tests/setup.sh.
const TEST_USER: &str = "mcpguard-test";

#[derive(Clone, Copy)]
pub(crate) enum Who {
    Root,
    User { uid: u32, gid: u32 },
}

pub(crate) fn test_user() -> Who {
    let output = Command::new("id").args(["-u", TEST_USER]).output().unwrap();
    assert!(
        output.status.success(),
        "user {TEST_USER} is missing; tests/setup.sh creates it (run as root)"
    );
    let uid: u32 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    let output = Command::new("id").args(["-g", TEST_USER]).output().unwrap();
    let gid: u32 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    Who::User { uid, gid }
}

/// A prepared host: a home with planted secrets, a granted directory, listeners on the
/// host's loopback and an abstract socket, a copy of mcpguard and the probe that `who` can run.
struct Scene {
    _dir: tempfile::TempDir,
    who: Who,
    home: PathBuf,
    granted: PathBuf,
    state: PathBuf,
    bin: PathBuf,
    probe: PathBuf,
    tcp_port: u16,
    abstract_name: String,
    /// A System V shared-memory segment of the host's IPC namespace: (key, id).
    shm: (i32, i32),
    _tcp: std::net::TcpListener,
    _abstract: std::os::unix::net::UnixListener,
}

impl Drop for Scene {
    fn drop(&mut self) {
        // SAFETY: removing the segment Scene::new created.
        unsafe { libc::shmctl(self.shm.1, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

impl Scene {
    fn new(who: Who) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        let granted = dir.path().join("granted");
        let state = dir.path().join("state");
        let tools = dir.path().join("tools");
        for d in [
            &home,
            &granted,
            &state,
            &tools,
            &home.join(".ssh"),
            &home.join(".aws"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(
            home.join(".ssh/id_rsa"),
            "-----BEGIN OPENSSH PRIVATE KEY----- planted",
        )
        .unwrap();
        std::fs::write(
            home.join(".aws/credentials"),
            "[default]\naws_secret_access_key=planted\n",
        )
        .unwrap();
        std::fs::write(home.join(".bashrc"), "# host bashrc\n").unwrap();
        let bin = reachable_mcpguard();
        let probe = tools.join("escape_probe.py");
        std::fs::copy(repo().join("tests/fixtures/escape_probe.py"), &probe).unwrap();
        if let Who::User { uid, gid } = who {
            for d in [
                &home,
                &home.join(".ssh"),
                &home.join(".aws"),
                &granted,
                &state,
            ] {
                std::os::unix::fs::chown(d, Some(uid), Some(gid)).unwrap();
            }
            for f in [
                home.join(".ssh/id_rsa"),
                home.join(".aws/credentials"),
                home.join(".bashrc"),
            ] {
                std::os::unix::fs::chown(&f, Some(uid), Some(gid)).unwrap();
            }
        }
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp_port = tcp.local_addr().unwrap().port();
        let abstract_name = format!("mcpguard-test-{}-{}", std::process::id(), tcp_port);
        let address =
            std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
        let abstract_listener = std::os::unix::net::UnixListener::bind_addr(&address).unwrap();
        // Unique per scene (tests run in parallel): the listener's port is.
        let shm_key = 0x6d67_0000 | i32::from(tcp_port);
        // SAFETY: creating a small segment the Drop below removes.
        let shm_id = unsafe { libc::shmget(shm_key, 4096, libc::IPC_CREAT | 0o666) };
        assert!(shm_id >= 0, "shmget: {}", std::io::Error::last_os_error());
        Scene {
            _dir: dir,
            who,
            home,
            granted,
            state,
            bin,
            probe,
            tcp_port,
            abstract_name,
            shm: (shm_key, shm_id),
            _tcp: tcp,
            _abstract: abstract_listener,
        }
    }

    /// A command run as `who`, with a clean environment holding the host secrets a careless
    /// sandbox would leak.
    fn command(&self, program: &Path) -> Command {
        let mut command = match self.who {
            Who::Root => Command::new(program),
            Who::User { uid, gid } => {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    &uid.to_string(),
                    "--regid",
                    &gid.to_string(),
                    "--clear-groups",
                    "--",
                ]);
                c.arg(program);
                c
            }
        };
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("MCPGUARD_HOME", &self.state)
            .env("SECRET_TOKEN", "planted-token")
            .env("SSH_AUTH_SOCK", "/tmp/ssh-planted/agent.1")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/0/bus")
            .env("DISPLAY", ":0");
        command
    }

    fn probe_args(&self) -> Vec<String> {
        let secret = self.home.join(".ssh/id_rsa").display().to_string();
        let mut args = vec![self.probe.display().to_string()];
        let mut push = |a: &str, b: String| {
            args.push(a.to_owned());
            args.push(b);
        };
        push("--read", secret.clone());
        for path in HOST_SECRETS.iter().chain(&MACHINE_WIDE_PROC) {
            push("--content", (*path).to_owned());
        }
        push(
            "--read",
            self.home.join(".aws/credentials").display().to_string(),
        );
        push(
            "--write",
            self.granted.join("written-inside").display().to_string(),
        );
        push("--write", self.home.join(".bashrc").display().to_string());
        push("--write", "/usr/bin/mcpguard-probe".into());
        push("--write", "/etc/mcpguard-probe".into());
        push("--tcp", format!("127.0.0.1:{}", self.tcp_port));
        push("--udp", "8.8.8.8:53".into());
        push("--abstract", self.abstract_name.clone());
        push("--kill", std::process::id().to_string());
        args.push("--shm-key".into());
        args.push(self.shm.0.to_string());
        args.push("--symlink-read".into());
        args.push(self.granted.display().to_string());
        args.push(secret.clone());
        args.push("--hardlink".into());
        args.push(secret);
        args.push(self.granted.display().to_string());
        args
    }

    /// The probe's findings inside `mcpguard run` with `options`.
    fn inside(&self, options: &[&str]) -> (Value, String) {
        let (code, result, stderr) = self.run_probe(options, false);
        assert_eq!(code, Some(0), "mcpguard failed:\n{stderr}");
        (
            result.unwrap_or_else(|| panic!("no probe result:\n{stderr}")),
            stderr,
        )
    }

    /// Runs the probe through mcpguard; with `no_userns`, mcpguard itself runs in a user
    /// namespace whose `user.max_user_namespaces` is 0, so it cannot create its own.
    fn run_probe(&self, options: &[&str], no_userns: bool) -> (Option<i32>, Option<Value>, String) {
        let result = self.granted.join("result.json");
        let _ = std::fs::remove_file(&result);
        let script = format!(
            "/usr/bin/python3 {} > {}",
            self.probe_args()
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(" "),
            result.display()
        );
        let tools = self.probe.parent().unwrap().display().to_string();
        let granted = self.granted.display().to_string();
        let mut command = if no_userns {
            let mut c = self.command(Path::new("/usr/bin/unshare"));
            c.args(["--user", "--map-root-user", "--", "/bin/sh", "-c"])
                .arg("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"")
                .arg(&self.bin);
            c
        } else {
            self.command(&self.bin)
        };
        command
            .args([
                "run",
                "--allow-read",
                &tools,
                "--allow-write",
                &granted,
                "--env",
                "PROBE_DESTRUCTIVE=1",
            ])
            .args(options)
            .args(["--", "/bin/sh", "-c", &script]);
        let (code, stderr) = run_holding_stdin(&mut command);
        let value = std::fs::read_to_string(&result)
            .ok()
            .map(|text| serde_json::from_str(&text).unwrap());
        (code, value, stderr)
    }

    /// The same probe outside any sandbox, as the same user with the same home.
    fn outside(&self) -> Value {
        let mut command = self.command(Path::new("/usr/bin/python3"));
        command.args(self.probe_args());
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Undo the baseline's own writes, so what is found later was written inside.
        let _ = std::fs::remove_file(self.granted.join("written-inside"));
        std::fs::write(self.home.join(".bashrc"), "# host bashrc\n").unwrap();
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

fn text(value: &Value, key: &str) -> String {
    match &value[key] {
        Value::String(s) => s.clone(),
        other => panic!("probe {key} missing or not a string: {other}"),
    }
}

/// `key` must give one of `expected` inside; `layer` is the layer that proves it.
fn expect(inside: &Value, key: &str, expected: &[&str], layer: &str) {
    let got = text(inside, key);
    assert!(
        expected.contains(&got.as_str()),
        "{layer}: probe {key} gave {got} inside, expected one of {expected:?}"
    );
}

/// Files under /etc that hold the host's secrets (the view shows /etc without them).
const HOST_SECRETS: [&str; 5] = [
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/ssh/ssh_host_ed25519_key",
    "/etc/ssl/private/ssl-cert-snakeoil.key",
];

/// Files of /proc that tell of the whole machine (other users' keys, every timer with its
/// task, the kernel's memory and symbols, every file lock).
const MACHINE_WIDE_PROC: [&str; 8] = [
    "/proc/keys",
    "/proc/key-users",
    "/proc/timer_list",
    "/proc/kallsyms",
    "/proc/locks",
    "/proc/modules",
    "/proc/kcore",
    "/proc/vmallocinfo",
];

/// Checks that each of `paths` reads as empty, or not at all, inside; returns how many of
/// them the same user reads outside (the baseline that makes the check mean something).
fn hidden_inside(outside: &Value, inside: &Value, paths: &[&str], layer: &str) -> usize {
    let mut readable = 0;
    for path in paths {
        let key = format!("content:{path}");
        if text(outside, &key) == "bytes" {
            readable += 1;
        }
        expect(inside, &key, &["empty", "ENOENT", "EACCES"], layer);
    }
    readable
}

fn check_escapes(who: Who) {
    let scene = Scene::new(who);
    let outside = scene.outside();
    let (inside, stderr) = scene.inside(&[]);
    let secret = scene.home.join(".ssh/id_rsa").display().to_string();
    let aws = scene.home.join(".aws/credentials").display().to_string();

    // Baseline: outside, the same user reads its own secrets and reaches the host's loopback.
    for key in [
        format!("read:{secret}"),
        format!("read:{aws}"),
        format!("tcp:127.0.0.1:{}", scene.tcp_port),
    ] {
        assert_eq!(text(&outside, &key), "ok", "baseline {key}");
    }
    assert_eq!(
        text(&outside, &format!("abstract:{}", scene.abstract_name)),
        "ok"
    );
    // /etc is shown, its secrets are not: each one this user can read outside reads as
    // empty, or not at all, inside.
    let readable = hidden_inside(&outside, &inside, &HOST_SECRETS, "masks over /etc secrets");
    if matches!(who, Who::Root) {
        assert!(
            readable > 0,
            "baseline: root reads none of {HOST_SECRETS:?}"
        );
    }
    // /proc is this pid namespace's: its machine-wide files read as empty, or not at all
    // (checked whether or not this user can read them outside).
    let readable = hidden_inside(
        &outside,
        &inside,
        &MACHINE_WIDE_PROC,
        "masks over machine-wide /proc files",
    );
    // Outside, root reads most of them; a user at least key-users and kallsyms.
    let least = if matches!(who, Who::Root) { 3 } else { 2 };
    assert!(
        readable >= least,
        "baseline: fewer than {least} of {MACHINE_WIDE_PROC:?} are readable outside"
    );
    // The host's System V IPC is another namespace's.
    assert_eq!(
        text(&outside, "shm_host_key"),
        "ok",
        "baseline shm_host_key"
    );
    expect(&inside, "shm_host_key", &["ENOENT"], "ipc namespace");
    let outside_env: Vec<String> = serde_json::from_value(outside["env"].clone()).unwrap();
    assert!(outside_env.contains(&"SECRET_TOKEN".to_string()));

    // Mount namespace: the real home is replaced by an empty private one.
    expect(
        &inside,
        &format!("read:{secret}"),
        &["ENOENT"],
        "mount namespace (home hidden)",
    );
    expect(
        &inside,
        &format!("read:{aws}"),
        &["ENOENT"],
        "mount namespace (home hidden)",
    );
    expect(
        &inside,
        &format!("symlink_read:{secret}"),
        &["ENOENT"],
        "mount namespace (symlink to a hidden file)",
    );
    expect(
        &inside,
        &format!("hardlink:{secret}"),
        &["ENOENT"],
        "mount namespace (hardlink of a hidden file)",
    );
    let home_listing: Vec<String> = serde_json::from_value(inside["home_listing"].clone()).unwrap();
    assert!(
        !home_listing.iter().any(|e| e == ".ssh" || e == ".aws"),
        "{home_listing:?}"
    );
    expect(
        &inside,
        "write:/usr/bin/mcpguard-probe",
        &["EROFS", "EACCES"],
        "read-only system binds",
    );
    expect(
        &inside,
        "write:/etc/mcpguard-probe",
        &["EROFS", "EACCES"],
        "read-only system binds",
    );
    expect(
        &inside,
        &format!("write:{}", scene.home.join(".bashrc").display()),
        &["ok"],
        "private tmpfs home",
    );
    assert_eq!(
        std::fs::read_to_string(scene.home.join(".bashrc")).unwrap(),
        "# host bashrc\n",
        "the host's .bashrc changed"
    );
    expect(
        &inside,
        &format!("write:{}", scene.granted.join("written-inside").display()),
        &["ok"],
        "granted path",
    );
    assert!(
        scene.granted.join("written-inside").exists(),
        "a write to a granted path did not reach the host"
    );

    // Environment: only what the user granted.
    let env: Vec<String> = serde_json::from_value(inside["env"].clone()).unwrap();
    for leaked in [
        "SECRET_TOKEN",
        "SSH_AUTH_SOCK",
        "DBUS_SESSION_BUS_ADDRESS",
        "DISPLAY",
        "MCPGUARD_HOME",
    ] {
        assert!(
            !env.contains(&leaked.to_string()),
            "environment: {leaked} reached the server: {env:?}"
        );
    }

    // Pid namespace and /proc.
    let pids: Vec<i64> = serde_json::from_value(inside["proc_pids"].clone()).unwrap();
    assert!(
        pids.contains(&1) && pids.iter().all(|p| *p < 100),
        "pid namespace: /proc shows {pids:?}"
    );
    // Every writable scratch directory is nosuid and nodev: nothing written there gains
    // privileges when run, and no device node made there opens.
    let scratch = inside["scratch_mounts"]
        .as_object()
        .expect("scratch mounts");
    assert_eq!(scratch.len(), 5, "scratch mounts: {scratch:?}");
    for (path, options) in scratch {
        let options: Vec<&str> = options.as_str().unwrap_or_default().split(',').collect();
        assert!(
            options.contains(&"nosuid") && options.contains(&"nodev"),
            "{path} is mounted {options:?}"
        );
    }
    // The host's root was detached after the pivot: one mount at `/` (the view's own
    // tmpfs), and none of the host's mounts (/sys and its cgroups) anywhere in the table.
    let table: Vec<(String, String)> = serde_json::from_value(inside["mount_table"].clone())
        .unwrap_or_else(|_| panic!("mount table: {}", inside["mount_table"]));
    let at_root: Vec<&(String, String)> = table.iter().filter(|(at, _)| at == "/").collect();
    assert_eq!(
        at_root,
        vec![&("/".to_owned(), "tmpfs".to_owned())],
        "mounts at /: {table:?}"
    );
    assert!(
        table.iter().all(|(at, _)| !at.starts_with("/sys")),
        "host mounts in the view: {table:?}"
    );
    let pid_one = text(&inside, "proc1_cmdline");
    assert!(
        pid_one.contains("__sandbox-init"),
        "pid 1 is not mcpguard's init: {pid_one}"
    );
    // PID 1 is forked from the supervisor: its command line (grants, profile, credential
    // names) must not be what the server reads there.
    assert!(
        !pid_one.contains("--allow-write") && !pid_one.contains(&*scene.granted.to_string_lossy()),
        "pid 1 shows mcpguard's own command line to the server: {pid_one}"
    );
    expect(
        &inside,
        "proc1_environ",
        &["EACCES", "EPERM"],
        "non-dumpable PID 1",
    );
    expect(
        &inside,
        "proc1_mem",
        &["EACCES", "EPERM"],
        "non-dumpable PID 1",
    );
    // The kernel's knobs under /proc/sys are read-only, and no capability opens raw sockets
    // (root can do both outside).
    if matches!(who, Who::Root) {
        for key in ["proc_sys_write", "socket:INET_RAW"] {
            assert_eq!(text(&outside, key), "ok", "baseline {key}");
        }
    }
    expect(
        &inside,
        "proc_sys_write",
        &["EROFS", "EACCES"],
        "read-only /proc/sys",
    );
    expect(
        &inside,
        "socket:INET_RAW",
        &["EPERM", "EACCES"],
        "no capabilities (raw sockets)",
    );
    expect(
        &inside,
        &format!("kill:{}", std::process::id()),
        &["ESRCH"],
        "pid namespace (host processes invisible)",
    );

    // Network namespace and Landlock: nothing on the host's loopback, nothing outside.
    expect(
        &inside,
        &format!("tcp:127.0.0.1:{}", scene.tcp_port),
        &["ECONNREFUSED", "EACCES"],
        "network namespace",
    );
    expect(
        &inside,
        "udp:8.8.8.8:53",
        &["ENETUNREACH"],
        "network namespace (no route)",
    );
    expect(
        &inside,
        &format!("abstract:{}", scene.abstract_name),
        &["ECONNREFUSED", "EPERM"],
        "network namespace (abstract sockets)",
    );

    // seccomp: socket families, process inspection, mounts, namespaces, keyrings, kernel surface.
    for family in [
        "socket:AF_VSOCK",
        "socket:AF_PACKET",
        "socket:AF_ALG",
        "socket:AF_BLUETOOTH",
    ] {
        expect(
            &inside,
            family,
            &["EAFNOSUPPORT"],
            "seccomp (socket families)",
        );
    }
    for key in [
        "ptrace_attach_1",
        "process_vm_readv_1",
        "pidfd_getfd_1",
        "mount_tmpfs",
        "umount_root",
        "pivot_root",
        "chroot",
        "unshare_user",
        "unshare_net",
        "setns",
        "clone_newuser",
        "keyctl_join",
        "add_key",
        "request_key",
        "io_uring_setup",
        "tiocsti",
        "tiocsti_highbits",
        "tioclinux",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "kexec_load",
        "init_module",
        "syslog",
        "open_by_handle_at",
        "personality_linux32",
        "sethostname",
        "mknod",
    ] {
        expect(&inside, key, &["EPERM"], "seccomp (deny-list)");
    }
    for key in [
        "clone3",
        "open_tree",
        "move_mount",
        "fsopen",
        "mount_setattr",
        "x32_getpid",
    ] {
        expect(
            &inside,
            key,
            &["ENOSYS"],
            "seccomp (ENOSYS filter, x32 guard)",
        );
    }

    // Privileges.
    let status = &inside["status"];
    for cap in ["CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"] {
        assert_eq!(status[cap], "0000000000000000", "capabilities: {cap}");
    }
    assert_eq!(status["NoNewPrivs"], "1", "no_new_privs");
    assert_eq!(status["Seccomp"], "2", "seccomp filter mode");
    assert_eq!(inside["hostname"], "mcpguard", "uts namespace");
    assert_eq!(
        inside["dev"],
        serde_json::json!([
            "fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom",
            "zero"
        ]),
        "minimal /dev"
    );
    assert_eq!(
        inside["fds"],
        serde_json::json!([0, 1, 2]),
        "no inherited descriptors"
    );
    assert_eq!(inside["uid"], outside["uid"], "the caller's uid is kept");
    assert!(!stderr.contains("degraded"), "{stderr}");
}

#[test]
fn escapes_fail_as_root() {
    check_escapes(Who::Root);
}

#[test]
fn escapes_fail_as_an_unprivileged_user() {
    check_escapes(test_user());
}

#[test]
fn without_user_namespaces_mcpguard_refuses_by_default() {
    let scene = Scene::new(Who::Root);
    let (code, result, stderr) = scene.run_probe(&[], true);
    assert_eq!(code, Some(125), "{stderr}");
    assert!(
        result.is_none(),
        "the server ran although a required layer was missing"
    );
    assert!(
        stderr.contains("user namespaces are not available"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sysctl user.max_user_namespaces"),
        "the fix is not named: {stderr}"
    );
    assert!(stderr.contains("--require landlock,seccomp"), "{stderr}");
}

#[test]
fn without_user_namespaces_an_allowed_fallback_still_confines_and_says_so() {
    let scene = Scene::new(Who::Root);
    let (code, result, stderr) = scene.run_probe(&["--require", "landlock,seccomp"], true);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("sandbox degraded: namespaces: user namespaces are not available"),
        "{stderr}"
    );
    let inside = result.unwrap();
    let secret = scene.home.join(".ssh/id_rsa").display().to_string();
    expect(
        &inside,
        &format!("read:{secret}"),
        &["EACCES"],
        "landlock (degraded: no mount namespace)",
    );
    expect(
        &inside,
        &format!("symlink_read:{secret}"),
        &["EACCES"],
        "landlock (degraded)",
    );
    expect(
        &inside,
        "write:/usr/bin/mcpguard-probe",
        &["EACCES", "EROFS"],
        "landlock (degraded)",
    );
    expect(
        &inside,
        &format!("write:{}", scene.granted.join("written-inside").display()),
        &["ok"],
        "granted path",
    );
    expect(
        &inside,
        &format!("tcp:127.0.0.1:{}", scene.tcp_port),
        &["EAFNOSUPPORT"],
        "seccomp (degraded: no IP sockets)",
    );
    expect(
        &inside,
        "udp:8.8.8.8:53",
        &["EAFNOSUPPORT"],
        "seccomp (degraded: no IP sockets)",
    );
    expect(
        &inside,
        &format!("abstract:{}", scene.abstract_name),
        &["EPERM"],
        "landlock scope (abstract sockets)",
    );
    // No pid namespace here: only Landlock's signal scope keeps host processes unkillable.
    expect(
        &inside,
        &format!("kill:{}", std::process::id()),
        &["EPERM"],
        "landlock scope (signals, degraded: no pid namespace)",
    );
    for key in [
        "ptrace_attach_1",
        "mount_tmpfs",
        "unshare_user",
        "keyctl_join",
        "io_uring_setup",
        "bpf",
    ] {
        expect(&inside, key, &["EPERM"], "seccomp (degraded)");
    }
    expect(&inside, "clone3", &["ENOSYS"], "seccomp (degraded)");
    let env: Vec<String> = serde_json::from_value(inside["env"].clone()).unwrap();
    assert!(!env.contains(&"SECRET_TOKEN".to_string()), "{env:?}");
    assert_eq!(inside["status"]["NoNewPrivs"], "1");
    assert_eq!(inside["status"]["Seccomp"], "2");
    assert_eq!(inside["status"]["CapEff"], "0000000000000000");
}

/// `mcpguard doctor` starts real trial sandboxes, the default one and one in allowlist mode,
/// and says what it got; without user namespaces it fails with the fix.
#[test]
fn doctor_reports_what_real_trials_enforce() {
    for who in [Who::Root, test_user()] {
        let scene = Scene::new(who);
        let output = scene
            .command(&scene.bin)
            .args(["doctor", "--json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let findings: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(findings["default_sandbox_ok"], true, "{findings:#}");
        assert_eq!(findings["trial"]["ok"], true, "{findings:#}");
        assert_eq!(
            findings["allowlist"],
            serde_json::json!({
                "ok": true,
                "sockets": ["proxy", "capture(80)", "capture(443)", "names"],
                "error": null
            })
        );
    }
    let scene = Scene::new(Who::Root);
    let output = scene
        .command(Path::new("/usr/bin/unshare"))
        .args(["--user", "--map-root-user", "--", "/bin/sh", "-c"])
        .arg("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"")
        .arg(&scene.bin)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(findings["default_sandbox_ok"], false);
    assert_eq!(findings["allowlist"]["ok"], false);
    let fixes = findings["fixes"].to_string();
    assert!(fixes.contains("namespaces: "), "{fixes}");
    assert!(fixes.contains("network allowlist: "), "{fixes}");
}

/// Without user namespaces there is no network namespace to wire the allowlist into: the
/// fallback is no network at all, said on stderr, never the host's network.
#[test]
fn without_user_namespaces_the_allowlist_falls_back_to_no_network() {
    let scene = Scene::new(Who::Root);
    let (code, result, stderr) = scene.run_probe(
        &[
            "--require",
            "landlock,seccomp",
            "--allow-host",
            "registry.npmjs.org",
        ],
        true,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr
            .contains("the network allowlist needs a network namespace, so IP sockets are blocked"),
        "{stderr}"
    );
    let inside = result.unwrap();
    expect(
        &inside,
        &format!("tcp:127.0.0.1:{}", scene.tcp_port),
        &["EAFNOSUPPORT"],
        "seccomp (degraded allowlist: no IP sockets)",
    );
    expect(
        &inside,
        "udp:8.8.8.8:53",
        &["EAFNOSUPPORT"],
        "seccomp (degraded allowlist: no IP sockets)",
    );
}

#[test]
fn net_host_reaches_the_host_network_and_says_so() {
    let scene = Scene::new(Who::Root);
    let (inside, stderr) = scene.inside(&["--net", "host"]);
    expect(
        &inside,
        &format!("tcp:127.0.0.1:{}", scene.tcp_port),
        &["ok"],
        "--net host",
    );
    assert!(
        stderr.contains("--net host: the server shares your network"),
        "{stderr}"
    );
    // Everything else stays confined.
    expect(
        &inside,
        &format!("read:{}", scene.home.join(".ssh/id_rsa").display()),
        &["ENOENT"],
        "mount namespace",
    );
    expect(
        &inside,
        &format!("abstract:{}", scene.abstract_name),
        &["EPERM"],
        "landlock scope (host network)",
    );
}

#[test]
fn killing_mcpguard_takes_the_whole_sandbox_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let marker = format!(
        "MCPGUARD_TEST_MARKER=sigkill-{}-{}",
        std::process::id(),
        tcp_free_port()
    );
    let (key, value) = marker.split_once('=').unwrap();
    let guard = Guarded::start_with(
        &["--allow-write", dir.path().to_str().unwrap(), "--env", key],
        &fake(&["stubborn", pidfile.to_str().unwrap()]),
        |c| {
            c.env(key, value);
        },
    );
    wait_for_file(&pidfile);
    // mcpguard, the sandbox's PID 1, the server and its daemonized grandchild.
    assert_eq!(processes_with_marker(&marker).len(), 4);
    // SAFETY: kill(2) takes plain integers and touches no memory.
    unsafe { libc::kill(guard.pid(), libc::SIGKILL) };
    let start = std::time::Instant::now();
    while !processes_with_marker(&marker).is_empty() && start.elapsed() < PATIENCE {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        processes_with_marker(&marker),
        Vec::<i32>::new(),
        "sandbox processes outlived mcpguard"
    );
}

fn tcp_free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server installed in `~/.local/bin` (pip --user, uv tool) must not get `~/.local` with
/// it: that is where keyrings live. Also through a symlinked home, whose resolved path is
/// not `$HOME` as written.
#[test]
fn a_program_in_a_shared_home_directory_does_not_expose_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let real_home = dir.path().join("real-home");
    let linked_home = dir.path().join("home");
    let granted = dir.path().join("granted");
    let bin = real_home.join(".local/bin");
    let keyring = real_home.join(".local/share/keyrings/login.keyring");
    for d in [&bin, keyring.parent().unwrap(), &granted] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::os::unix::fs::symlink(&real_home, &linked_home).unwrap();
    std::fs::write(&keyring, "planted keyring\n").unwrap();
    for home in [&real_home, &linked_home] {
        let report = granted.join("report");
        let server = home.join(".local/bin/server");
        std::fs::write(
            &server,
            format!(
                "#!/bin/sh\n{{ cat {keyring:?}; test -x {server:?} && echo own-program-visible; }} > {report:?} 2>&1\n",
                keyring = home.join(".local/share/keyrings/login.keyring"),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&server, std::fs::Permissions::from_mode(0o755)).unwrap();

        // Baseline: outside, the same program reads the keyring.
        let status = Command::new(&server).env("HOME", home).status().unwrap();
        assert!(status.success());
        assert!(
            std::fs::read_to_string(&report)
                .unwrap()
                .contains("planted keyring")
        );

        let output = Command::new(mcpguard())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("MCPGUARD_HOME", dir.path().join("state"))
            .args(["run", "--allow-write", granted.to_str().unwrap(), "--"])
            .arg(&server)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "HOME={}: {stderr}",
            home.display()
        );
        let inside = std::fs::read_to_string(&report).unwrap();
        assert!(
            !inside.contains("planted keyring") && inside.contains("No such file"),
            "HOME={}: the keyring next to the program was visible: {inside}",
            home.display()
        );
        assert!(
            inside.contains("own-program-visible"),
            "HOME={}: {inside}",
            home.display()
        );
    }
}

/// A masked host path that is a symbolic link is masked where it leads in the view, not
/// where it leads on the host. Here `/etc/ssl/private` links to `/opt/keys`, and `/opt` is
/// in the view: a mask mounted through the link as the host resolves it lands outside the
/// view, and the key is read through the link. Set up in a mount namespace of the test's
/// own, so the host's /etc and /opt are untouched.
#[test]
fn a_masked_path_that_is_a_link_is_masked_where_it_leads_in_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let granted = dir.path().join("granted");
    let etc_copy = dir.path().join("etc");
    std::fs::create_dir_all(&granted).unwrap();
    std::fs::create_dir_all(&etc_copy).unwrap();
    let report = granted.join("report");
    let setup = format!(
        "set -e; mount -t tmpfs tmpfs {etc}; cp -a /etc/. {etc}/; mount --bind {etc} /etc; \
         mount -t tmpfs tmpfs /opt; mkdir /opt/keys; echo planted-key > /opt/keys/key; \
         mkdir -p /etc/ssl; rm -rf /etc/ssl/private; ln -s /opt/keys /etc/ssl/private; \
         cat /etc/ssl/private/key; exec \"$0\" \"$@\"",
        etc = etc_copy.display()
    );
    let reader = format!("cat /etc/ssl/private/key /opt/keys/key > {report:?} 2>&1; exit 0");
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg(&setup)
        .arg(mcpguard())
        .args(["run", "--allow-write", granted.to_str().unwrap(), "--"])
        .args(["/bin/sh", "-c", &reader])
        .env("MCPGUARD_HOME", dir.path().join("state"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Baseline: in the test's namespace the key is read through the link.
    assert!(stdout.contains("planted-key"), "setup: {stdout}\n{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let inside = std::fs::read_to_string(&report).unwrap();
    assert!(
        !inside.contains("planted-key") && inside.contains("Permission denied"),
        "the masked path's target was readable in the view: {inside}"
    );
}
