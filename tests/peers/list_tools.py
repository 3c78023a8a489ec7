#!/usr/bin/env python3
"""Lists a server's tools with the official Python SDK client (mcp 2.3.0), as a client
without any optional capability (`bare`) or with sampling, elicitation and roots (`full`).
Prints the sorted tool names as one JSON list.

Usage (PYTHONPATH must contain the SDK, e.g. $PEERS/py from tests/setup.sh):

    python3 tests/peers/list_tools.py bare|full -- <server command...>
"""

import json
import os
import shutil
import sys
import warnings
from typing import Any

import anyio
import mcp_types as types
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

warnings.simplefilter("ignore")


async def main(kind: str, command: list[str]) -> None:
    params = StdioServerParameters(
        command=shutil.which(command[0]) or command[0],
        args=command[1:],
        env=dict(os.environ),
        cwd=os.getcwd(),
    )
    callbacks: dict[str, Any] = {}
    if kind == "full":

        async def roots(_ctx: Any) -> types.ListRootsResult:
            return types.ListRootsResult(roots=[])

        async def sample(_ctx: Any, _p: Any) -> types.CreateMessageResult:
            return types.CreateMessageResult(
                role="assistant", content=types.TextContent(type="text", text="no"), model="m"
            )

        async def elicit(_ctx: Any, _p: Any) -> types.ElicitResult:
            return types.ElicitResult(action="decline")

        callbacks = dict(list_roots_callback=roots, sampling_callback=sample, elicitation_callback=elicit)
    async with Client(stdio_client(params), mode="legacy", **callbacks) as client:
        names: list[str] = []
        cursor = None
        while True:
            page = await client.list_tools(cursor=cursor)
            names.extend(t.name for t in page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
    print(json.dumps(sorted(names)))


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("bare", "full") or sys.argv[2] != "--":
        sys.exit(__doc__)
    anyio.run(main, sys.argv[1], sys.argv[3:])
