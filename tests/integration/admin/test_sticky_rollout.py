"""Sticky rollouts: a workflow's ``rollout_key`` sends one caller to one version, by a stable hash."""
from __future__ import annotations

import zlib
from collections import Counter

import pytest

from tests.integration.admin.conftest import WF, channel, task, workflow

DATA = "/api/v1/data/orders"


def expected_version(key: str, canary_pct: int) -> int:
    """Documented: bucket = crc32("<workflow_id>:<key>") % 100; the newest version serves [0, pct)."""
    return 2 if zlib.crc32(f"wf-1:{key}".encode()) % 100 < canary_pct else 1


async def canary(admin, rollout_key, pct=30):
    """wf-1 v1 (answers n=1) active, v2 (n=2) a canary at ``pct``; channel ``orders``."""
    await admin.active_workflow(workflow("wf-1", task("n", 1), rollout_key=rollout_key))
    await admin.active_channel(channel())
    await admin.call("POST", f"{WF}/wf-1/versions", status=201)
    await admin.call("PUT", f"{WF}/wf-1", {"tasks": [task("n", 2)]}, status=200)
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active", "rollout_percentage": pct}, status=200)


async def served(admin, headers=None):
    resp = await admin.client.post(DATA, json={"data": {}}, headers=headers or {})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]["n"]


async def test_a_header_key_pins_each_caller_to_one_version(admin):
    await canary(admin, {"header": "X-User-Id"})
    users = [f"user-{i}" for i in range(300)]
    seen = Counter()
    for user in users:
        first = await served(admin, {"x-user-id": user})
        assert first == expected_version(user, 30), user
        assert await served(admin, {"X-USER-ID": user}) == first  # header names are case-insensitive
        seen[first] += 1
    assert 60 <= seen[2] <= 120, seen  # the hash spreads callers: about 30 % of 300

    await admin.call("PATCH", f"{WF}/wf-1/rollout", {"rollout_percentage": 70}, status=200)
    moved = [user for user in users if await served(admin, {"x-user-id": user}) != expected_version(user, 30)]
    assert all(expected_version(user, 70) == 2 for user in moved)  # growing the canary only moves callers onto it
    assert len(moved) > 60


async def test_without_the_header_the_bucket_is_random(admin):
    await canary(admin, {"header": "x-user-id"}, pct=50)
    seen = Counter([await served(admin) for _ in range(200)] + [await served(admin, {"x-user-id": ""}) for _ in range(100)])
    assert seen[1] > 60 and seen[2] > 60, seen


async def test_the_client_address_as_key(admin):
    await canary(admin, {"client": "address"}, pct=50)
    expected = expected_version("127.0.0.1", 50)
    assert {await served(admin, {"x-user-id": f"u{i}"}) for i in range(40)} == {expected}


async def test_the_newest_versions_key_decides(admin):
    await admin.active_workflow(workflow("wf-1", task("n", 1)))
    await admin.active_channel(channel())
    await admin.call("POST", f"{WF}/wf-1/versions", status=201)
    await admin.call("PUT", f"{WF}/wf-1", {"tasks": [task("n", 2)], "rollout_key": {"header": "x-user-id"}}, status=200)
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active", "rollout_percentage": 30}, status=200)
    for user in ("a", "b", "c", "d", "e", "f"):
        assert {await served(admin, {"x-user-id": user}) for _ in range(5)} == {expected_version(user, 30)}
    key = admin.kernel.runtime.snapshot.channels["orders"].rollout_key
    assert (key.source, key.name) == ("header", "x-user-id")


async def test_a_single_active_version_has_no_gate_and_no_key(admin):
    await admin.active_workflow(workflow("wf-1", rollout_key={"header": "x-user-id"}))
    await admin.active_channel(channel())
    assert admin.kernel.runtime.snapshot.channels["orders"].rollout_key is None


@pytest.mark.parametrize(("rollout_key", "path"), [
    ("x-user-id", "rollout_key"),
    ([], "rollout_key"),
    ({"header": "x-user-id", "client": "address"}, "rollout_key"),
    ({"header": "bad header"}, "rollout_key.header"),
    ({"header": ""}, "rollout_key.header"),
    ({"header": 7}, "rollout_key.header"),
    ({"client": "port"}, "rollout_key.client"),
    ({"cookie": "sid"}, "rollout_key.cookie"),
])
async def test_invalid_rollout_keys(admin, rollout_key, path):
    async with admin.unchanged():
        err = await admin.error("POST", WF, workflow(rollout_key=rollout_key), status=400, code="VALIDATION_ERROR")
    assert [d["path"] for d in err["details"]] == [path]
    assert "rollout_key" in err["message"]


async def test_rollout_key_is_content_of_a_version(admin):
    row = (await admin.call("POST", WF, workflow(rollout_key={"client": "address"}), status=201))["data"]
    assert row["rollout_key"] == {"client": "address"}
    updated = (await admin.call("PUT", f"{WF}/wf-1", {"rollout_key": {"header": "x-tenant"}}, status=200))["data"]
    assert updated["rollout_key"] == {"header": "x-tenant"}
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    draft = (await admin.call("POST", f"{WF}/wf-1/versions", status=201))["data"]
    assert draft["rollout_key"] == {"header": "x-tenant"}
    assert (await admin.call("PUT", f"{WF}/wf-1", {"rollout_key": None}, status=200))["data"]["rollout_key"] == {"header": "x-tenant"}
    cleared = (await admin.call("PUT", f"{WF}/wf-1", {"rollout_key": {}}, status=200))["data"]
    assert cleared["rollout_key"] == {}
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active", "rollout_percentage": 50}, status=200)
    await admin.active_channel(channel())
    assert admin.kernel.runtime.snapshot.channels["orders"].rollout_key is None
