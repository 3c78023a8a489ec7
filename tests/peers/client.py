#!/usr/bin/env python3
"""Scripted MCP client built on the official Python SDK (mcp 2.3.0).

Usage (PYTHONPATH must contain the SDK, e.g. $PEERS/py from tests/setup.sh):

    python3 tests/peers/client.py --scenario everything|filesystem|modern \
        --mode legacy|auto -- <server command...>

It launches the server command through the SDK's stdio client, runs the
scenario, and prints ONE canonical JSON document (sorted keys) on stdout with
every observable result. The document is meant to be compared whole between a
direct run (`-- <server cmd>`) and a proxied run
(`-- target/debug/mcpguard run -- <server cmd>`): a transparent proxy must
produce the identical document.

In the server command, the argument text `@DIR@` is replaced by the scratch
directory of the filesystem scenario (so: `-- mcp-server-filesystem @DIR@`).

Exit status: 0 when every step behaved as the scenario expects (the document is
printed either way), 2 when some step raised unexpectedly (listed under
"unexpected"), 1 on usage errors or when the connection itself failed.

The document has two views of the same session:
  * per-step results as the SDK's typed layer sees them (one key per step:
    {"result": ...}, {"error": {code, message, data}} or {"exception": ...}),
    plus what the server asked of the client (roots/elicitation/sampling
    requests, log messages, notification counts) under "server_traffic";
  * "wire": every message the server sent, as a JSON value straight off the
    transport (see WireTap), and the methods the client sent, in order.

Normalisation (only genuinely nondeterministic things):
  * the filesystem scenario's scratch directory (random mkdtemp name, and its
    realpath) is replaced by "@DIR@" everywhere in the document;
  * MRTR `requestState` blobs (encrypted with a random per-process key by the
    modern server) become "<opaque>" (their presence is still recorded);
  * progress notifications are delivered by the SDK on spawned tasks, so each
    call's list of progress events is sorted by the progress value;
  * the wire record is sorted (interleaving of notifications and responses is
    timing-dependent), the client's own request ids become "c<nnn>:<method>"
    labels, and the filesystem scenario's polling calls (their number depends
    on timing) are left out of it;
  * nothing else: no timestamps or random ids are read from the servers used
    here (server-everything's dynamic resources carry a time of day, so the
    scenario reads a static document resource instead).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import traceback
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

try:
    import anyio
    import mcp_types as types
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.shared.exceptions import MCPError
    from pydantic import BaseModel
except ImportError as exc:  # pragma: no cover - usage error
    sys.exit(f"client.py: cannot import the MCP Python SDK ({exc}); set PYTHONPATH=$PEERS/py (see tests/setup.sh)")

# The SDK marks legacy-only calls (ping, logging/setLevel, ...) as deprecated;
# this client exercises them on purpose.
warnings.simplefilter("ignore")

STEP_TIMEOUT = 30.0  # seconds, per step
WAIT_TIMEOUT = 10.0  # seconds, for server-initiated traffic we wait for

# Environment variables handed to the server process explicitly. The SDK's
# stdio client otherwise passes only HOME, LOGNAME, PATH, SHELL, TERM, USER.
PASS_ENV = (
    "PATH",
    "HOME",
    "PYTHONPATH",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "NODE_PATH",
    "PEERS",
    "RUST_LOG",
    "RUST_BACKTRACE",
)
PASS_ENV_PREFIXES = ("MCPGUARD_",)

DIR_PLACEHOLDER = "@DIR@"


def dump(value: Any) -> Any:
    """JSON-ready form of SDK models (wire names, unset/None fields dropped)."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value


