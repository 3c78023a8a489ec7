//! Credentials from the OS keyring, through the built binary: the real kernel keyring and a
//! real Secret Service (gnome-keyring on a private session bus), as root and as the
//! unprivileged test account; a server that leaks what it was handed; minted tokens that
//! expire and the restart that renews them under a real SDK client; and the places a
//! credential must never be found.

use crate::common::*;
use crate::sandbox::{Who, test_user};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A secret name no other test (or earlier run: the kernel keyring is per uid) uses.
fn unique(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "it-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A private place for one test: mcpguard's files and a HOME, reachable by `who`.
struct Place {
    dir: tempfile::TempDir,
    who: Who,
}

impl Place {
    fn new(who: Who) -> Place {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["home", "mcpguard", "out"] {
            let path = dir.path().join(d);
            std::fs::create_dir_all(&path).unwrap();
            if let Who::User { uid, gid } = who {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
        }
        Place { dir, who }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `argv` as `who`, with this place's HOME and MCPGUARD_HOME and nothing else of ours.
    fn command(&self, argv: &[&str]) -> Command {
        let mut command = match self.who {
            Who::Root => Command::new(argv[0]),
            Who::User { uid, gid } => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string()])
                    .args(["--clear-groups", "--"])
                    .arg(argv[0]);
                c
            }
        };
        command
            .args(&argv[1..])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.path("home"))
            .env("MCPGUARD_HOME", self.path("mcpguard"));
        command
    }

    /// `mcpguard ARGS` with `input` on stdin.
    fn mcpguard(&self, args: &[&str], input: &str, store: &str) -> Output {
        let bin = reachable_mcpguard();
        let mut argv = vec![bin.to_str().unwrap()];
        argv.extend_from_slice(args);
        let mut command = self.command(&argv);
        command.env("MCPGUARD_SECRET_STORE", store);
        run_with_input(&mut command, input)
    }
}

