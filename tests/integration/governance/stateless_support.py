"""Shared pieces of the stateless-policy tests (cors, validation_logic, backpressure, timeout_ms,
profiling): small definitions, a ``hold`` task function the test controls, call helpers."""
from __future__ import annotations

import asyncio
import types
from collections.abc import Iterable
from typing import Any

import orjson

from orion_kernel import TaskContext, TaskFunction, hookimpl

DATA = "/api/v1/data"
ADMIN = "/api/v1/admin"
JSON = {"Content-Type": "application/json"}
SHAPE = "channel.config does not match the ChannelConfig shape: "
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def task(task_id: str, function: str, **inputs: Any) -> dict[str, Any]:
    return {"id": task_id, "name": task_id, "function": {"name": function, "input": inputs}}


def parse(target: str = "in") -> dict[str, Any]:
    return task("parse", "parse_json", source="payload", target=target)


def mapping(task_id: str, path: str, logic: Any, **extra: Any) -> dict[str, Any]:
    return {**task(task_id, "map", mappings=[{"path": path, "logic": logic}]), **extra}


def workflow(workflow_id: str, *tasks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"workflow_id": workflow_id, "name": workflow_id, "tasks": list(tasks), **fields}


#: a workflow copying the payload to ``data.in`` and marking ``data.ran``
ECHO = workflow("echo", parse(), mapping("ran", "data.ran", True))


def channel(name: str, workflow_id: str = "echo", **fields: Any) -> dict[str, Any]:
    return {"name": name, "workflow_id": workflow_id, **fields}


def rest(name: str, route: str, workflow_id: str = "echo", methods: Iterable[str] = ("POST",), **fields: Any) -> dict[str, Any]:
    return channel(name, workflow_id, protocol="rest", methods=list(methods), route_pattern=route, **fields)


class Hold:
    """Task function ``hold``: waits until the test releases it; counts starts, ends and cancellations."""

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0
        self.cancelled = 0
        self.release = asyncio.Event()
        self.running = asyncio.Event()

    async def run(self, ctx: TaskContext, params: dict[str, Any]) -> None:
        self.started += 1
        self.running.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        ctx.write("data.held", True)

    def plugin(self) -> types.ModuleType:
        module = types.ModuleType("orion_test_hold")
        hold = self

        @hookimpl
        def orion_task_functions() -> Iterable[TaskFunction]:
            yield TaskFunction(name="hold", run=hold.run, description="Wait until the test releases the task")

        module.orion_task_functions = orion_task_functions  # type: ignore[attr-defined]
        return module


HOLD_WORKFLOW = workflow("held", task("hold", "hold"))


async def send(client: Any, path: str, data: Any = None, *, method: str = "POST", headers: dict[str, str] | None = None,
               ) -> tuple[int, Any, Any]:
    """One data request; ``(status, parsed body, response headers)``."""
    body = orjson.dumps({"data": data if data is not None else {}}) if method != "GET" else None
    resp = await client.request(method, f"{DATA}/{path}", data=body, headers={**(JSON if body else {}), **(headers or {})})
    text = await resp.text()
    return resp.status, orjson.loads(text) if text else None, resp.headers


def assert_error(status: int, body: Any, headers: Any, expected_status: int, code: str, message: str) -> None:
    """The documented error envelope, with the request id and the security headers."""
    assert status == expected_status, body
    assert body == {"error": {"code": code, "message": message, "request_id": headers["x-request-id"]}}
    assert headers["Content-Type"].startswith("application/json")
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value


async def create_channel_error(client: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a channel expected to be refused with 400; its FieldError details."""
    resp = await client.post(f"{ADMIN}/channels", data=orjson.dumps(body), headers=JSON)
    out = await resp.json()
    assert resp.status == 400, out
    assert out["error"]["code"] == "VALIDATION_ERROR"
    return out["error"]["details"]
