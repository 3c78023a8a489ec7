#!/usr/bin/env python3
"""Calls one tool with the official Python SDK client (mcp 2.3.0) after listing the tools,
and prints what the client sees as one JSON object: {"isError": ..., "text": ...}.

Usage (PYTHONPATH must contain the SDK, e.g. $PEERS/py from tests/setup.sh):

    python3 tests/peers/call_tool.py TOOL ARGUMENTS_JSON -- <server command...>
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


async def main(tool: str, arguments: str, command: list[str]) -> None:
    params = StdioServerParameters(
        command=shutil.which(command[0]) or command[0],
        args=command[1:],
        env=dict(os.environ),
        cwd=os.getcwd(),
    )
    async with Client(stdio_client(params), mode="legacy") as client:
        await client.list_tools()
        result = await client.call_tool(tool, json.loads(arguments))
    text = "".join(getattr(c, "text", "") for c in result.content)
    print(json.dumps({"isError": bool(result.is_error), "text": text}))


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[4:])