fn run_with_input(command: &mut Command, input: &str) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn_when_not_busy(command);
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// set → list → show → show --reveal → rm → show, each a process of its own.
fn lifecycle(place: &Place, store: &str, run: &dyn Fn(&[&str], &str) -> Output) {
    let name = unique(store);
    let value = format!("value-of-{name}-Zq9");
    let set = run(
        &["secret", "set", &name, "--ttl", "30d"],
        &format!("{value}\n"),
    );
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
    assert!(
        text(&set.stderr).contains(&format!("stored {name} in {store}")),
        "{}",
        text(&set.stderr)
    );
    let list = run(&["secret", "list", "--json"], "");
    let rows: Value = serde_json::from_slice(&list.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(
        (&row["store"], &row["standing"], row["expires"].is_string()),
        (&json!(store), &json!("ok"), true)
    );
    let show = run(&["secret", "show", &name], "");
    assert!(
        !text(&show.stdout).contains(&value),
        "show printed the value"
    );
    let reveal = run(&["secret", "show", &name, "--reveal"], "");
    assert_eq!(
        text(&reveal.stdout),
        format!("{value}\n"),
        "{}",
        text(&reveal.stderr)
    );
    // Nothing mcpguard wrote holds the value.
    assert_eq!(
        files_containing(&place.path("mcpguard"), &value),
        Vec::<PathBuf>::new()
    );
    let rm = run(&["secret", "rm", &name], "");
    assert_eq!(rm.status.code(), Some(0), "{}", text(&rm.stderr));
    let gone = run(&["secret", "show", &name, "--reveal"], "");
    assert_eq!(gone.status.code(), Some(125));
    assert!(
        text(&gone.stderr).contains(&format!("no secret named {name}")),
        "{}",
        text(&gone.stderr)
    );
}

fn keyutils_lifecycle(who: Who) {
    let place = Place::new(who);
    lifecycle(&place, "keyutils", &|args, input| {
        place.mcpguard(args, input, "keyutils")
    });
    // Also from a fresh session keyring of its own (`keyctl session -`), not only the one
    // mcpguard joins when the process has none.
    let name = unique("keyctl");
    let bin = reachable_mcpguard();
    let set = run_with_input(
        place
            .command(&[
                "keyctl",
                "session",
                "-",
                bin.to_str().unwrap(),
                "secret",
                "set",
                &name,
            ])
            .env("MCPGUARD_SECRET_STORE", "keyutils"),
        "from-a-fresh-session\n",
    );
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
    let got = place.mcpguard(&["secret", "show", &name, "--reveal"], "", "keyutils");
    assert_eq!(
        text(&got.stdout),
        "from-a-fresh-session\n",
        "{}",
        text(&got.stderr)
    );
    place.mcpguard(&["secret", "rm", &name], "", "keyutils");
}

#[test]
fn keyutils_keeps_secrets_across_processes_as_root() {
    keyutils_lifecycle(Who::Root);
}

#[test]
fn keyutils_keeps_secrets_across_processes_as_the_test_account() {
    keyutils_lifecycle(test_user());
}

/// Runs `script` (sh) on a private session bus with an unlocked gnome-keyring.
fn on_secret_service(place: &Place, script: &str) -> Output {
    let wrapped = format!(
        "printf ci-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 && {script}"
    );
    let mut command = place.command(&["dbus-run-session", "--", "sh", "-c", &wrapped]);
    command.env("XDG_DATA_HOME", place.path("home").join(".local/share"));
    run_with_input(&mut command, "")
}

fn secret_service_lifecycle(who: Who) {
    let place = Place::new(who);
    let bin = reachable_mcpguard();
    lifecycle(&place, "secret-service", &|args, input| {
        // One bus per step would be one keyring per step: each step runs a shell that
        // stores nothing but reads the keyring files the earlier steps left in HOME.
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let script = format!(
            "printf '%s' '{}' | {} {}",
            input.replace('\'', ""),
            bin.display(),
            quoted.join(" ")
        );
        on_secret_service(&place, &script)
    });
}

#[test]
fn the_secret_service_keeps_secrets_across_processes_as_root() {
    secret_service_lifecycle(Who::Root);
}

#[test]
fn the_secret_service_keeps_secrets_across_processes_as_the_test_account() {
    secret_service_lifecycle(test_user());
}

#[test]
fn with_no_store_the_error_names_both_and_the_fix() {
    // Inside mcpguard's own sandbox there is no session bus and keyctl is refused: the
    // situation of a container that blocks keyctl.
    let place = Place::new(Who::Root);
    let bin = reachable_mcpguard();
    let bin_dir = bin.parent().unwrap().display().to_string();
    let out = place.path("out");
    let script = format!(
        "echo v | {} secret set nowhere 2> {}/err; echo $? > {}/code",
        bin.display(),
        out.display(),
        out.display()
    );
    let mut command = place.command(&[
        bin.to_str().unwrap(),
        "run",
        "--name",
        "no-store",
        "--profile",
        "everything",
        "--allow-read",
        &bin_dir,
        "--allow-write",
        &out.display().to_string(),
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let (code, stderr) = run_holding_stdin(&mut command);
    assert_eq!(code, Some(0), "{stderr}");
    let error = std::fs::read_to_string(out.join("err")).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("code")).unwrap(), "125\n");
    for needed in [
        "no credential store works here",
        "the Secret Service: no session bus",
        "keyctl is not permitted here",
        "gnome-keyring-daemon --unlock",
        "keyctl session -",
    ] {
        assert!(error.contains(needed), "missing {needed:?} in: {error}");
    }
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .map(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
            .unwrap_or(false)
        {
            found.push(path);
        }
    }
    found
}

/// The encoded forms a leaking server writes (see the fake server's `credential` mode).
fn forms(value: &str) -> Vec<String> {
    use base64::Engine;
    vec![
        value.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(value),
    ]
}

/// A session of `mcpguard run` with `profile` over the leaking fake server, the test as
/// the agent; returns (what the client saw, mcpguard's stderr, the server's log).
fn leaky_session(
    place: &Place,
    profile: &str,
    extra: &[&str],
    calls: usize,
) -> (String, String, Vec<Value>) {
    let out = place.path("out");
    let log = out.join("log");
    let _ = std::fs::remove_file(&log);
    let profile_path = place.path("profile.toml");
    std::fs::write(&profile_path, profile).unwrap();
    let home = place.path("mcpguard");
    let mut options = vec![
        "--name",
        "leaky",
        "--profile",
        profile_path.to_str().unwrap(),
        "--allow-write",
        out.to_str().unwrap(),
    ];
    options.extend_from_slice(extra);
    let server = fake(&["credential", "GH_TOKEN", log.to_str().unwrap()]);
    let mut guard = Guarded::start_in(&home, None, &options, &server, |c| {
        c.env("MCPGUARD_SECRET_STORE", "keyutils");
    });
    let mut seen = String::new();
    guard.send_json(&initialize(json!(1)));
    seen.push_str(&text(&guard.recv()));
    guard.send_json(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    guard.send_json(&request(json!(2), "tools/list", json!({})));
    seen.push_str(&text(&guard.recv()));
    for n in 0..calls {
        guard.send_json(&request(
            json!(10 + n),
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "who are you"}}),
        ));
        seen.push_str(&text(&guard.recv()));
    }
    let (_, stderr) = guard.finish();
    let logged = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (seen, stderr, logged)
}

