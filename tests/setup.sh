#!/usr/bin/env bash
# Install the pinned real MCP peers used by the integration tests into $PEERS
# (default: <repo>/target/peers). Idempotent: a marker file records the pins,
# and a rerun with unchanged pins (and the expected files present) does nothing.
#
#   $PEERS/node  npm prefix: server-everything, server-filesystem, server-memory, TS SDK
#   $PEERS/py    pip --target: the official Python SDK (mcp, mcp-types) + deps
#
# Requires node >= 20 with npm, and python3 >= 3.10 with pip. Network access to the
# npm registry and PyPI is needed only on the first run (or when the pins change).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${PEERS:-$REPO/target/peers}"
PYTHON="${PYTHON:-python3}"

NPM_PINS=(
  "@modelcontextprotocol/server-everything@2026.8.31"
  "@modelcontextprotocol/server-filesystem@2026.8.31"
  "@modelcontextprotocol/server-memory@2026.8.31"
  "@modelcontextprotocol/sdk@1.32.2"
)
PIP_PINS=(
  "mcp==2.3.0"
  "mcp-types==2.3.0"
)
# Transitive dependencies, pinned to what mcp 2.3.0 resolved to on 2026-11-21
# (Python 3.11), so that a later release cannot change what the tests observe.
# Passed as constraints: they pin versions without forcing anything extra in.
PIP_CONSTRAINTS=(
  "annotated-types==0.8.0"
  "anyio==4.16.0"
  "attrs==26.1.0"
  "cffi==2.1.1"
  "click==8.5.1"
  "cryptography==50.0.2"
  "h11==0.16.0"
  "httpcore2==2.16.2"
  "httpx2==2.16.2"
  "idna==3.20"
  "jsonschema==4.26.0"
  "jsonschema-specifications==2025.9.1"
  "opentelemetry-api==1.45.2"
  "pycparser==3.12"
  "pydantic==2.14.3"
  "pydantic-core==2.50.4"
  "pyjwt==2.15.1"
  "python-multipart==0.0.34"
  "referencing==0.37.0"
  "rpds-py==2026.9.1"
  "sse-starlette==3.7.0"
  "starlette==1.10.0"
  "truststore==0.10.5"
  "typing-extensions==4.16.0"
  "typing-inspection==0.4.5"
  "uvicorn==0.54.0"
)

# The unprivileged account the sandbox tests run as (tests/it/sandbox.rs). Created only
# when running as root; as another user the escape tests that need it fail and say so.
if [[ "$(id -u)" == 0 ]] && ! id mcpguard-test >/dev/null 2>&1; then
  useradd --system --create-home --home-dir /var/lib/mcpguard-test --shell /usr/sbin/nologin mcpguard-test
  echo "setup.sh: created user mcpguard-test"
fi

