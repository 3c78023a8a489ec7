#!/usr/bin/env python3
"""Calls one tool COUNT times, PAUSE seconds apart, in one session of the official Python
SDK client (legacy era), and prints what the client saw as one JSON array of
{"isError": ..., "text": ...}. A session that breaks midway raises, and the exit code says so.

Usage (PYTHONPATH must contain the SDK, e.g. $PEERS/py from tests/setup.sh):

    python3 tests/peers/repeat_calls.py TOOL ARGUMENTS_JSON COUNT PAUSE -- <server command...>
"""

import json
import os
import shutil
import sys
import warnings

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

warnings.simplefilter("ignore")


async def main(tool: str, arguments: str, count: int, pause: float, command: list[str]) -> None:
    params = StdioServerParameters(
        command=shutil.which(command[0]) or command[0],
        args=command[1:],
        env=dict(os.environ),
        cwd=os.getcwd(),
    )
    seen = []
    async with Client(stdio_client(params), mode="legacy") as client:
        await client.list_tools()
        for _ in range(count):
            with anyio.fail_after(20):
                result = await client.call_tool(tool, json.loads(arguments))
            text = "".join(getattr(c, "text", "") for c in result.content)
            seen.append({"isError": bool(result.is_error), "text": text})
            await anyio.sleep(pause)
        # The session still answers after the last restart.
        await client.list_tools()
    print(json.dumps(seen))


if __name__ == "__main__":
    if len(sys.argv) < 7 or sys.argv[5] != "--":
        sys.exit(__doc__)
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[6:])
