#!/usr/bin/env python3
"""Runs a sequence of tool calls with the official Python SDK client (mcp 2.3.0), answering
every elicitation request that arrives during a call as told, and prints what the client
saw as one JSON document.

Usage (PYTHONPATH must contain the SDK, e.g. $PEERS/py from tests/setup.sh):

    python3 tests/peers/approve_calls.py [--mode legacy|auto] [--no-elicitation] [--timeout S] \\
        --call TOOL ARGS_JSON ANSWER [--call TOOL ARGS_JSON ANSWER ...] -- <server command...>

--mode legacy   initialize handshake; elicitations arrive as `elicitation/create` requests.
--mode auto     probes server/discover (2026-07-28 with a modern server); elicitations arrive
                inside `input_required` results, which the SDK answers through the same
                callback and retries (a new request id, `requestState` echoed).
--no-elicitation  pass no elicitation callback, so the client declares no elicitation
                capability. Elicitations that still reach the client are recorded, and the
                SDK refuses them itself (ErrorData -32600 "Elicitation not supported").
--timeout S     per-call limit (default 30 s).

ANSWER says how the elicitation callback answers every request during that call:
  allow_once, allow_session, deny   accept; an mcpguard prompt (a `decision` property) gets
                                    {"decision": ANSWER}; a server's own confirmation (a
                                    `confirm` property, as in modern_server.py's delete_item)
                                    gets {"confirm": true|false (false for deny), "reason": "test"}
  decline, cancel                   action decline / cancel
  none                              no elicitation is expected: one that arrives is an error
                                    (the callback refuses it with ErrorData)

Output on stdout:
  {"mode": ..., "era": "legacy"|"modern", "protocolVersion": ...,
   "calls": [{"tool": ..., "isError": bool, "text": "<joined text content>",
              "elicitations": [{"message": ..., "requestedSchema": ...}, ...],
              "error": "..."  (only when the call raised or an elicitation was unexpected)}, ...],
   "error": "..."  (only when the connection failed)}
Elicitations are recorded as received (`url` instead of `requestedSchema` for URL mode).

Exit status: 0 when every call completed (isError included), 2 when some call has an
"error", 1 on usage errors or when the connection failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import warnings
from typing import Any

try:
    import anyio
    import mcp_types as types
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.shared.exceptions import MCPError
except ImportError as exc:  # pragma: no cover - usage error
    sys.exit(f"approve_calls.py: cannot import the MCP Python SDK ({exc}); set PYTHONPATH=$PEERS/py")

warnings.simplefilter("ignore")

ANSWERS = ("allow_once", "allow_session", "deny", "decline", "cancel", "none")


def describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]  # anyio wraps the real cause in task-group layers
    if isinstance(exc, MCPError):
        return f"MCPError {exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


class Calls:
    """The per-call records, and the answer for whichever call is running."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.answer = "none"

    @property
    def current(self) -> dict[str, Any]:
        if not self.records:  # an elicitation outside any call (e.g. during tools/list)
            self.records.append({"tool": None, "elicitations": []})
        return self.records[-1]

    def error(self, text: str) -> None:
        rec = self.current
        rec["error"] = f"{rec['error']}; {text}" if "error" in rec else text

    def record(self, params: Any) -> None:
        seen: dict[str, Any] = {"message": params.message}
        if isinstance(params, types.ElicitRequestFormParams):
            seen["requestedSchema"] = params.requested_schema
        else:
            seen["url"] = params.url
        self.current["elicitations"].append(seen)

    def unexpected(self) -> types.ErrorData:
        self.error("unexpected elicitation (answer was none)")
        return types.ErrorData(code=types.INVALID_REQUEST, message="approve_calls.py: no elicitation expected")

    async def on_elicit(self, _ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult | types.ErrorData:
        self.record(params)
        answer = self.answer
        if answer == "none":
            return self.unexpected()
        if answer in ("decline", "cancel"):
            return types.ElicitResult(action=answer)
        props = params.requested_schema.get("properties", {}) if isinstance(params, types.ElicitRequestFormParams) else {}
        if "decision" in props:
            return types.ElicitResult(action="accept", content={"decision": answer})
        if "confirm" in props:
            return types.ElicitResult(action="accept", content={"confirm": answer != "deny", "reason": "test"})
        self.error(f"cannot answer {answer} to an elicitation without a decision or confirm property")
        return types.ElicitResult(action="decline")

    def watch_refusals(self, client: Client) -> None:
        """--no-elicitation: record what reaches the client anyway. Both eras route server
        input requests through session.dispatch_input_request (legacy: _on_request; modern:
        Client._drive_input_required), which then calls the SDK's default refusal."""
        session = client.session
        original = session.dispatch_input_request

        async def dispatch(ctx: Any, request: Any) -> Any:
            if isinstance(request, types.ElicitRequest):
                self.record(request.params)
                if self.answer == "none":
                    self.error("unexpected elicitation (answer was none)")
            return await original(ctx, request)

        session.dispatch_input_request = dispatch  # type: ignore[method-assign]


async def list_all_tools(client: Client) -> None:
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor)
        cursor = page.next_cursor
        if not cursor:
            return


