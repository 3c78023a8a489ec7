//! The command line (clap definitions). Doc comments here are the manual: they are what
//! `--help` prints. No behaviour lives in this file.

use clap::{Args, Parser, Subcommand};
use std::time::Duration;

/// A security guard for local MCP servers.
///
/// mcpguard stands between an agent (Claude Desktop, Claude Code, Cursor, VS Code, Zed,
/// Codex...) and a local MCP server it launches. Put `mcpguard run --` in front of the server
/// command in the agent's config; mcpguard starts the server and relays its stdio JSON-RPC
/// stream, checking every message on the way.
#[derive(Debug, Parser)]
#[command(name = "mcpguard", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) globals: Globals,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct Globals {
    /// More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// Also write diagnostics to a daily rolling file in this directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) log_dir: Option<std::path::PathBuf>,
}

/// `run`'s summary, shared with the command line that knows only `run` (`run_only`).
pub(crate) const RUN_ABOUT: &str =
    "Run an MCP server behind mcpguard: `mcpguard run [OPTIONS] -- CMD [ARGS...]`";
/// `run`'s description.
pub(crate) const RUN_LONG_ABOUT: &str =
    "Run an MCP server behind mcpguard: `mcpguard run [OPTIONS] -- CMD [ARGS...]`.

mcpguard starts CMD with its stdin and stdout connected to mcpguard, relays every JSON-RPC \
message between the agent (mcpguard's own stdin/stdout) and the server, and shows the \
server's stderr on its own, each line prefixed with the server's name and escaped (the \
server never gets mcpguard's terminal or log). Messages pass byte for byte unless mcpguard \
has to answer them itself (oversize, malformed, timed out, server gone).

