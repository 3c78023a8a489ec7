"""Project-owned MCP test server built on the official Python SDK (mcp 2.3.0).

It is dual-era (the SDK's stdio loop serves whichever era the client opens
with), so it is the only fully offline peer that speaks the modern
2026-07-28 protocol: server/discover, per-request `_meta` envelopes, and
multi-round-trip requests (MRTR: a `tools/call` answered with
`resultType: "input_required"`, retried by the client with `inputResponses`).

Run:  PYTHONPATH=$PEERS/py python3 tests/peers/modern_server.py
Tools:
  echo(message)               -> "Echo: <message>"
  add(a, b)                   -> structured {"result": a + b}
  count_to(n)                 -> reports n progress notifications, then "counted to n"
  delete_item(path)           -> asks the client for confirmation (Elicit via Resolve,
                                 so an input_required result in the modern era, an
                                 elicitation/create request in the legacy era), then
                                 reports what the user decided
  fail(reason)                -> raises, i.e. an isError result
Everything is deterministic; nothing touches the file system or the network.
"""

from __future__ import annotations

import sys
from typing import Annotated

from pydantic import BaseModel, Field

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer(
    "mcpguard-modern-fixture",
    version="1.0.0",
    instructions="Deterministic fixture server for mcpguard tests.",
    # Keep the SDK's own log lines off stderr unless something is wrong.
    log_level="WARNING",
)


class Confirmation(BaseModel):
    confirm: bool = Field(description="Really delete the item?")
    reason: str = Field(default="", description="Why (optional)")


def ask_confirmation(path: str) -> Elicit[Confirmation]:
    return Elicit(f"Delete {path}? This cannot be undone.", Confirmation)


@server.tool(annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False))
def echo(message: str) -> str:
    """Echo the message back."""
    return f"Echo: {message}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False))
def add(a: int, b: int) -> dict[str, int]:
    """Add two integers (structured output)."""
    return {"result": a + b}


@server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
async def count_to(n: int, ctx: Context) -> str:
    """Report n progress steps, then return."""
    for i in range(1, n + 1):
        await ctx.report_progress(i, n, f"step {i}")
    return f"counted to {n}"


@server.tool(annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False))
def delete_item(
    path: str,
    decision: Annotated[ElicitationResult[Confirmation], Resolve(ask_confirmation)],
) -> str:
    """Pretend to delete an item, after asking the user to confirm."""
    if decision.action != "accept":
        return f"not deleted: user chose {decision.action}"
    if not decision.data.confirm:
        return f"not deleted: user said no ({decision.data.reason})"
    return f"deleted {path} ({decision.data.reason})"


@server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    raise ToolError(f"failed on purpose: {reason}")


if __name__ == "__main__":
    try:
        server.run("stdio")
    except KeyboardInterrupt:
        sys.exit(0)
