"""Engine status and reload; the task-function and plugin catalogs."""
from __future__ import annotations

import re

import orjson

from orion_kernel import __version__
from orion_kernel.storage import CHANNEL
from tests.integration.admin.conftest import ADMIN, WF, channel, fetch_plugin, task, workflow

ENGINE = f"{ADMIN}/engine"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


async def test_status_counts_what_is_loaded_per_channel(admin):
    empty = await admin.call("GET", f"{ENGINE}/status", status=200)
    assert (empty["version"], empty["workflows_count"], empty["active_workflows"], empty["channels"], empty["channel_states"]) == (
        __version__, 0, 0, [], [])
    assert isinstance(empty["uptime_seconds"], int) and empty["uptime_seconds"] >= 0
    assert RFC3339.fullmatch(empty["loaded_at"])

    await admin.active_workflow(workflow("wf-1", channel="events"))
    await admin.active_channel(channel("ch-1", "orders"))
    await admin.active_channel(channel("ch-2", "events"))
    await admin.active_channel(channel("ch-3", "idle", workflow_id=None))
    await admin.call("POST", f"{WF}/wf-1/versions", status=201)
    await admin.call("PUT", f"{WF}/wf-1", {"rollout_key": {"header": "x-user-id"}}, status=200)
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active", "rollout_percentage": 25}, status=200)

    status = await admin.call("GET", f"{ENGINE}/status", status=200)
    assert (status["workflows_count"], status["active_workflows"]) == (4, 4)  # two versions on two channels
    assert sorted(status["channels"]) == ["events", "orders"]
    assert status["revision"] == await admin.kernel.storage.revision()
    states = {s["name"]: s for s in status["channel_states"]}
    assert states["idle"] == {"name": "idle", "channel_id": "ch-3", "version": 1, "channel_type": "sync", "protocol": "http",
                              "state": "no_workflows", "workflows": [], "rollout_key": None}
    assert states["orders"]["state"] == "serving"
    assert states["orders"]["workflows"] == [
        {"workflow_id": "wf-1", "version": 2, "priority": 0, "rollout_buckets": [0, 25]},
        {"workflow_id": "wf-1", "version": 1, "priority": 0, "rollout_buckets": [25, 100]},
    ]
    assert states["orders"]["rollout_key"] == {"header": "x-user-id"}


async def test_reload_picks_up_changes_made_behind_the_api_and_is_audited(admin):
    await admin.active_workflow(workflow("wf-1"))
    await admin.active_channel(channel())
    async with admin.kernel.storage.transaction() as tx:  # e.g. a restore or a script: no revision bump
        await tx.update_version(CHANNEL, "ch-1", 1, {"status": "archived"})
    assert "orders" in admin.kernel.runtime.snapshot.channels
    before = await admin.kernel.storage.revision()

    out = await admin.call("POST", f"{ENGINE}/reload", status=200)
    assert out == {"reloaded": True, "workflows_count": 0}
    assert "orders" not in admin.kernel.runtime.snapshot.channels
    assert await admin.kernel.storage.revision() == before + 1  # the other workers follow
    entry = (await admin.audit())[-1]
    assert (entry["action"], entry["resource_type"], entry["resource_id"], entry["principal"]) == ("reload", "engine", "manual", "anonymous")
    assert orjson.loads(entry["details"]) == {"revision": before + 1, "workflows_count": 0}


async def test_reload_timeout(make_admin):
    admin = await make_admin(config={"engine": {"reload_timeout_secs": 1}})
    async with admin.kernel.runtime._reload_lock:  # another reload holds the engine
        err = await admin.error("POST", f"{ENGINE}/reload", status=500, code="INTERNAL_ERROR")
    assert err["message"] == "Engine reload timed out waiting for write lock"


async def test_functions_serve_the_validation_schemas(make_admin):
    admin = await make_admin(plugins=[fetch_plugin()])
    out = await admin.call("GET", f"{ADMIN}/functions", status=200)
    assert set(out) == {"data"}
    functions = {f["name"]: f for f in out["data"]}
    assert [f["name"] for f in out["data"]] == sorted(functions)
    builtins = {"parse_json", "parse_xml", "filter", "map", "validation", "publish_json", "publish_xml", "log", "channel_call"}
    assert builtins <= set(functions)
    assert "validate" not in functions  # an alias of validation, listed on it
    assert functions["validation"]["aliases"] == ["validate"]
    assert functions["fetch"] == {
        "name": "fetch", "description": "Fetch over a connector", "category": "connector", "plugin": "orion_test_fetch",
        "aliases": [], "strict_input": False, "connector_kinds": ["http"],
        "input_fields": [
            {"name": "connector", "kind": "string", "required": True, "description": "HTTP connector to call"},
            {"name": "path", "kind": "string", "required": False, "description": "Request path"},
        ],
    }
    mapping = functions["map"]["input_fields"]
    assert [(f["name"], f["kind"], f["required"]) for f in mapping] == [("mappings", "array", True)]
    call = {f["name"]: f for f in functions["channel_call"]["input_fields"]}
    assert (call["channel_logic"]["kind"], call["channel_logic"]["jsonlogic"]) == ("any", True)
    assert (call["timeout_ms"]["kind"], call["data"]["kind"]) == ("number", "any")
    kinds = {f["kind"] for fn in out["data"] for f in fn["input_fields"]}
    assert kinds <= {"string", "number", "bool", "object", "array", "any"}
    assert all(field["description"] for field in mapping)
    log = {f["name"]: f for f in functions["log"]["input_fields"]}
    assert "allowed" in log["level"]


async def test_plugins(admin):
    out = await admin.call("GET", f"{ADMIN}/plugins", status=200)
    plugins = {p["name"]: p for p in out["data"]}
    assert {"sqlite", "datalogic", "map"} <= set(plugins)
    assert plugins["map"]["functions"] == ["map"]
    assert plugins["sqlite"]["essential"] is True and plugins["sqlite"]["functions"] == []
    assert set(plugins["map"]) == {"name", "module", "distribution", "version", "hooks", "essential", "functions"}
    assert "orion_task_functions" in plugins["map"]["hooks"]


async def test_workflow_definitions_never_reach_the_catalog(admin):
    await admin.call("POST", WF, workflow("wf-1", task()), status=201)
    assert "wf-1" not in str(await admin.call("GET", f"{ADMIN}/functions", status=200))