async def run(args: argparse.Namespace) -> int:
    command = args.command
    params = StdioServerParameters(
        command=shutil.which(command[0]) or command[0],
        args=command[1:],
        env=dict(os.environ),
        cwd=os.getcwd(),
    )
    calls = Calls()
    doc: dict[str, Any] = {"mode": args.mode, "era": None, "protocolVersion": None, "calls": calls.records}
    status = 0
    try:
        async with Client(
            stdio_client(params),
            mode=args.mode,
            client_info=types.Implementation(name="mcpguard-approve-calls", version="1.0.0"),
            elicitation_callback=None if args.no_elicitation else calls.on_elicit,
            cache=None,
            read_timeout_seconds=args.timeout,
        ) as client:
            doc["era"] = "modern" if client.session.discover_result is not None else "legacy"
            doc["protocolVersion"] = client.protocol_version
            if args.no_elicitation:
                calls.watch_refusals(client)
            await list_all_tools(client)
            for tool, arguments, answer in args.call:
                calls.answer = answer
                rec: dict[str, Any] = {"tool": tool, "elicitations": []}
                calls.records.append(rec)
                try:
                    with anyio.fail_after(args.timeout):
                        result = await client.call_tool(tool, arguments)
                except Exception as exc:  # noqa: BLE001 - recorded, and the next call still runs
                    calls.error(describe(exc))
                else:
                    rec["isError"] = bool(result.is_error)
                    rec["text"] = "".join(getattr(c, "text", "") for c in result.content)
                calls.answer = "none"
    except BaseException as exc:  # noqa: BLE001 - connection failure: still print what we have
        if isinstance(exc, KeyboardInterrupt):
            raise
        doc["error"] = describe(exc)
        status = 1
    if status == 0 and any("error" in rec for rec in calls.records):
        status = 2
    order = ("tool", "isError", "text", "elicitations", "error")
    doc["calls"] = [{k: rec[k] for k in order if k in rec} for rec in calls.records]
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return status


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit 1, not argparse's 2 (2 means a call failed)
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def main() -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="legacy", choices=["legacy", "auto"])
    parser.add_argument("--no-elicitation", action="store_true")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--call", nargs=3, action="append", default=[], metavar=("TOOL", "ARGS_JSON", "ANSWER"))
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- <server command...>")
    args = parser.parse_args()
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("missing server command after --")
    if not args.call:
        parser.error("at least one --call TOOL ARGS_JSON ANSWER is needed")
    parsed = []
    for tool, arguments, answer in args.call:
        if answer not in ANSWERS:
            parser.error(f"--call {tool}: ANSWER must be one of {', '.join(ANSWERS)}, not {answer!r}")
        try:
            value = json.loads(arguments)
        except json.JSONDecodeError as exc:
            parser.error(f"--call {tool}: ARGS_JSON is not JSON ({exc})")
        if not isinstance(value, dict):
            parser.error(f"--call {tool}: ARGS_JSON must be a JSON object")
        parsed.append((tool, value, answer))
    args.call = parsed
    return anyio.run(run, args)


if __name__ == "__main__":
    sys.exit(main())
