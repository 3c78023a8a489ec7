#!/usr/bin/env python3
"""What the official Python SDK client (mcp 2.3.0) sees when a server cannot start.

Usage (PYTHONPATH must contain the SDK, e.g. $PEERS/py from tests/setup.sh):

    python3 tests/peers/failed_start.py --mode legacy|auto -- <server command...>

It connects through `mcp.client.stdio` (with `--mode auto` the SDK probes the
2026-07-28 era's `server/discover` first and falls back to `initialize`) and
prints ONE JSON document on stdout:

    {"error": {"code": ..., "message": ..., "data": ...}}   the connect failed with a JSON-RPC error
    {"exception": {"type": ..., "message": ...}}            it failed otherwise ("Connection closed")
    {"connected": true}                                     it connected

Exit status: 0 when a document was printed, 1 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

try:
    import anyio
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.shared.exceptions import MCPError
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"failed_start.py: cannot import the MCP Python SDK ({exc}); set PYTHONPATH=$PEERS/py")

# Long enough for any start-up, short enough that a hang fails the test rather than CI.
CONNECT_TIMEOUT = 30


async def connect(command: list[str], mode: str) -> dict:
    exe = shutil.which(command[0]) or command[0]
    params = StdioServerParameters(command=exe, args=command[1:])
    try:
        with anyio.fail_after(CONNECT_TIMEOUT):
            async with Client(stdio_client(params), mode=mode):
                return {"connected": True}
    except BaseException as exc:  # noqa: BLE001 - the document says what happened
        if isinstance(exc, KeyboardInterrupt):
            raise
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # anyio wraps the real cause in task-group layers
        if isinstance(exc, MCPError):
            return {"error": exc.error.model_dump(mode="json", exclude_none=True)}
        return {"exception": {"type": type(exc).__name__, "message": str(exc)}}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["legacy", "auto"], default="legacy")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    document = anyio.run(connect, args.command, args.mode)
    print(json.dumps(document, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