# Debian packages: Chromium renders the HTML audit report in tests/it/audit.rs; git is
# what mcp-server-git (GitPython) runs in tests/it/peers.rs; tmux is the real terminal the
# interactive `mcpguard approve` is driven in (tests/it/approvals.rs).
APT_WANT=()
[[ -x /usr/bin/chromium || -x /usr/bin/chromium-browser ]] || APT_WANT+=(chromium)
command -v git >/dev/null || APT_WANT+=(git)
command -v tmux >/dev/null || APT_WANT+=(tmux)
# The credential stores of tests/it/secrets.rs: the kernel keyring's tools, and a real
# Secret Service (gnome-keyring on a private session bus).
command -v keyctl >/dev/null || APT_WANT+=(keyutils)
command -v gnome-keyring-daemon >/dev/null || APT_WANT+=(gnome-keyring)
command -v dbus-run-session >/dev/null || APT_WANT+=(dbus-daemon)
command -v secret-tool >/dev/null || APT_WANT+=(libsecret-tools)
if [[ ${#APT_WANT[@]} -gt 0 ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "setup.sh: missing ${APT_WANT[*]}; install them (apt-get install ${APT_WANT[*]}) or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_WANT[@]}" >/dev/null
  echo "setup.sh: installed ${APT_WANT[*]}"
fi

# Python servers with dependency sets of their own, each in its own directory (the SQLite
# server breaks with mcp 2.x, so it gets mcp 1.30.0). Idempotent through a marker each.
install_py_server() {
  local dir="$PEERS/$1"; shift
  local want="$*"
  if [[ -f "$dir/.installed" ]] && [[ "$(cat "$dir/.installed")" == "$want" ]]; then
    return
  fi
  "$PYTHON" -m pip --version >/dev/null || { echo "setup.sh: $PYTHON -m pip not available" >&2; exit 1; }
  echo "setup.sh: pip install $want into $dir" >&2
  rm -rf "$dir"
  PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-input \
    --no-warn-conflicts --target "$dir" "$@" >&2
  printf '%s\n' "$want" > "$dir/.installed"
}
mkdir -p "$PEERS"
install_py_server py-git "mcp-server-git==2026.10.19"
install_py_server py-sqlite "mcp==1.30.0" "mcp-server-sqlite==2025.4.25"
# uv, whose uvx starts a server from PyPI inside the sandbox (tests/it/network.rs).
install_py_server uv "uv==0.13.9"

MARKER="$PEERS/.installed"
WANT="$(printf '%s\n' "marker-format=1" "python=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "${NPM_PINS[@]}" "${PIP_PINS[@]}" "${PIP_CONSTRAINTS[@]}")"

bins_present() {
  [[ -e "$PEERS/node/node_modules/.bin/mcp-server-everything" ]] &&
  [[ -e "$PEERS/node/node_modules/.bin/mcp-server-filesystem" ]] &&
  [[ -e "$PEERS/node/node_modules/.bin/mcp-server-memory" ]] &&
  [[ -d "$PEERS/node/node_modules/@modelcontextprotocol/sdk" ]] &&
  [[ -d "$PEERS/py/mcp" ]]
}

if [[ -f "$MARKER" ]] && [[ "$(cat "$MARKER")" == "$WANT" ]] && bins_present; then
  echo "setup.sh: peers already installed in $PEERS"
  exit 0
fi

command -v node >/dev/null || { echo "setup.sh: node not found" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup.sh: npm not found" >&2; exit 1; }
"$PYTHON" -m pip --version >/dev/null || { echo "setup.sh: $PYTHON -m pip not available" >&2; exit 1; }

rm -f "$MARKER"
mkdir -p "$PEERS/node" "$PEERS/py"

echo "setup.sh: npm install into $PEERS/node" >&2
npm install --prefix "$PEERS/node" --no-audit --no-fund --loglevel=error "${NPM_PINS[@]}" >&2

echo "setup.sh: pip install into $PEERS/py" >&2
# A fresh target dir so that pip --target never leaves stale versions behind.
# (--target also bypasses the PEP 668 "externally managed" refusal of Debian's pip.)
rm -rf "$PEERS/py"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
printf '%s\n' "${PIP_CONSTRAINTS[@]}" > "$CONSTRAINTS"
PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-input \
  --no-warn-conflicts --target "$PEERS/py" -c "$CONSTRAINTS" "${PIP_PINS[@]}" >&2

# Sanity check: what landed in $PEERS/py is what was pinned.
"$PYTHON" - "$PEERS/py" "${PIP_PINS[@]}" -- "${PIP_CONSTRAINTS[@]}" <<'PY'
import re
import sys
from importlib.metadata import distributions

target, rest = sys.argv[1], sys.argv[2:]
sep = rest.index("--")
pins, constraints = rest[:sep], rest[sep + 1 :]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
have = {norm(d.metadata["Name"]): d.version for d in distributions(path=[target])}
bad = []
for pin in pins + constraints:
    name, want = pin.split("==")
    got = have.get(norm(name))
    if (got is None and pin in pins) or (got is not None and got != want):
        bad.append(f"{name}: wanted {want}, got {got}")
if bad:
    sys.exit("setup.sh: pip installed unexpected versions: " + "; ".join(bad))
PY
bins_present || { echo "setup.sh: expected peer binaries missing after install" >&2; exit 1; }

printf '%s\n' "$WANT" > "$MARKER"
echo "setup.sh: peers installed in $PEERS"