fn store_secret(place: &Place, name: &str, value: &str) {
    let set = place.mcpguard(&["secret", "set", name], &format!("{value}\n"), "keyutils");
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
}

fn leak_test(delivery: &str) {
    let place = Place::new(Who::Root);
    let name = unique("leak");
    let value = format!("ghp_{}LeakedValue0123456789", name.replace('-', ""));
    store_secret(&place, &name, &value);
    let profile = format!(
        "[profile]\nname = \"leak-test\"\nextends = \"everything\"\n\
         [secrets.GH_TOKEN]\nkey = \"{name}\"\ndelivery = \"{delivery}\"\n"
    );
    let (seen, stderr, logged) = leaky_session(&place, &profile, &[], 2);
    // The server got the right value, the way the profile said.
    assert_eq!(logged.len(), 2, "{stderr}");
    assert_eq!(logged[0]["value"], json!(value));
    let how = logged[0]["how"].as_str().unwrap();
    match delivery {
        "file" => assert_eq!(how, "file /run/secrets/GH_TOKEN mode 0o400"),
        _ => assert_eq!(how, "env"),
    }
    // It leaked it every way it could; the client, mcpguard's stderr and every file
    // under the state directory hold only the marker.
    let marker = format!("[REDACTED:{name}]");
    assert!(
        seen.contains(&format!("plain {marker} base64 {marker} url {marker}")),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("\"{marker}\":\"as a key\"")),
        "{seen}"
    );
    assert!(
        stderr.contains(&format!("my credential is {marker}")),
        "{stderr}"
    );
    for form in forms(&value) {
        assert!(!seen.contains(&form), "the client saw {form}: {seen}");
        assert!(!stderr.contains(&form), "stderr shows {form}: {stderr}");
        assert_eq!(
            files_containing(&place.path("mcpguard"), &form),
            Vec::<PathBuf>::new(),
            "{form}"
        );
    }
    let records = std::fs::read_to_string(
        files_containing(&place.path("mcpguard"), "\"event\":\"response\"")[0].clone(),
    )
    .unwrap();
    assert!(records.contains(&marker), "{records}");
    place.mcpguard(&["secret", "rm", &name], "", "keyutils");
}

#[test]
fn a_server_echoing_its_credential_hands_the_client_only_the_marker() {
    leak_test("env");
}

#[test]
fn a_credential_delivered_as_a_file_is_read_only_and_in_no_process_environment() {
    leak_test("file");
}

