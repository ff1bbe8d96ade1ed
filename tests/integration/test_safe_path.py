"""The safe path from AI output to production, through a real server process (docs/safe-path.md):

validate → create as draft → dry-run → activate → roll out 10 % → 50 % → 100 % → roll back.
Each rollout step sends 400 requests and checks the traffic split.
"""
from __future__ import annotations

import asyncio
import copy
from collections import Counter
from typing import Any

import aiohttp
import pytest

from orion_kernel.testing import orion_server

pytestmark = pytest.mark.integration

ADMIN = "/api/v1/admin"
WF = f"{ADMIN}/workflows"
REQUESTS = 400
PARSE = {"id": "parse", "name": "Parse the order", "function": {"name": "parse_json", "input": {"source": "payload", "target": "order"}}}


def pricing(version: int, rate: float) -> list[dict[str, Any]]:
    """The tasks of one version of the ``pricing`` workflow: a price and the version that computed it."""
    mappings = [{"path": "data.price", "logic": {"*": [{"var": "data.order.amount"}, rate]}},
                {"path": "data.version", "logic": version}]
    return [copy.deepcopy(PARSE), {"id": "price", "name": "Price", "function": {"name": "map", "input": {"mappings": mappings}}}]


async def admin(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, *, status: int = 200) -> Any:
    async with http.request(method, path, json=body) as resp:
        text = await resp.text()
        assert resp.status == status, f"{method} {path}: {resp.status} {text}"
        return await resp.json() if text else None


async def split(http: aiohttp.ClientSession) -> Counter:
    """Which version answered each of :data:`REQUESTS` quotes."""
    limit = asyncio.Semaphore(16)

    async def quote() -> int:
        async with limit, http.post("/api/v1/data/quote", json={"data": {"amount": 100}}) as resp:
            assert resp.status == 200, await resp.text()
            return (await resp.json())["data"]["version"]

    return Counter(await asyncio.gather(*(quote() for _ in range(REQUESTS))))


async def test_validate_create_dry_run_activate_roll_out_and_roll_back(tmp_path):
    config = {"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}, "tracing": {"storage": {"mode": "off"}}}
    async with orion_server(config, tmp_path) as server, aiohttp.ClientSession(server.url) as http:
        # production today: pricing v1 behind the channel "quote"
        await admin(http, "POST", WF, {"workflow_id": "pricing", "name": "Pricing", "tasks": pricing(1, 1.1)}, status=201)
        await admin(http, "PATCH", f"{WF}/pricing/status", {"status": "active"})
        await admin(http, "POST", f"{ADMIN}/channels", {"channel_id": "quote", "name": "quote", "workflow_id": "pricing"}, status=201)
        await admin(http, "PATCH", f"{ADMIN}/channels/quote/status", {"status": "active"})
        assert await split(http) == {1: REQUESTS}

        # 1. validate what the assistant generated; fix the spot the error points at
        generated = {"workflow_id": "pricing", "name": "Pricing", "tasks": pricing(2, 0.9)}
        del generated["tasks"][0]["name"]
        generated["tasks"][1]["function"]["name"] = "compute_price"  # a function that does not exist
        report = await admin(http, "POST", f"{WF}/validate", generated)
        assert report["valid"] is False
        assert [e["path"] for e in report["errors"]] == ["tasks[0].name", "tasks[1].function.name"]
        generated["tasks"] = pricing(2, 0.9)
        report = await admin(http, "POST", f"{WF}/validate", generated)
        assert (report["valid"], [w["code"] for w in report["warnings"]]) == (True, ["CONFLICT"])  # pricing exists: new version

        # 2. create it as a draft (a new version of the existing workflow)
        draft = (await admin(http, "POST", f"{WF}/pricing/versions", status=201))["data"]
        assert (draft["version"], draft["status"]) == (2, "draft")
        await admin(http, "PUT", f"{WF}/pricing", {"tasks": generated["tasks"]})
        assert await split(http) == {1: REQUESTS}  # drafts never run

        # 3. dry-run it on a sample
        result = await admin(http, "POST", f"{WF}/pricing/test", {"data": {"amount": 100}})
        assert (result["version"], result["matched"], result["output"]["price"], result["output"]["version"]) == (2, True, 90.0, 2)
        assert [(s["task_id"], s["result"]) for s in result["trace"]["steps"]] == [("parse", "executed"), ("price", "executed")]

        # 4. activate it as a 10 % canary, 5. roll out to 50 %, then 100 %
        await admin(http, "PATCH", f"{WF}/pricing/status", {"status": "active", "rollout_percentage": 10})
        seen = await split(http)
        assert 15 <= seen[2] <= 70 and seen[1] + seen[2] == REQUESTS, seen
        await admin(http, "PATCH", f"{WF}/pricing/rollout", {"rollout_percentage": 50})
        seen = await split(http)
        assert 150 <= seen[2] <= 250 and seen[1] + seen[2] == REQUESTS, seen
        await admin(http, "PATCH", f"{WF}/pricing/rollout", {"rollout_percentage": 100})
        assert await split(http) == {2: REQUESTS}
        history = (await admin(http, "GET", f"{WF}/pricing/versions"))["data"]
        assert [(v["version"], v["status"]) for v in history] == [(2, "active"), (1, "archived")]

        # 6. roll back to version 1 in one call
        restored = (await admin(http, "POST", f"{WF}/pricing/rollback", {"version": 1}))["data"]
        assert (restored["version"], restored["status"], restored["rollout_percentage"]) == (3, "active", 100)
        assert await split(http) == {1: REQUESTS}
        history = (await admin(http, "GET", f"{WF}/pricing/versions"))["data"]
        assert [(v["version"], v["status"]) for v in history] == [(3, "active"), (2, "archived"), (1, "archived")]

        audit = (await admin(http, "GET", f"{ADMIN}/audit-logs?resource_type=workflow"))["data"]
        assert [e["action"] for e in reversed(audit)] == [
            "create", "status_active", "create_version", "update", "status_active", "update_rollout", "update_rollout", "rollback"]
