"""The admin API through the real aiohttp app on a SQLite file: a client that checks the envelope,
a snapshot of everything stored (to prove an error changed nothing), and small definitions."""
from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
import pytest
from marshmallow import Schema, fields

from orion_kernel import TaskFunction, hookimpl
from orion_kernel.http.app import create_app
from orion_kernel.kernel import Kernel
from orion_kernel.plugins import load_plugins
from orion_kernel.testing import in_memory_config

ADMIN = "/api/v1/admin"
WF = f"{ADMIN}/workflows"
CH = f"{ADMIN}/channels"
JSON = {"Content-Type": "application/json"}
REQUEST_ID = "admin-test-42"


def task(task_id: str = "set", value: Any = 1, **extra: Any) -> dict[str, Any]:
    """A ``map`` task writing ``value`` to ``data.<task_id>``."""
    return {"id": task_id, "name": task_id.title(),
            "function": {"name": "map", "input": {"mappings": [{"path": f"data.{task_id}", "logic": value}]}}, **extra}


def workflow(workflow_id: str = "wf-1", *tasks: dict[str, Any], **fields_: Any) -> dict[str, Any]:
    return {"workflow_id": workflow_id, "name": workflow_id.title(), "tasks": list(tasks) or [task()], **fields_}


def channel(channel_id: str = "ch-1", name: str = "orders", **fields_: Any) -> dict[str, Any]:
    return {"channel_id": channel_id, "name": name, "workflow_id": "wf-1", **fields_}


class FetchInput(Schema):
    connector = fields.String(required=True, metadata={"description": "HTTP connector to call"})
    path = fields.String(metadata={"description": "Request path"})


async def _fetch(ctx: Any, params: dict[str, Any]) -> None:
    ctx.write_output("data.fetched", params.get("path"))


def fetch_plugin() -> types.ModuleType:
    """A plugin with one connector-backed task function, ``fetch`` (needs an ``http`` connector)."""
    module = types.ModuleType("orion_test_fetch")

    @hookimpl
    def orion_task_functions() -> Iterable[TaskFunction]:
        yield TaskFunction(name="fetch", run=_fetch, input_schema=FetchInput, description="Fetch over a connector",
                           category="connector", connector_kinds=("http",))

    module.orion_task_functions = orion_task_functions  # type: ignore[attr-defined]
    return module


class Admin:
    """Calls through the test client, asserting status, request id and content type."""

    def __init__(self, client: Any, kernel: Kernel) -> None:
        self.client = client
        self.kernel = kernel

    async def call(self, method: str, path: str, body: Any = None, *, status: int, headers: dict[str, str] | None = None,
                   data: bytes | None = None) -> Any:
        """Send a request; return the parsed JSON body (None for 204)."""
        sent = {"x-request-id": REQUEST_ID, **(headers or {})}
        if body is not None:
            data, sent = orjson.dumps(body), {**JSON, **sent}
        resp = await self.client.request(method, path, data=data, headers=sent)
        text = await resp.text()
        assert resp.status == status, text
        assert resp.headers["x-request-id"] == REQUEST_ID
        if status == 204:
            return None
        assert resp.headers["Content-Type"].startswith("application/json"), resp.headers["Content-Type"]
        return orjson.loads(text)

    async def error(self, method: str, path: str, body: Any = None, *, status: int, code: str, **kwargs: Any) -> dict[str, Any]:
        """Call expecting the error envelope; return its ``error`` object."""
        out = await self.call(method, path, body, status=status, **kwargs)
        assert set(out) == {"error"}
        err = out["error"]
        assert (err["code"], err["request_id"]) == (code, REQUEST_ID)
        assert set(err) <= {"code", "message", "details", "request_id"}
        assert err.get("details", [None])  # never an empty list
        return err

    async def audit(self) -> list[dict[str, Any]]:
        """Every audit row, oldest first."""
        rows, _ = await self.kernel.storage.list_audit(filters={}, limit=1000, offset=0)
        return list(reversed(rows))

    async def state(self) -> dict[str, Any]:
        """Everything stored that an admin call could change: every version of every entity, the audit log, the revision."""
        storage = self.kernel.storage
        out: dict[str, Any] = {"revision": await storage.revision(), "audit": len(await self.audit())}
        for kind in ("workflow", "channel"):
            rows, _ = await storage.list_latest(kind, filters={}, sort_by="name", descending=False, limit=1000, offset=0)
            for row in rows:
                key = row["workflow_id" if kind == "workflow" else "channel_id"]
                out[f"{kind}/{key}"] = (await storage.list_versions(kind, key, limit=1000, offset=0))[0]
        return out

    def unchanged(self) -> Unchanged:
        return Unchanged(self)

    async def active_workflow(self, body: dict[str, Any]) -> dict[str, Any]:
        await self.call("POST", WF, body, status=201)
        return (await self.call("PATCH", f"{WF}/{body['workflow_id']}/status", {"status": "active"}, status=200))["data"]

    async def active_channel(self, body: dict[str, Any]) -> dict[str, Any]:
        await self.call("POST", CH, body, status=201)
        return (await self.call("PATCH", f"{CH}/{body['channel_id']}/status", {"status": "active"}, status=200))["data"]


class Unchanged:
    """``async with admin.unchanged():`` asserts storage is the same after the block."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    async def __aenter__(self) -> None:
        self.before = await self.admin.state()

    async def __aexit__(self, *exc: Any) -> None:
        if exc[0] is None:
            assert await self.admin.state() == self.before


AdminFactory = Callable[..., Awaitable[Admin]]


@pytest.fixture
async def make_admin(aiohttp_client: Any, tmp_path: Any) -> AdminFactory:
    """Factory: ``await make_admin(config={...}, plugins=[module])`` starts a kernel on a SQLite file in
    ``tmp_path`` (every installed plugin plus ``plugins``) and returns an :class:`Admin` for its app."""

    async def start(*, config: dict[str, Any] | None = None, plugins: Iterable[types.ModuleType] = ()) -> Admin:
        storage = {"url": f"sqlite:{tmp_path / 'orion.db'}", "backup_dir": str(tmp_path / "backups")}
        cfg = in_memory_config({**(config or {}), "storage": {**storage, **(config or {}).get("storage", {})}})
        kernel = Kernel(cfg, load_plugins(modules=list(plugins)) if plugins else None)
        await kernel.start(watch=False)
        app = create_app(kernel)

        async def stop(_: Any) -> None:
            await kernel.stop()

        app.on_cleanup.append(stop)
        return Admin(await aiohttp_client(app), kernel)

    return start


@pytest.fixture
async def admin(make_admin: AdminFactory) -> Admin:
    return await make_admin()
