# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mcpguard_global_optspecs
    string join \n v/verbose q/quiet log-dir= h/help V/version
end

function __fish_mcpguard_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mcpguard_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mcpguard_using_subcommand
    set -l cmd (__fish_mcpguard_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mcpguard -n "__fish_mcpguard_needs_command" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "run" -d 'Run an MCP server behind mcpguard: `mcpguard run [OPTIONS] -- CMD [ARGS...]`'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "doctor" -d 'Show which sandbox layers this machine can enforce (user namespaces and each namespace type, the Landlock ABI and what it covers, seccomp, the network allowlist), tested for real by starting tiny sandboxes, with a fix for each gap. Exits 1 when the default sandbox cannot run here'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "logs" -d 'Show the audit trail: a table (time, server, event, tool, verdict, latency, size), or JSON Lines with --json for SIEM ingestion'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "audit" -d 'Check or summarise the audit trail'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "profile" -d 'List, show and lint profiles'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "pins" -d 'Pinned tool definitions: what each server\'s tools looked like when first seen, and the changes waiting for approval (a changed description, schema or annotation, a new tool, a removed one)'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "cache" -d 'The servers\' persistent caches (npm, uv and other package caches kept between sessions): their sizes, and emptying them. Each session checks its server\'s cache against the profile\'s `limits.cache` when it starts'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "approve" -d 'Answer the tool calls that running sessions hold for approval'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "approvals" -d 'The approvals answered "always": list them, or revoke them'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "secret" -d 'Credentials in the OS keyring for servers: store, list, show, remove'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "clients" -d 'Every agent config on this machine (Claude Desktop and Code, Cursor, VS Code, Windsurf, Zed, Codex, Continue, Gemini CLI; the user\'s and the current directory\'s project\'s), each MCP server entry in it, how it is reached, and whether it is wrapped in mcpguard and under which profile'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "wrap" -d 'Put mcpguard in front of the stdio servers of the agents\' configs'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "unwrap" -d 'Take mcpguard out of the agents\' configs again: each wrapped entry gets back exactly the bytes it had before `wrap` (from the record `wrap` kept); an entry edited since is rebuilt from its arguments after `--`, with a warning'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "completions" -d 'Print a shell completion script: `mcpguard completions bash > /etc/bash_completion.d/mcpguard` (zsh: a `_mcpguard` file on `$fpath`; fish: `~/.config/fish/completions/mcpguard.fish`)'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "man" -d 'Print a manual page in roff: mcpguard(1), or with a subcommand its own page (`mcpguard man wrap` is mcpguard-wrap(1)): `mcpguard man run | man -l -`'
complete -c mcpguard -n "__fish_mcpguard_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l name -d 'Name of this server in diagnostics, the audit trail, its pins and its cache directory (default: derived from the package or script the command runs, `npx -y @modelcontextprotocol/server-memory` → `server-memory`)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l profile -d 'The profile the server runs under: a built-in name (`mcpguard profile list`) or a TOML file. It sets the sandbox, which tools are allowed, need approval or are denied, rules on their arguments, and limits. Flags given here add to its grants and override its single values' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l workspace -d 'The directory `${workspace}` stands for in the profile (default: the current directory)' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l allow-read -d 'Expose a host file or directory to the server, read-only (repeatable). Nothing of your home directory is visible otherwise' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l allow-write -d 'Expose a host file or directory to the server, writable (repeatable). By default no host path is writable; the server gets a private /tmp and home that vanish with it' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l net -d 'Network access: `none` (only loopback, and on Linux 6.7+ no TCP even there; the default unless the profile says otherwise), `allowlist` (only the hosts of --allow-host and the profile\'s `sandbox.allow-hosts`, through mcpguard\'s egress filter) or `host` (everything; says so loudly). A command started through a package launcher (`npx`, `uvx`) gets its registry allowed, and nothing else, unless `--net none` is given or the profile says `network = "none"` or `sandbox.launcher-registries = false`' -r -f -a "none\t'No network: a network namespace with nothing but loopback; on Linux 6.7+ Landlock also refuses TCP bind and connect on loopback (Unix sockets still work)'
allowlist\t'Only the hosts of the allowlist (`--allow-host`, the profile\'s `sandbox.allow-hosts`), through mcpguard\'s egress filter; nothing else, not even the host\'s loopback or private addresses unless named'
host\t'The host\'s network, unfiltered (the server can reach everything you can)'"
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l allow-host -d 'Let the server reach this host (repeatable; implies `--net allowlist`): a name (`api.example.com`), every name below a domain (`*.example.org`), or an address; with `:PORT` for that port only, else ports 80 and 443. Names are resolved by mcpguard, and an address that is loopback, private, link-local (cloud metadata) or multicast is refused unless the allowlist names that address itself' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l secret -d 'Hand the server a stored secret (`mcpguard secret set NAME`) as its variable VAR (repeatable); the value never appears in argv, records or output' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l env -d 'Pass a host environment variable to the server (`NAME`), or set one (`NAME=VALUE`) (repeatable). The server gets only PATH, HOME, TMPDIR, LANG, LANGUAGE, LC_ALL, TZ, TERM and these; never SSH_AUTH_SOCK, DBUS_SESSION_BUS_ADDRESS, DISPLAY or tokens you happened to export' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l require -d 'Sandbox layers without which the server must not start (comma-separated: namespaces, landlock, seccomp; default: the profile\'s `sandbox.require`, which is all three in the built-in profiles). When a required layer is missing mcpguard exits with 125 and says how to enable it; a layer left out may be missing, and mcpguard then runs with what it has and warns' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l max-message -d 'Largest JSON-RPC message accepted in either direction (e.g. 16MiB, 512KiB)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l call-timeout -d 'How long a tools/call may go unanswered before mcpguard answers it with a `mcpguard.timeout` error and sends `notifications/cancelled` to the server. Progress notifications for the call restart the clock. `off` disables the limit. Default: the profile\'s `limits.call-timeout`, else 120s' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l shutdown-grace -d 'How long the server gets to exit after its stdin is closed, and again after SIGTERM, before it and everything it started are killed' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l audit-payloads -d 'How much of request and response payloads the audit trail keeps: `full` (redacted, capped at 64 KiB with the hash of the whole), `hash` (size and hash) or `none`' -r -f -a "full\t'The payload, redacted, up to 64 KiB (larger ones: a preview), with the hash of the whole'
hash\t'Only the size and hash'
none\t'Nothing of the payload'"
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l no-audit -d 'Keep no audit trail for this session (not recommended: nothing will show what the server was asked and answered)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -l dry-run -d 'Print what would run, and exit without starting anything'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand run" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand doctor" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand doctor" -l json -d 'Print the findings as JSON'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand doctor" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand doctor" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -l server -d 'Only this server' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -l tool -d 'Only this tool' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -l decision -d 'Only records with this verdict (allow, prompt, deny) or `error` (results with isError)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -l since -d 'Only records younger than this (e.g. 1h, 30m, 7d)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -l follow -d 'Keep printing new records as they are written'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -l json -d 'One JSON record per line, exactly as stored'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand logs" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -f -a "verify" -d 'Walk every server\'s hash chain; exit 1 naming the first record that does not match (changed, removed, inserted or reordered). Torn lines left by a crash are reported'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -f -a "report" -d 'Per server and tool: calls, denials, errors, p50/p95 latency, bytes and tokens; the inventory of servers, tools, profiles and clients; anomalies (new tools, bursts, off-hours use, denial streaks, pin changes)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and not __fish_seen_subcommand_from verify report help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from verify" -l server -d 'Only this server\'s chain' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from verify" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from report" -l since -d 'Only records younger than this (default: everything)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from report" -l html -d 'Write the report as a self-contained HTML page here instead (the terminal gets one line saying where)' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from report" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from report" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from report" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from report" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from report" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Walk every server\'s hash chain; exit 1 naming the first record that does not match (changed, removed, inserted or reordered). Torn lines left by a crash are reported'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "report" -d 'Per server and tool: calls, denials, errors, p50/p95 latency, bytes and tokens; the inventory of servers, tools, profiles and clients; anomalies (new tools, bursts, off-hours use, denial streaks, pin changes)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -f -a "list" -d 'The built-in profiles, with what each is for'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -f -a "show" -d 'A profile\'s text; with --resolved, after `extends` and variables, as the session would use it'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -f -a "lint" -d 'Check profiles: syntax and unknown keys (with the line), `extends` cycles, unknown variables, globs and regexes that do not compile, paths that do not exist, rule examples that do not come out as declared, review dates in the past. Exits 1 on errors'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and not __fish_seen_subcommand_from list show lint help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from list" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from show" -l workspace -d 'The directory `${workspace}` stands for (default: the current directory)' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from show" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from show" -l resolved
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from lint" -l workspace -d 'The directory `${workspace}` stands for (default: the current directory)' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from lint" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from lint" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from lint" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from lint" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from lint" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "list" -d 'The built-in profiles, with what each is for'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "show" -d 'A profile\'s text; with --resolved, after `extends` and variables, as the session would use it'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "lint" -d 'Check profiles: syntax and unknown keys (with the line), `extends` cycles, unknown variables, globs and regexes that do not compile, paths that do not exist, rule examples that do not come out as declared, review dates in the past. Exits 1 on errors'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -f -a "list" -d 'Every pinned server: its command, profile, number of tools and pending changes'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -f -a "diff" -d 'The pending changes, tool by tool, with the pinned and the new definition'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -f -a "approve" -d 'Accept the pending changes (the new definitions become the pins)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and not __fish_seen_subcommand_from list diff approve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from list" -l server -d 'Only the server of this name (`mcpguard run --name`), with every command and profile it was pinned under' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from list" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from diff" -l server -d 'Only the pending changes of the server of this name (as `mcpguard pins list` shows it)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from diff" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from diff" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from diff" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from diff" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from approve" -l server -d 'Only the pending changes of the server of this name (as `mcpguard pins list` shows it); without it, every server\'s pending changes are accepted' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from approve" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from approve" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from approve" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from approve" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from approve" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every pinned server: its command, profile, number of tools and pending changes'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from help" -f -a "diff" -d 'The pending changes, tool by tool, with the pinned and the new definition'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from help" -f -a "approve" -d 'Accept the pending changes (the new definitions become the pins)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand pins; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -f -a "list" -d 'Each server\'s cache directory and the space it takes'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -f -a "prune" -d 'Empty caches: those of the server named with --server, or every server\'s. Everything in a cache can be fetched again; a running session keeps what it already opened'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and not __fish_seen_subcommand_from list prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from list" -l server -d 'Only the caches of the server of this name (one per command it was run with), or the one cache directory of this name' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from list" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from prune" -l server -d 'Only the caches of the server of this name, or the one cache directory of this name (as `mcpguard cache list` shows it)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from prune" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "list" -d 'Each server\'s cache directory and the space it takes'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Empty caches: those of the server named with --server, or every server\'s. Everything in a cache can be fetched again; a running session keeps what it already opened'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l scope -d 'How far an allow reaches: this call, the same call for the rest of the session, or always (calls with these arguments, strings widened by `--pattern`, written to your approvals file)' -r -f -a "once\t'This call only'
session\t'The same tool with the same arguments, for as long as this mcpguard runs'
always\t'Calls of this tool whose arguments match a pattern, from now on (written to the user\'s approvals file, `always`)'"
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l pattern -d 'For `--scope always`: the glob a string argument of later calls may match instead of this call\'s exact value (repeat for each argument to widen). Later calls must have exactly this call\'s arguments, every other one equal to this call\'s' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l allow -d 'Let the call run'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l deny -d 'Refuse the call (the model reads that a person denied it)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l list -d 'Print the pending calls and end'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l watch -d 'Stay as a running approver and print each new pending call as it arrives'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -l json -d 'With --list or --watch: JSON (--list: one array; --watch: one object per line)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approve" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -f -a "list" -d 'Every approval answered "always": its number, server, tool and argument patterns'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -f -a "revoke" -d 'Remove approvals: by their numbers in `mcpguard approvals list`, every one of a server (`--server`), or all (`--all`). The next such call asks again'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and not __fish_seen_subcommand_from list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from list" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from list" -l json -d 'As a JSON array'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from revoke" -l server -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from revoke" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from revoke" -l all
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every approval answered "always": its number, server, tool and argument patterns'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Remove approvals: by their numbers in `mcpguard approvals list`, every one of a server (`--server`), or all (`--all`). The next such call asks again'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand approvals; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -f -a "set" -d 'Store a secret: its value from a terminal prompt (not echoed) or from stdin (one trailing newline dropped), never from the command line'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -f -a "list" -d 'Every stored secret: its store, when it was set, when it expires, when a session last used it, and whether it is due for rotation (never the values)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -f -a "show" -d 'One secret\'s facts; `--reveal` prints its value instead'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -f -a "rm" -d 'Remove a secret from its store'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and not __fish_seen_subcommand_from set list show rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from set" -l ttl -d 'When the value itself expires (e.g. 30d for a token its issuer expires in 30 days): sessions refuse it after that, and `secret list` flags it when due' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from set" -l store -d 'The store to keep it in (default: the Secret Service when it answers, else keyutils; or MCPGUARD_SECRET_STORE)' -r -f -a "secret-service\t''
keyutils\t''"
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from set" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from set" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from list" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from list" -l json -d 'As a JSON array'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from show" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from show" -l reveal -d 'Print the value on stdout'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from rm" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "set" -d 'Store a secret: its value from a terminal prompt (not echoed) or from stdin (one trailing newline dropped), never from the command line'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every stored secret: its store, when it was set, when it expires, when a session last used it, and whether it is due for rotation (never the values)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "show" -d 'One secret\'s facts; `--reveal` prints its value instead'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove a secret from its store'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand clients" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand clients" -l json -d 'As JSON'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand clients" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand clients" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand clients" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand clients" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l client -d 'Only this agent\'s files (repeatable; default: every agent config found)' -r -f -a "claude-desktop\t'Claude Desktop (`~/.config/Claude/claude_desktop_config.json`)'
claude-code\t'Claude Code (`~/.claude.json`: user and this project\'s local servers; `.mcp.json`)'
cursor\t'Cursor (`~/.cursor/mcp.json`, `.cursor/mcp.json`)'
vscode\t'VS Code (`~/.config/Code/User/mcp.json`, `.vscode/mcp.json`)'
windsurf\t'Windsurf (`~/.codeium/windsurf/mcp_config.json`)'
zed\t'Zed (`~/.config/zed/settings.json`, `.zed/settings.json`)'
codex\t'Codex (`$CODEX_HOME/config.toml`, `.codex/config.toml`)'
continue\t'Continue (`~/.continue/config.yaml`, `.continue/mcpServers/*.yaml|*.json`)'
gemini\t'Gemini CLI (`~/.gemini/settings.json`, `.gemini/settings.json`)'"
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l config -d 'Only this file (repeatable); its agent is told by where it is and what it holds, or by --client' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l server -d 'Only the entries of this name (repeatable)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l profile -d 'The profile for every selected entry (default: the built-in that matches each server, else `default`). For an entry already wrapped, only its profile changes' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l check-timeout -d 'How long the check waits for each answer (a first `npx`/`uvx` start downloads the server)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l dry-run -d 'Show the diff and write nothing'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -s y -l yes -d 'Write without asking (needed when stdin is not a terminal)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -l no-check -d 'Write without starting each wrapped entry first (it may then fail in the agent)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand wrap" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -l client -d 'Only this agent\'s files (repeatable; default: every agent config found)' -r -f -a "claude-desktop\t'Claude Desktop (`~/.config/Claude/claude_desktop_config.json`)'
claude-code\t'Claude Code (`~/.claude.json`: user and this project\'s local servers; `.mcp.json`)'
cursor\t'Cursor (`~/.cursor/mcp.json`, `.cursor/mcp.json`)'
vscode\t'VS Code (`~/.config/Code/User/mcp.json`, `.vscode/mcp.json`)'
windsurf\t'Windsurf (`~/.codeium/windsurf/mcp_config.json`)'
zed\t'Zed (`~/.config/zed/settings.json`, `.zed/settings.json`)'
codex\t'Codex (`$CODEX_HOME/config.toml`, `.codex/config.toml`)'
continue\t'Continue (`~/.continue/config.yaml`, `.continue/mcpServers/*.yaml|*.json`)'
gemini\t'Gemini CLI (`~/.gemini/settings.json`, `.gemini/settings.json`)'"
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -l config -d 'Only this file (repeatable); its agent is told by where it is and what it holds, or by --client' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -l server -d 'Only the entries of this name (repeatable)' -r
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -l dry-run -d 'Show the diff and write nothing'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -s y -l yes -d 'Write without asking (needed when stdin is not a terminal)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand unwrap" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand completions" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand completions" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand completions" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand man" -l log-dir -d 'Also write diagnostics to a daily rolling file in this directory' -r -F
complete -c mcpguard -n "__fish_mcpguard_using_subcommand man" -s v -l verbose -d 'More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand man" -s q -l quiet -d 'Only errors on stderr'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand man" -s h -l help -d 'Print help'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand man" -s V -l version -d 'Print version'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "run" -d 'Run an MCP server behind mcpguard: `mcpguard run [OPTIONS] -- CMD [ARGS...]`'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "doctor" -d 'Show which sandbox layers this machine can enforce (user namespaces and each namespace type, the Landlock ABI and what it covers, seccomp, the network allowlist), tested for real by starting tiny sandboxes, with a fix for each gap. Exits 1 when the default sandbox cannot run here'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "logs" -d 'Show the audit trail: a table (time, server, event, tool, verdict, latency, size), or JSON Lines with --json for SIEM ingestion'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "audit" -d 'Check or summarise the audit trail'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "profile" -d 'List, show and lint profiles'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "pins" -d 'Pinned tool definitions: what each server\'s tools looked like when first seen, and the changes waiting for approval (a changed description, schema or annotation, a new tool, a removed one)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "cache" -d 'The servers\' persistent caches (npm, uv and other package caches kept between sessions): their sizes, and emptying them. Each session checks its server\'s cache against the profile\'s `limits.cache` when it starts'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "approve" -d 'Answer the tool calls that running sessions hold for approval'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "approvals" -d 'The approvals answered "always": list them, or revoke them'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "secret" -d 'Credentials in the OS keyring for servers: store, list, show, remove'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "clients" -d 'Every agent config on this machine (Claude Desktop and Code, Cursor, VS Code, Windsurf, Zed, Codex, Continue, Gemini CLI; the user\'s and the current directory\'s project\'s), each MCP server entry in it, how it is reached, and whether it is wrapped in mcpguard and under which profile'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "wrap" -d 'Put mcpguard in front of the stdio servers of the agents\' configs'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "unwrap" -d 'Take mcpguard out of the agents\' configs again: each wrapped entry gets back exactly the bytes it had before `wrap` (from the record `wrap` kept); an entry edited since is rebuilt from its arguments after `--`, with a warning'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "completions" -d 'Print a shell completion script: `mcpguard completions bash > /etc/bash_completion.d/mcpguard` (zsh: a `_mcpguard` file on `$fpath`; fish: `~/.config/fish/completions/mcpguard.fish`)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "man" -d 'Print a manual page in roff: mcpguard(1), or with a subcommand its own page (`mcpguard man wrap` is mcpguard-wrap(1)): `mcpguard man run | man -l -`'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and not __fish_seen_subcommand_from run doctor logs audit profile pins cache approve approvals secret clients wrap unwrap completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Walk every server\'s hash chain; exit 1 naming the first record that does not match (changed, removed, inserted or reordered). Torn lines left by a crash are reported'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "report" -d 'Per server and tool: calls, denials, errors, p50/p95 latency, bytes and tokens; the inventory of servers, tools, profiles and clients; anomalies (new tools, bursts, off-hours use, denial streaks, pin changes)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "list" -d 'The built-in profiles, with what each is for'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "show" -d 'A profile\'s text; with --resolved, after `extends` and variables, as the session would use it'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "lint" -d 'Check profiles: syntax and unknown keys (with the line), `extends` cycles, unknown variables, globs and regexes that do not compile, paths that do not exist, rule examples that do not come out as declared, review dates in the past. Exits 1 on errors'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from pins" -f -a "list" -d 'Every pinned server: its command, profile, number of tools and pending changes'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from pins" -f -a "diff" -d 'The pending changes, tool by tool, with the pinned and the new definition'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from pins" -f -a "approve" -d 'Accept the pending changes (the new definitions become the pins)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "list" -d 'Each server\'s cache directory and the space it takes'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "prune" -d 'Empty caches: those of the server named with --server, or every server\'s. Everything in a cache can be fetched again; a running session keeps what it already opened'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from approvals" -f -a "list" -d 'Every approval answered "always": its number, server, tool and argument patterns'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from approvals" -f -a "revoke" -d 'Remove approvals: by their numbers in `mcpguard approvals list`, every one of a server (`--server`), or all (`--all`). The next such call asks again'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "set" -d 'Store a secret: its value from a terminal prompt (not echoed) or from stdin (one trailing newline dropped), never from the command line'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "list" -d 'Every stored secret: its store, when it was set, when it expires, when a session last used it, and whether it is due for rotation (never the values)'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "show" -d 'One secret\'s facts; `--reveal` prints its value instead'
complete -c mcpguard -n "__fish_mcpguard_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "rm" -d 'Remove a secret from its store'