#[test]
fn a_credential_never_shows_in_a_dry_run_or_in_the_process_table() {
    let place = Place::new(Who::Root);
    let name = unique("ps");
    let value = format!("sk-{}PsVisibleValue0123456789", name.replace('-', ""));
    store_secret(&place, &name, &value);
    let bin = reachable_mcpguard();
    let dry = place.mcpguard(
        &[
            "run",
            "--dry-run",
            "--name",
            "ps",
            "--secret",
            &format!("API_KEY={name}"),
            "--",
            "cat",
        ],
        "",
        "keyutils",
    );
    assert!(
        text(&dry.stdout).contains(&format!(
            "credential:      API_KEY from secret {name}, in the environment"
        )),
        "{}",
        text(&dry.stdout)
    );
    assert!(!text(&dry.stdout).contains(&value) && !text(&dry.stderr).contains(&value));
    // A running session with file delivery: no argv and no environment on this machine
    // holds the value (mcpguard's own included).
    let profile = place.path("ps.toml");
    std::fs::write(
        &profile,
        format!("[profile]\nname = \"ps\"\nextends = \"everything\"\n[secrets.API_KEY]\nkey = \"{name}\"\ndelivery = \"file\"\n"),
    )
    .unwrap();
    let mut session = place.command(&[
        bin.to_str().unwrap(),
        "run",
        "--name",
        "ps",
        "--profile",
        profile.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "cat \"$API_KEY_FILE\" > /dev/null && sleep 30",
    ]);
    session
        .env("MCPGUARD_SECRET_STORE", "keyutils")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = spawn_when_not_busy(&mut session);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut holders = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        for what in ["cmdline", "environ"] {
            if let Ok(bytes) = std::fs::read(entry.path().join(what))
                && String::from_utf8_lossy(&bytes).contains(&value)
            {
                holders.push(format!("{}/{what}", entry.path().display()));
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(holders, Vec::<String>::new());
    place.mcpguard(&["secret", "rm", &name], "", "keyutils");
}

#[test]
fn an_expired_secret_is_refused_with_how_to_rotate_it() {
    let place = Place::new(Who::Root);
    let name = unique("expired");
    let set = place.mcpguard(
        &["secret", "set", &name, "--ttl", "1s"],
        "short\n",
        "keyutils",
    );
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let list = place.mcpguard(&["secret", "list"], "", "keyutils");
    assert!(
        text(&list.stdout).contains("EXPIRED"),
        "{}",
        text(&list.stdout)
    );
    let run = place.mcpguard(
        &[
            "run",
            "--name",
            "expired",
            "--secret",
            &format!("T={name}"),
            "--",
            "cat",
        ],
        "",
        "keyutils",
    );
    assert_eq!(run.status.code(), Some(125));
    assert!(
        text(&run.stderr).contains(&format!("the secret {name} expired at"))
            && text(&run.stderr).contains(&format!(
                "rotate it with `mcpguard secret set {name} --ttl DURATION`"
            )),
        "{}",
        text(&run.stderr)
    );
    place.mcpguard(&["secret", "rm", &name], "", "keyutils");
}

#[test]
fn embedded_credential_shapes_are_never_stored() {
    let sentences = [
        "my token ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok",
        "use github_pat_11ABCDEFG0123456789_abcdefghijklmno now",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl please",
        "header Basic dXNlcjpwYXNzd29yZDEyMw== sent",
        "aws AKIAIOSFODNN7EXAMPLE and ASIAIOSFODNN7EXAMPLF keys",
        "slack xoxb-123456789012-abcdefghijklmnop here",
        "openai sk-proj-abcdefghijklmnopqrstuvwx0123 and sk-ant-api03-abcdefghijklmnopqrst",
        "a jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0NTYifQ.c2lnbmF0dXJlMg inside",
        "key -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY----- end",
        "clone https://alice:hunter2Secret@git.example.com/x.git",
    ];
    let secrets = [
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmno",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
        "dXNlcjpwYXNzd29yZDEyMw==",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLF",
        "xoxb-123456789012-abcdefghijklmnop",
        "sk-proj-abcdefghijklmnopqrstuvwx0123",
        "sk-ant-api03-abcdefghijklmnopqrst",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0NTYifQ.c2lnbmF0dXJlMg",
        "b3BlbnNzaC1rZXktdjEAAAAA",
        "hunter2Secret",
    ];
    // mcpguard's files outlive the session here, to be searched after it.
    let kept = tempfile::tempdir().unwrap();
    let home = kept.path().to_path_buf();
    let mut guard = Guarded::start_in(
        &home,
        None,
        &["--name", "shapes"],
        &fake(&["normal"]),
        |_| {},
    );
    guard.send_json(&initialize(json!(1)));
    guard.recv();
    guard.send_json(&request(json!(2), "tools/list", json!({})));
    guard.recv();
    for (n, sentence) in sentences.iter().enumerate() {
        guard.send_json(&request(
            json!(10 + n),
            "tools/call",
            json!({"name": "echo", "arguments": {"text": sentence}}),
        ));
        // The client gets the result as the server wrote it (redaction is for records).
        let reply = text(&guard.recv());
        assert!(reply.contains("\"result\""), "{reply}");
    }
    guard.finish();
    assert!(!files_containing(&home, "\"event\":\"request\"").is_empty());
    for secret in secrets {
        assert_eq!(
            files_containing(&home, secret),
            Vec::<PathBuf>::new(),
            "{secret}"
        );
    }
    let all = files_containing(&home, "\"event\":\"request\"");
    let records = std::fs::read_to_string(&all[0]).unwrap();
    for kind in [
        "github",
        "bearer",
        "basic",
        "aws",
        "slack",
        "api-key",
        "jwt",
        "private-key",
        "url-password",
    ] {
        assert!(records.contains(&format!("[REDACTED:{kind}]")), "{kind}");
    }
}

#[test]
fn a_minted_token_is_renewed_by_restarting_the_server_under_a_live_sdk_session() {
    let place = Place::new(Who::Root);
    let name = unique("mint");
    store_secret(&place, &name, "long-lived-parent-secret-4711");
    let out = place.path("out");
    let count = out.join("mints");
    let log = out.join("log");
    // The mint command counts its calls and derives a token from the secret it reads.
    let mint = format!(
        "n=$(( $(cat {c} 2>/dev/null || echo 0) + 1 )); echo $n > {c}; read s; \
         printf 'tok-%s-%s\\n' \"$n\" \"$(printf %s \"$s\" | sha256sum | cut -c1-16)\"",
        c = count.display()
    );
    let profile = place.path("mint.toml");
    std::fs::write(
        &profile,
        format!(
            "[profile]\nname = \"mint\"\nextends = \"everything\"\n[secrets.GH_TOKEN]\nkey = \"{name}\"\n\
             ttl = \"2s\"\nmint = [\"sh\", \"-c\", {}]\n",
            serde_json::to_string(&mint).unwrap()
        ),
    )
    .unwrap();
    let bin = reachable_mcpguard();
    let output = Command::new("python3")
        .arg(repo().join("tests/peers/repeat_calls.py"))
        .args(["echo", r#"{"text":"x"}"#, "12", "0.5", "--"])
        .arg(&bin)
        .args([
            "run",
            "--name",
            "mint",
            "--profile",
            profile.to_str().unwrap(),
        ])
        .args(["--allow-read", &repo().join("tests").display().to_string()])
        .args(["--allow-write", out.to_str().unwrap(), "--"])
        .args(fake(&["credential", "GH_TOKEN", log.to_str().unwrap()]))
        .env("PYTHONPATH", peers().join("py"))
        .env("MCPGUARD_HOME", place.path("mcpguard"))
        .env("MCPGUARD_SECRET_STORE", "keyutils")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let seen: Vec<Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    // Every call answered once, none failed, and the client never saw a token.
    assert_eq!(seen.len(), 12);
    assert!(
        seen.iter().all(|r| r["isError"] == json!(false)),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|r| r["text"]
            .as_str()
            .unwrap()
            .contains(&format!("plain [REDACTED:{name}]"))),
        "{seen:?}"
    );
    // The server held several tokens over the session, each minted from the secret, in order.
    let tokens: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut distinct = tokens.clone();
    distinct.dedup();
    let mints: usize = std::fs::read_to_string(&count)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        distinct.len() >= 3 && mints >= 3,
        "tokens {tokens:?}, mints {mints}"
    );
    assert!(
        distinct
            .iter()
            .enumerate()
            .all(|(i, t)| t.starts_with(&format!("tok-{}-", i + 1))),
        "{distinct:?}"
    );
    for token in &distinct {
        assert_eq!(
            files_containing(&place.path("mcpguard"), token),
            Vec::<PathBuf>::new()
        );
    }
    let restarts = files_containing(&place.path("mcpguard"), "\"event\":\"server.restart\"");
    assert_eq!(restarts.len(), 1, "no server.restart record");
    place.mcpguard(&["secret", "rm", &name], "", "keyutils");
}

/// Starts `mcpguard run ARGS -- sleep 30` as the place's account; returns it once up.
fn idle_session(place: &Place, args: &[&str]) -> std::process::Child {
    let bin = reachable_mcpguard();
    let mut argv = vec![bin.to_str().unwrap(), "run"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--", "sleep", "30"]);
    let mut command = place.command(&argv);
    command
        .env("MCPGUARD_SECRET_STORE", "keyutils")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = spawn_when_not_busy(&mut command);
    std::thread::sleep(std::time::Duration::from_secs(2));
    child
}

/// Whether a `sleep` runs among the descendants of `pid` (the server of `idle_session`).
fn runs_a_server(pid: i32) -> bool {
    let table = process_table();
    let mut family = vec![pid];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(
            table
                .iter()
                .filter(|(_, _, p)| *p == parent)
                .map(|(c, _, _)| *c),
        );
        i += 1;
    }
    family.iter().skip(1).any(|child| {
        std::fs::read_to_string(format!("/proc/{child}/comm")).is_ok_and(|c| c.trim() == "sleep")
    })
}

/// Whether another process of the same account can read `pid`'s environment.
fn readable_by_the_account(place: &Place, pid: u32) -> bool {
    let environ = format!("/proc/{pid}/environ");
    let out = place
        .command(&["cat", &environ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    out.success()
}

#[test]
fn mcpguard_holding_a_credential_is_closed_to_the_users_other_processes() {
    let place = Place::new(test_user());
    let name = unique("dump");
    store_secret(&place, &name, "not-for-ptrace-or-core-0451");
    // Without a credential, the user's other processes can read mcpguard (setpriv execs
    // it, so the child is mcpguard itself): the check below can tell.
    let mut plain = idle_session(&place, &["--name", "plain"]);
    let open = readable_by_the_account(&place, plain.id());
    let _ = plain.kill();
    let _ = plain.wait();
    assert!(
        open,
        "the control session was not readable; the check proves nothing"
    );
    let secret = format!("T={name}");
    let mut holding = idle_session(&place, &["--name", "holding", "--secret", &secret]);
    // Its server runs: the sandbox came up (a supervisor that cannot be read proves
    // nothing when its sandbox failed and it only waits to tell the client so).
    assert!(
        runs_a_server(holding.id() as i32),
        "mcpguard holding a credential did not start its server"
    );
    let closed = !readable_by_the_account(&place, holding.id());
    let _ = holding.kill();
    let _ = holding.wait();
    assert!(
        closed,
        "mcpguard holding a credential is readable by the user's other processes"
    );
    place.mcpguard(&["secret", "rm", &name], "", "keyutils");
}