Exit status: the server's own exit code; 128+N when it died of signal N; 125 when mcpguard \
itself failed; 126 when CMD is not executable; 127 when CMD is not found.";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    #[command(about = RUN_ABOUT, long_about = RUN_LONG_ABOUT)]
    Run(RunArgs),

    /// Show which sandbox layers this machine can enforce (user namespaces and each
    /// namespace type, the Landlock ABI and what it covers, seccomp, the network allowlist),
    /// tested for real by starting tiny sandboxes, with a fix for each gap. Exits 1 when the
    /// default sandbox cannot run here.
    Doctor {
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },

    /// Show the audit trail: a table (time, server, event, tool, verdict, latency, size), or
    /// JSON Lines with --json for SIEM ingestion.
    Logs(LogsArgs),

    /// Check or summarise the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),

    /// List, show and lint profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),

    /// Pinned tool definitions: what each server's tools looked like when first seen, and
    /// the changes waiting for approval (a changed description, schema or annotation, a new
    /// tool, a removed one).
    #[command(subcommand)]
    Pins(PinsCommand),

    /// The servers' persistent caches (npm, uv and other package caches kept between
    /// sessions): their sizes, and emptying them. Each session checks its server's cache
    /// against the profile's `limits.cache` when it starts.
    #[command(subcommand)]
    Cache(CacheCommand),

    /// Answer the tool calls that running sessions hold for approval.
    ///
    /// A call the profile marks `prompt` waits for a person when the agent cannot ask
    /// itself (no elicitation: Claude Desktop, Zed, older clients) and `mcpguard approve`
    /// runs. Without arguments: an interactive view of every pending call across running
    /// sessions (its server, tool, every argument, the rule that asked) where you allow it
    /// once, for the session (same arguments), always (a pattern written to your approvals
    /// file) or deny it. While it runs, sessions hold such calls for it. With ID: answer one
    /// call (`--allow` or `--deny`). `--list` prints the pending calls once; `--watch` stays,
    /// counts as a running approver, and prints each new call as it arrives (`--json`: one
    /// JSON object per line), for scripts.
    Approve(ApproveArgs),

    /// The approvals answered "always": list them, or revoke them.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),

    /// Credentials in the OS keyring for servers: store, list, show, remove.
    ///
    /// A stored secret reaches a server only when its profile names it (`[secrets.VAR]`
    /// with `key = "NAME"`) or the run says so (`--secret VAR=NAME`); it is kept in the
    /// Secret Service when a session bus and a provider answer, else in the kernel keyring.
    /// Values are never taken from the command line, and never shown unless asked for.
    #[command(subcommand)]
    Secret(SecretCommand),

    /// Every agent config on this machine (Claude Desktop and Code, Cursor, VS Code,
    /// Windsurf, Zed, Codex, Continue, Gemini CLI; the user's and the current directory's
    /// project's), each MCP server entry in it, how it is reached, and whether it is wrapped
    /// in mcpguard and under which profile.
    Clients {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },

    /// Put mcpguard in front of the stdio servers of the agents' configs.
    ///
    /// Each selected entry's `command` becomes this mcpguard (its absolute path) and its
    /// `args` become `run --name NAME --profile P [grants] [--env VAR...] -- <the original
    /// command and arguments>`. Nothing else of the file changes: every other key, comment,
    /// order and space stays as it was (values are edited where they stand, never
    /// re-serialised). The profile is the built-in made for the server when there is one
    /// (server-filesystem → filesystem, with its directories as workspace and granted;
    /// server-memory → memory; mcp-server-git → git; time, sqlite, fetch), else `default`;
    /// the output says which and why. A locally installed server's package is granted
    /// read-only; `npx -y` and `uvx` servers reach only their registry; the variables of the
    /// entry's `env` are passed through by name (their values stay in the file); a
    /// project's own config grants nothing outside the project. The diff is shown and
    /// confirmed first (nothing the file names runs before that); then each wrapped entry
    /// is started once as the agent would start it, and must answer `initialize` and
    /// `tools/list`; one that does not is left as it was, with the reason. A backup is kept
    /// under mcpguard's state directory, and the file replaced atomically with its mode
    /// kept. Running it again changes nothing; another --profile changes the profile and
    /// its grants. Remote (http, sse) entries are listed and left alone. Exits 1 when an
    /// entry was left out or the change was declined.
    Wrap(WrapArgs),

    /// Take mcpguard out of the agents' configs again: each wrapped entry gets back exactly
    /// the bytes it had before `wrap` (from the record `wrap` kept); an entry edited since
    /// is rebuilt from its arguments after `--`, with a warning.
    Unwrap(UnwrapArgs),

    /// Print a shell completion script: `mcpguard completions bash >
    /// /etc/bash_completion.d/mcpguard` (zsh: a `_mcpguard` file on `$fpath`; fish:
    /// `~/.config/fish/completions/mcpguard.fish`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print a manual page in roff: mcpguard(1), or with a subcommand its own page
    /// (`mcpguard man wrap` is mcpguard-wrap(1)): `mcpguard man run | man -l -`.
    Man {
        /// The subcommand whose page to print.
        #[arg(value_name = "SUBCOMMAND")]
        subcommand: Option<String>,
    },
}