def replace_strings(value: Any, replacements: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {replace_strings(k, replacements): replace_strings(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_strings(v, replacements) for v in value]
    return value


class DroppedTraffic(logging.Handler):
    """Counts what the SDK silently drops: responses for unknown/late request ids
    (e.g. a proxy answering a cancelled request) and unparseable stdout lines."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.late_responses: list[str] = []
        self.unparseable_lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("dropping response for unknown/late request id"):
            self.late_responses.append(msg.split("request id", 1)[1].strip())
        elif msg.startswith("Failed to parse JSONRPC message"):
            self.unparseable_lines += 1


class WireTap:
    """Tees every JSON-RPC message between the SDK session and the stdio
    transport, so the document also holds the server's messages as they came
    off the wire (as JSON values, parsed by the SDK's envelope model only:
    params/result payloads are the raw dicts), not just what the SDK's typed
    layer makes of them. That catches a proxy adding, dropping or altering
    fields that the typed layer would fill in, ignore or coerce.

    Normalisation of the wire record: the server's messages are sorted (their
    interleaving depends on timing), and ids of the client's own requests
    (SDK counter values) are replaced by "c<n>:<method>", n counting only
    recorded requests, so that unrecorded polling calls (`muted`) do not shift
    later ids. Progress tokens (= request ids in this SDK) are mapped the same
    way. Server-chosen ids (e.g. roots/list id 0) are kept as they are. A
    result's non-empty `requestState` (an encrypted, randomly keyed MRTR blob)
    becomes "<opaque>".
    """

    def __init__(self) -> None:
        self.muted = False
        self.labels: dict[Any, str] = {}
        self.muted_ids: set[Any] = set()
        self.sent_methods: list[str] = []
        self.received: list[dict[str, Any]] = []

    def on_send(self, msg: dict[str, Any]) -> None:
        if "method" in msg and "id" in msg:
            if self.muted:
                self.muted_ids.add(msg["id"])
            else:
                self.sent_methods.append(msg["method"])
                self.labels[msg["id"]] = f"c{len(self.sent_methods):03d}:{msg['method']}"
        elif "method" in msg and not self.muted:
            self.sent_methods.append(msg["method"])

    def on_receive(self, msg: dict[str, Any]) -> None:
        if "method" not in msg:  # a response
            rid = msg.get("id")
            if rid in self.muted_ids:
                return
            msg = dict(msg, id=self.labels.get(rid, rid))
            result = msg.get("result")
            if isinstance(result, dict) and isinstance(result.get("requestState"), str) and result["requestState"]:
                msg["result"] = dict(result, requestState="<opaque>")
        elif msg.get("method") == "notifications/progress":
            params = dict(msg.get("params") or {})
            token = params.get("progressToken")
            if token in self.muted_ids:
                return
            params["progressToken"] = self.labels.get(token, token)
            msg = dict(msg, params=params)
        self.received.append(msg)

    def record(self) -> dict[str, Any]:
        return {
            "client_sent_methods": self.sent_methods,
            "server_messages": sorted(self.received, key=lambda m: json.dumps(m, sort_keys=True)),
        }

    @asynccontextmanager
    async def stdio(self, params: StdioServerParameters) -> AsyncIterator[Any]:
        async with stdio_client(params) as (read, write):
            to_session_send, to_session = anyio.create_memory_object_stream[Any](0)
            from_session, from_session_recv = anyio.create_memory_object_stream[Any](0)

            def as_dict(item: Any) -> dict[str, Any]:
                return item.message.model_dump(by_alias=True, mode="json", exclude_unset=True)

            async def pump_in() -> None:
                async with to_session_send:
                    async for item in read:
                        if not isinstance(item, Exception):
                            self.on_receive(as_dict(item))
                        await to_session_send.send(item)

            async def pump_out() -> None:
                async with from_session_recv:
                    async for item in from_session_recv:
                        self.on_send(as_dict(item))
                        await write.send(item)
                await write.aclose()

            async with anyio.create_task_group() as tg:
                tg.start_soon(pump_in)
                tg.start_soon(pump_out)
                try:
                    yield to_session, from_session
                finally:
                    tg.cancel_scope.cancel()


class Recorder:
    """Collects the observable results of a scenario into one document."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {}
        self.unexpected: list[str] = []
        # Server-initiated traffic, filled by the client callbacks.
        self.notifications: list[dict[str, Any]] = []
        self.log_messages: list[dict[str, Any]] = []
        self.progress_by_token: dict[str, list[dict[str, Any]]] = {}
        self.roots_requests = 0
        self.elicitations: list[dict[str, Any]] = []
        self.samplings: list[dict[str, Any]] = []
        self.changed = anyio.Event()
        self.wire = WireTap()

    def poke(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> bool:
        """Wait until predicate() holds (re-checked on every server message)."""
        with anyio.move_on_after(timeout):
            while not predicate():
                await self.changed.wait()
            return True
        return predicate()

    async def step(
        self,
        name: str,
        fn: Callable[[], Awaitable[Any]],
        *,
        expect_error: bool = False,
        timeout: float = STEP_TIMEOUT,
    ) -> Any:
        """Run one step; record {"result": ...} or {"error": ...} under `name`."""
        try:
            with anyio.fail_after(timeout):
                value = await fn()
        except MCPError as exc:
            self.doc[name] = {"error": {"code": exc.code, "message": exc.error.message, "data": dump(exc.error.data)}}
            if not expect_error:
                self.unexpected.append(name)
            return None
        except Exception as exc:  # noqa: BLE001 - everything is an observable here
            self.doc[name] = {"exception": {"type": type(exc).__name__, "message": str(exc)}}
            self.unexpected.append(name)
            print(f"client.py: step {name} raised:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return None
        self.doc[name] = {"result": dump(value)}
        return value

    # --- SDK callbacks -------------------------------------------------

    async def on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.notifications.append({"transport_exception": type(message).__name__})
        else:
            raw = dump(message)
            if raw.get("method") == "notifications/progress":
                params = raw.get("params", {})
                token = str(params.get("progressToken"))
                event = {k: params[k] for k in ("progress", "total", "message") if k in params}
                self.progress_by_token.setdefault(token, []).append(event)
            else:
                self.notifications.append(raw)
        self.poke()

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.log_messages.append(dump(params))
        self.poke()

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for n in self.notifications:
            key = n.get("method") or next(iter(n))
            counts[key] = counts.get(key, 0) + 1
        return {
            "notification_counts": counts,
            "log_messages": self.log_messages,
            "roots_requests": self.roots_requests,
            "elicitation_requests": self.elicitations,
            "sampling_requests": self.samplings,
        }


def progress_collector() -> tuple[list[dict[str, Any]], Callable[..., Awaitable[None]], anyio.Event]:
    events: list[dict[str, Any]] = []
    first = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        event: dict[str, Any] = {"progress": progress}
        if total is not None:
            event["total"] = total
        if message is not None:
            event["message"] = message
        events.append(event)
        first.set()

    return events, on_progress, first


def sorted_progress(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: e["progress"])


async def list_all_tools(client: Client) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.extend(dump(t) for t in page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return sorted(tools, key=lambda t: t["name"])


def connection_facts(client: Client) -> dict[str, Any]:
    session = client.session
    facts: dict[str, Any] = {
        "protocol_version": client.protocol_version,
        "server_info": dump(client.server_info),
        "capabilities": dump(client.server_capabilities),
        "instructions": client.instructions,
        "era": "modern" if session.discover_result is not None else "legacy",
    }
    if session.discover_result is not None:
        facts["discover_result"] = dump(session.discover_result)
    return facts


def make_client(
    params: StdioServerParameters, mode: str, rec: Recorder, *, roots: list[types.Root] | None, **callbacks: Any
) -> Client:
    async def list_roots(_ctx: Any) -> types.ListRootsResult:
        rec.roots_requests += 1
        rec.poke()
        return types.ListRootsResult(roots=roots or [])

    return Client(
        rec.wire.stdio(params),
        mode=mode,
        client_info=types.Implementation(name="mcpguard-peer-client", version="1.0.0"),
        message_handler=rec.on_message,
        logging_callback=rec.on_log,
        list_roots_callback=list_roots if roots is not None else None,
        cache=None,  # every call must reach the wire
        read_timeout_seconds=STEP_TIMEOUT,
        **callbacks,
    )


# --------------------------------------------------------------------------
# Scenario: server-everything
# --------------------------------------------------------------------------

EVERYTHING_ROOTS = [types.Root(uri="file:///mcpguard-test/project", name="Project")]
ELICIT_ANSWER = {
    "name": "Octo Cat",
    "check": True,
    "email": "octo@example.com",
    "integer": 7,
    "number": 2.5,
    "untitledSingleSelectEnum": "Joey",
}
SAMPLING_ANSWER = "mcpguard canned sampling answer"


async def scenario_everything(params: StdioServerParameters, mode: str, rec: Recorder) -> None:
    async def on_elicit(_ctx: Any, p: types.ElicitRequestParams) -> types.ElicitResult:
        rec.elicitations.append(dump(p))
        rec.poke()
        return types.ElicitResult(action="accept", content=ELICIT_ANSWER)

    async def on_sample(_ctx: Any, p: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        rec.samplings.append(dump(p))
        rec.poke()
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLING_ANSWER),
            model="mcpguard-canned-model",
            stop_reason="endTurn",
        )

    client = make_client(
        params, mode, rec, roots=EVERYTHING_ROOTS, elicitation_callback=on_elicit, sampling_callback=on_sample
    )
    async with client:
        rec.doc["connection"] = connection_facts(client)

        # The server asks for roots 350 ms after `initialized`, then logs "Roots updated".
        rec.doc["initial_roots_sync"] = await rec.wait_for(
            lambda: any("Roots updated" in str(m.get("data")) for m in rec.log_messages)
        )
        await rec.step("set_logging_level", lambda: client.set_logging_level("debug"))
        await rec.step("tools", lambda: list_all_tools(client))
        await rec.step("prompts", lambda: client.list_prompts())
        resources = await rec.step("resources", lambda: client.list_resources())
        await rec.step("resource_templates", lambda: client.list_resource_templates())
        if resources is not None:
            static = sorted(r.uri for r in resources.resources if str(r.uri).endswith("instructions.md"))
            if static:
                await rec.step("read_resource", lambda: client.read_resource(static[0]))
        await rec.step("get_prompt", lambda: client.get_prompt("simple-prompt"))
        await rec.step(
            "complete",
            lambda: client.complete(
                types.PromptReference(type="ref/prompt", name="completable-prompt"),
                {"name": "department", "value": "S"},
            ),
        )
        await rec.step("ping", lambda: client.send_ping())
        await rec.step("echo", lambda: client.call_tool("echo", {"message": "hello mcpguard"}))
        await rec.step("get_sum", lambda: client.call_tool("get-sum", {"a": 2, "b": 40}))
        await rec.step("tiny_image", lambda: client.call_tool("get-tiny-image", {}))
        await rec.step("annotated_message", lambda: client.call_tool("get-annotated-message", {"messageType": "error"}))
        await rec.step("unknown_tool", lambda: client.call_tool("no-such-tool", {}), expect_error=True)
        await rec.step("bad_arguments", lambda: client.call_tool("get-sum", {"a": "x"}), expect_error=True)

        events, on_progress, _ = progress_collector()
        await rec.step(
            "progress_call",
            lambda: client.call_tool(
                "trigger-long-running-operation", {"duration": 0.8, "steps": 4}, progress_callback=on_progress
            ),
        )
        rec.doc["progress_events"] = sorted_progress(events)

        await rec.step("elicitation", lambda: client.call_tool("trigger-elicitation-request", {}))
        await rec.step(
            "sampling",
            lambda: client.call_tool("trigger-sampling-request", {"prompt": "What is mcpguard?", "maxTokens": 64}),
        )
        await rec.step("roots", lambda: client.call_tool("get-roots-list", {}))

        await cancelled_call(client, rec)

        await rec.step("ping_after_cancel", lambda: client.send_ping())
        await rec.step("echo_after_cancel", lambda: client.call_tool("echo", {"message": "still alive"}))


async def cancelled_call(client: Client, rec: Recorder) -> None:
    """Start a 6-step operation, cancel it after its first progress notification,
    then wait for the server's remaining progress (the TS server keeps running
    the handler and sending progress; it only suppresses the response)."""
    steps = 6
    events, on_progress, first = progress_collector()
    outcome: dict[str, Any] = {}

    async def call() -> None:
        try:
            result = await client.call_tool(
                "trigger-long-running-operation",
                {"duration": 3, "steps": steps},
                progress_callback=on_progress,
            )
            outcome["result"] = dump(result)  # must not happen: we cancel it
        except MCPError as exc:
            outcome["error"] = {"code": exc.code, "message": exc.error.message}

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        with anyio.move_on_after(STEP_TIMEOUT):
            await first.wait()
        # Only the first one: under load a second may slip in before the cancel lands.
        outcome["first_progress_before_cancel"] = sorted_progress(events)[:1]
        tg.cancel_scope.cancel()
    outcome["cancelled"] = "result" not in outcome and "error" not in outcome

    # Progress for the abandoned token still flows to message_handler.
    def late_done() -> bool:
        return any(e.get("progress") == steps and e.get("total") == steps for ev in rec.progress_by_token.values() for e in ev)

    outcome["late_progress_complete"] = await rec.wait_for(late_done)
    await anyio.sleep(0.2)  # let a (wrongly) late response arrive, if any
    late = [
        sorted_progress(ev)
        for ev in rec.progress_by_token.values()
        if any(e.get("total") == steps for e in ev)
    ]
    outcome["all_progress_for_cancelled_call"] = late
    rec.doc["cancelled_call"] = outcome


# --------------------------------------------------------------------------
# Scenario: server-filesystem
# --------------------------------------------------------------------------


async def scenario_filesystem(params: StdioServerParameters, mode: str, rec: Recorder, scratch: Path) -> None:
    allowed = scratch / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "hello.txt").write_text("hello from mcpguard\nsecond line\n")
    (allowed / "sub" / "nested.md").write_text("# nested\n")
    (scratch / "outside.txt").write_text("must not be readable\n")

    roots = [types.Root(uri=allowed.resolve().as_uri(), name="allowed")]
    client = make_client(params, mode, rec, roots=roots)
    async with client:
        rec.doc["connection"] = connection_facts(client)
        rec.doc["roots_requested"] = await rec.wait_for(lambda: rec.roots_requests > 0)

        # The server replaces its allowed directories with the roots asynchronously
        # and says nothing on the wire when done: poll (muted in the wire record,
        # since the number of polls is timing-dependent) until they show up.
        def shows_roots(result: types.CallToolResult) -> bool:
            text = "".join(getattr(c, "text", "") for c in result.content)
            return any(line.rstrip().endswith("/allowed") for line in text.splitlines())

        async def poll_allowed() -> bool:
            rec.wire.muted = True
            try:
                with anyio.move_on_after(WAIT_TIMEOUT):
                    while not shows_roots(await client.call_tool("list_allowed_directories", {})):
                        await anyio.sleep(0.05)
                    return True
                return False
            finally:
                rec.wire.muted = False

        rec.doc["roots_applied"] = await poll_allowed()
        await rec.step("list_allowed_directories", lambda: client.call_tool("list_allowed_directories", {}))
        await rec.step("tools", lambda: list_all_tools(client))
        await rec.step("read_text_file", lambda: client.call_tool("read_text_file", {"path": str(allowed / "hello.txt")}))
        await rec.step(
            "read_head",
            lambda: client.call_tool("read_text_file", {"path": str(allowed / "hello.txt"), "head": 1}),
        )
        await rec.step(
            "write_file",
            lambda: client.call_tool(
                "write_file", {"path": str(allowed / "new.txt"), "content": "written through mcp\n"}
            ),
        )
        new_file = allowed / "new.txt"
        rec.doc["written_on_disk"] = new_file.read_text() if new_file.exists() else None
        await rec.step("read_back", lambda: client.call_tool("read_text_file", {"path": str(new_file)}))
        await rec.step(
            "edit_file_dry_run",
            lambda: client.call_tool(
                "edit_file",
                {
                    "path": str(allowed / "hello.txt"),
                    "edits": [{"oldText": "second line", "newText": "2nd line"}],
                    "dryRun": True,
                },
            ),
        )
        await rec.step("create_directory", lambda: client.call_tool("create_directory", {"path": str(allowed / "made")}))
        await rec.step("list_directory", lambda: client.call_tool("list_directory", {"path": str(allowed)}))
        await rec.step("directory_tree", lambda: client.call_tool("directory_tree", {"path": str(allowed)}))
        await rec.step(
            "search_files", lambda: client.call_tool("search_files", {"path": str(allowed), "pattern": "**/*.md"})
        )
        await rec.step(
            "read_outside_roots",
            lambda: client.call_tool("read_text_file", {"path": str(scratch / "outside.txt")}),
            expect_error=True,
        )
        await rec.step("unknown_tool", lambda: client.call_tool("no_such_tool", {}), expect_error=True)


# --------------------------------------------------------------------------
# Scenario: tests/peers/modern_server.py (2026-07-28 capable)
# --------------------------------------------------------------------------

CONFIRM_ANSWER = {"confirm": True, "reason": "mcpguard test"}


async def scenario_modern(params: StdioServerParameters, mode: str, rec: Recorder) -> None:
    async def on_elicit(_ctx: Any, p: types.ElicitRequestParams) -> types.ElicitResult:
        rec.elicitations.append(dump(p))
        rec.poke()
        return types.ElicitResult(action="accept", content=CONFIRM_ANSWER)

    client = make_client(params, mode, rec, roots=None, elicitation_callback=on_elicit)
    async with client:
        rec.doc["connection"] = connection_facts(client)
        await rec.step("tools", lambda: list_all_tools(client))
        await rec.step("echo", lambda: client.call_tool("echo", {"message": "hello modern"}))
        await rec.step("add", lambda: client.call_tool("add", {"a": 2, "b": 40}))
        events, on_progress, _ = progress_collector()
        await rec.step("count_to", lambda: client.call_tool("count_to", {"n": 3}, progress_callback=on_progress))
        rec.doc["progress_events"] = sorted_progress(events)
        await rec.step("fail", lambda: client.call_tool("fail", {"reason": "testing"}), expect_error=True)

        # The confirmation round trip, driven by the SDK (MRTR on modern, a
        # server->client elicitation/create request on legacy).
        await rec.step("delete_item", lambda: client.call_tool("delete_item", {"path": "/data/report.txt"}))

        # The same round trip driven by hand, so the intermediate
        # input_required result itself is part of the document.
        rec.doc["delete_item_manual"] = await manual_mrtr(client, rec)


async def manual_mrtr(client: Client, rec: Recorder) -> dict[str, Any]:
    session = client.session
    out: dict[str, Any] = {}
    args = {"path": "/data/other.txt"}
    first = await rec.step(
        "delete_item_manual_round1",
        lambda: session.call_tool("delete_item", args, allow_input_required=True),
    )
    if isinstance(first, types.InputRequiredResult):
        shown = dump(first)
        if "requestState" in shown:
            shown["requestState"] = "<opaque>"
        out["round1"] = shown
        responses: dict[str, Any] = {}
        for key, req in (first.input_requests or {}).items():
            if isinstance(req, types.ElicitRequest):
                responses[key] = types.ElicitResult(action="accept", content={"confirm": False, "reason": "manual"})
        second = await rec.step(
            "delete_item_manual_round2",
            lambda: session.call_tool(
                "delete_item",
                args,
                input_responses=responses,
                request_state=first.request_state,
                allow_input_required=True,
            ),
        )
        out["round2"] = dump(second)
    else:
        out["round1"] = dump(first)  # legacy era: answered via elicitation/create
    rec.doc.pop("delete_item_manual_round1", None)
    rec.doc.pop("delete_item_manual_round2", None)
    return out


# --------------------------------------------------------------------------


def server_env(extra: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PASS_ENV or k.startswith(PASS_ENV_PREFIXES)}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"client.py: --env expects KEY=VALUE, got {item!r}")
        env[key] = value
    return env


async def run(args: argparse.Namespace) -> int:
    scratch: Path | None = None
    command = list(args.command)
    if args.scenario == "filesystem":
        scratch = Path(tempfile.mkdtemp(prefix="mcpguard-fs-"))
    if scratch is not None:
        command = [c.replace(DIR_PLACEHOLDER, str(scratch)) for c in command]
    exe = shutil.which(command[0]) or command[0]
    params = StdioServerParameters(command=exe, args=command[1:], env=server_env(args.env), cwd=os.getcwd())

    dropped = DroppedTraffic()
    for name in ("mcp.shared.jsonrpc_dispatcher", "mcp.client.stdio"):
        lg = logging.getLogger(name)
        lg.setLevel(logging.DEBUG)
        lg.addHandler(dropped)
        lg.propagate = False
    rec = Recorder()
    rec.doc["scenario"] = args.scenario
    rec.doc["mode"] = args.mode
    status = 0
    try:
        if args.scenario == "everything":
            await scenario_everything(params, args.mode, rec)
        elif args.scenario == "filesystem":
            assert scratch is not None
            await scenario_filesystem(params, args.mode, rec, scratch)
        else:
            await scenario_modern(params, args.mode, rec)
    except BaseException as exc:  # noqa: BLE001 - connection failure: still print what we have
        if isinstance(exc, KeyboardInterrupt):
            raise
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # anyio wraps the real cause in task-group layers
        rec.doc["fatal"] = {"type": type(exc).__name__, "message": str(exc)}
        print("client.py: scenario failed:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        status = 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    rec.doc["server_traffic"] = rec.summary()
    rec.doc["dropped"] = {"late_responses": dropped.late_responses, "unparseable_lines": dropped.unparseable_lines}
    rec.doc["unexpected"] = rec.unexpected
    rec.doc["wire"] = rec.wire.record()
    doc: Any = rec.doc
    if scratch is not None:
        doc = replace_strings(doc, [(str(scratch.resolve()), DIR_PLACEHOLDER), (str(scratch), DIR_PLACEHOLDER)])
    json.dump(doc, sys.stdout, sort_keys=True, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()
    if status == 0 and rec.unexpected:
        status = 2
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", required=True, choices=["everything", "filesystem", "modern"])
    parser.add_argument("--mode", default="legacy", choices=["legacy", "auto"])
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server environment")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- <server command...>")
    args = parser.parse_args()
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("missing server command after --")
    return anyio.run(run, args)


if __name__ == "__main__":
    sys.exit(main())