/// Which agent configs and entries `wrap` and `unwrap` work on.
#[derive(Debug, Args)]
pub(crate) struct Selection {
    /// Only this agent's files (repeatable; default: every agent config found).
    #[arg(long, value_enum, value_name = "AGENT")]
    pub(crate) client: Vec<crate::wrap::clients::Client>,
    /// Only this file (repeatable); its agent is told by where it is and what it holds, or
    /// by --client.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Vec<std::path::PathBuf>,
    /// Only the entries of this name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub(crate) server: Vec<String>,
    /// Show the diff and write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Write without asking (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WrapArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,
    /// The profile for every selected entry (default: the built-in that matches each
    /// server, else `default`). For an entry already wrapped, only its profile changes.
    #[arg(long, value_name = "NAME|FILE")]
    pub(crate) profile: Option<String>,
    /// Write without starting each wrapped entry first (it may then fail in the agent).
    #[arg(long)]
    pub(crate) no_check: bool,
    /// How long the check waits for each answer (a first `npx`/`uvx` start downloads the
    /// server).
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = crate::units::parse_duration)]
    pub(crate) check_timeout: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct UnwrapArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,
}

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The pending call to answer (as the view or `--list` shows it: `<pid>-<n>`).
    #[arg(value_name = "ID", conflicts_with_all = ["list", "watch"])]
    pub(crate) id: Option<String>,
    /// Let the call run.
    #[arg(long, requires = "id", conflicts_with = "deny")]
    pub(crate) allow: bool,
    /// Refuse the call (the model reads that a person denied it).
    #[arg(long, requires = "id")]
    pub(crate) deny: bool,
    /// How far an allow reaches: this call, the same call for the rest of the session, or
    /// always (calls with these arguments, strings widened by `--pattern`, written to your
    /// approvals file).
    #[arg(long, value_enum, default_value = "once", requires = "allow")]
    pub(crate) scope: crate::approval::Scope,
    /// For `--scope always`: the glob a string argument of later calls may match instead of
    /// this call's exact value (repeat for each argument to widen). Later calls must have
    /// exactly this call's arguments, every other one equal to this call's.
    #[arg(long, value_name = "KEY=GLOB", requires = "allow")]
    pub(crate) pattern: Vec<String>,
    /// Print the pending calls and end.
    #[arg(long)]
    pub(crate) list: bool,
    /// Stay as a running approver and print each new pending call as it arrives.
    #[arg(long, conflicts_with = "list")]
    pub(crate) watch: bool,
    /// With --list or --watch: JSON (--list: one array; --watch: one object per line).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApprovalsCommand {
    /// Every approval answered "always": its number, server, tool and argument patterns.
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Remove approvals: by their numbers in `mcpguard approvals list`, every one of a
    /// server (`--server`), or all (`--all`). The next such call asks again.
    Revoke {
        #[arg(value_name = "N", required_unless_present_any = ["server", "all"])]
        numbers: Vec<usize>,
        #[arg(long, value_name = "NAME", conflicts_with = "all")]
        server: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretCommand {
    /// Store a secret: its value from a terminal prompt (not echoed) or from stdin (one
    /// trailing newline dropped), never from the command line.
    Set {
        #[arg(value_name = "NAME")]
        name: String,
        /// When the value itself expires (e.g. 30d for a token its issuer expires in 30
        /// days): sessions refuse it after that, and `secret list` flags it when due.
        #[arg(long, value_name = "DURATION")]
        ttl: Option<String>,
        /// The store to keep it in (default: the Secret Service when it answers, else
        /// keyutils; or MCPGUARD_SECRET_STORE).
        #[arg(long, value_name = "STORE", value_parser = ["secret-service", "keyutils"])]
        store: Option<String>,
    },
    /// Every stored secret: its store, when it was set, when it expires, when a session
    /// last used it, and whether it is due for rotation (never the values).
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// One secret's facts; `--reveal` prints its value instead.
    Show {
        #[arg(value_name = "NAME")]
        name: String,
        /// Print the value on stdout.
        #[arg(long)]
        reveal: bool,
    },
    /// Remove a secret from its store.
    Rm {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PinsCommand {
    /// Every pinned server: its command, profile, number of tools and pending changes.
    List {
        /// Only the server of this name (`mcpguard run --name`), with every command and
        /// profile it was pinned under.
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
    /// The pending changes, tool by tool, with the pinned and the new definition.
    Diff {
        /// Only the pending changes of the server of this name (as `mcpguard pins list`
        /// shows it).
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
    /// Accept the pending changes (the new definitions become the pins).
    Approve {
        /// Only the pending changes of the server of this name (as `mcpguard pins list`
        /// shows it); without it, every server's pending changes are accepted.
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// Each server's cache directory and the space it takes.
    List {
        /// Only the caches of the server of this name (one per command it was run with), or
        /// the one cache directory of this name.
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
    /// Empty caches: those of the server named with --server, or every server's. Everything in a cache
    /// can be fetched again; a running session keeps what it already opened.
    Prune {
        /// Only the caches of the server of this name, or the one cache directory of this
        /// name (as `mcpguard cache list` shows it).
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// The built-in profiles, with what each is for.
    List,
    /// A profile's text; with --resolved, after `extends` and variables, as the session
    /// would use it.
    Show {
        /// A built-in name or a TOML file.
        name: String,
        #[arg(long)]
        resolved: bool,
        /// The directory `${workspace}` stands for (default: the current directory).
        #[arg(long, value_name = "DIR")]
        workspace: Option<std::path::PathBuf>,
    },
    /// Check profiles: syntax and unknown keys (with the line), `extends` cycles, unknown
    /// variables, globs and regexes that do not compile, paths that do not exist, rule
    /// examples that do not come out as declared, review dates in the past. Exits 1 on errors.
    Lint {
        /// Files or built-in names.
        #[arg(required = true)]
        files: Vec<String>,
        /// The directory `${workspace}` stands for (default: the current directory).
        #[arg(long, value_name = "DIR")]
        workspace: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Keep printing new records as they are written.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Only this server.
    #[arg(long, value_name = "NAME")]
    pub(crate) server: Option<String>,
    /// Only this tool.
    #[arg(long, value_name = "TOOL")]
    pub(crate) tool: Option<String>,
    /// Only records with this verdict (allow, prompt, deny) or `error` (results with isError).
    #[arg(long, value_name = "DECISION")]
    pub(crate) decision: Option<String>,
    /// Only records younger than this (e.g. 1h, 30m, 7d).
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub(crate) since: Option<Duration>,
    /// One JSON record per line, exactly as stored.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Walk every server's hash chain; exit 1 naming the first record that does not match
    /// (changed, removed, inserted or reordered). Torn lines left by a crash are reported.
    Verify {
        /// Only this server's chain.
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
    /// Per server and tool: calls, denials, errors, p50/p95 latency, bytes and tokens; the
    /// inventory of servers, tools, profiles and clients; anomalies (new tools, bursts,
    /// off-hours use, denial streaks, pin changes).
    Report {
        /// Only records younger than this (default: everything).
        #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
        since: Option<Duration>,
        /// Write the report as a self-contained HTML page here instead (the terminal gets
        /// one line saying where).
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
}

/// Network access of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum NetArg {
    /// No network: a network namespace with nothing but loopback; on Linux 6.7+ Landlock
    /// also refuses TCP bind and connect on loopback (Unix sockets still work).
    None,
    /// Only the hosts of the allowlist (`--allow-host`, the profile's
    /// `sandbox.allow-hosts`), through mcpguard's egress filter; nothing else, not even the
    /// host's loopback or private addresses unless named.
    Allowlist,
    /// The host's network, unfiltered (the server can reach everything you can).
    Host,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Name of this server in diagnostics, the audit trail, its pins and its cache directory
    /// (default: derived from the package or script the command runs, `npx -y
    /// @modelcontextprotocol/server-memory` → `server-memory`).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,

    /// The profile the server runs under: a built-in name (`mcpguard profile list`) or a
    /// TOML file. It sets the sandbox, which tools are allowed, need approval or are denied,
    /// rules on their arguments, and limits. Flags given here add to its grants and override
    /// its single values.
    #[arg(long, value_name = "NAME|FILE", default_value = "default")]
    pub(crate) profile: String,

    /// The directory `${workspace}` stands for in the profile (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) workspace: Option<std::path::PathBuf>,

    /// Expose a host file or directory to the server, read-only (repeatable). Nothing of your
    /// home directory is visible otherwise.
    #[arg(long, value_name = "PATH")]
    pub(crate) allow_read: Vec<std::path::PathBuf>,

    /// Expose a host file or directory to the server, writable (repeatable). By default no
    /// host path is writable; the server gets a private /tmp and home that vanish with it.
    #[arg(long, value_name = "PATH")]
    pub(crate) allow_write: Vec<std::path::PathBuf>,

    /// Network access: `none` (only loopback, and on Linux 6.7+ no TCP even there; the
    /// default unless the profile says otherwise), `allowlist` (only the hosts of
    /// --allow-host and the profile's `sandbox.allow-hosts`, through mcpguard's egress filter)
    /// or `host` (everything; says so loudly). A command started through a package launcher
    /// (`npx`, `uvx`) gets its registry allowed, and nothing else, unless `--net none` is
    /// given or the profile says `network = "none"` or `sandbox.launcher-registries = false`.
    #[arg(long, value_enum)]
    pub(crate) net: Option<NetArg>,

    /// Let the server reach this host (repeatable; implies `--net allowlist`): a name
    /// (`api.example.com`), every name below a domain (`*.example.org`), or an address;
    /// with `:PORT` for that port only, else ports 80 and 443. Names are resolved by
    /// mcpguard, and an address that is loopback, private, link-local (cloud metadata) or
    /// multicast is refused unless the allowlist names that address itself.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub(crate) allow_host: Vec<String>,

    /// Hand the server a stored secret (`mcpguard secret set NAME`) as its variable VAR
    /// (repeatable); the value never appears in argv, records or output.
    #[arg(long, value_name = "VAR=NAME")]
    pub(crate) secret: Vec<String>,

    /// Pass a host environment variable to the server (`NAME`), or set one (`NAME=VALUE`)
    /// (repeatable). The server gets only PATH, HOME, TMPDIR, LANG, LANGUAGE, LC_ALL, TZ,
    /// TERM and these; never SSH_AUTH_SOCK, DBUS_SESSION_BUS_ADDRESS, DISPLAY or tokens
    /// you happened to export.
    #[arg(long, value_name = "NAME[=VALUE]")]
    pub(crate) env: Vec<String>,

    /// Sandbox layers without which the server must not start (comma-separated:
    /// namespaces, landlock, seccomp; default: the profile's `sandbox.require`, which is all
    /// three in the built-in profiles). When a required layer is missing mcpguard exits with
    /// 125 and says how to enable it; a layer left out may be missing, and mcpguard then
    /// runs with what it has and warns.
    #[arg(long, value_name = "LAYERS", value_delimiter = ',')]
    pub(crate) require: Option<Vec<String>>,

    /// Largest JSON-RPC message accepted in either direction (e.g. 16MiB, 512KiB).
    ///
    /// A longer client request is answered with a `mcpguard.message_too_large` error; a
    /// longer server message is reported on stderr, and the request it answered gets that
    /// error instead. Default: the profile's `limits.max-message`, else 16MiB.
    #[arg(long, value_name = "SIZE", value_parser = crate::units::parse_size)]
    pub(crate) max_message: Option<usize>,

    /// How long a tools/call may go unanswered before mcpguard answers it with a
    /// `mcpguard.timeout` error and sends `notifications/cancelled` to the server. Progress
    /// notifications for the call restart the clock. `off` disables the limit. Default: the
    /// profile's `limits.call-timeout`, else 120s.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_timeout)]
    pub(crate) call_timeout: Option<crate::units::Limit>,

    /// How long the server gets to exit after its stdin is closed, and again after SIGTERM,
    /// before it and everything it started are killed.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = crate::units::parse_duration)]
    pub(crate) shutdown_grace: Duration,

    /// How much of request and response payloads the audit trail keeps: `full` (redacted,
    /// capped at 64 KiB with the hash of the whole), `hash` (size and hash) or `none`.
    #[arg(long, value_enum, default_value = "full")]
    pub(crate) audit_payloads: crate::audit::PayloadMode,

    /// Keep no audit trail for this session (not recommended: nothing will show what the
    /// server was asked and answered).
    #[arg(long)]
    pub(crate) no_audit: bool,

    /// Print what would run, and exit without starting anything.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// The server command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}
