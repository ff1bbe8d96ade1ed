"""``POST /workflows/validate`` and ``/channels/validate``: errors exactly where create would point, warnings, nothing stored."""
from __future__ import annotations

import pytest

from orion_kernel.storage import WORKFLOW
from tests.integration.admin.conftest import CH, WF, channel, fetch_plugin, task, workflow


def fetch(connector, task_id="call"):
    return {"id": task_id, "name": "Call", "function": {"name": "fetch", "input": {"connector": connector, "path": "/x"}}}


def issues(items):
    return [(i["path"], i["code"]) for i in items]


@pytest.fixture
async def admin(make_admin):
    return await make_admin(plugins=[fetch_plugin()])


async def test_a_valid_workflow(admin):
    async with admin.unchanged():
        out = await admin.call("POST", f"{WF}/validate", workflow(), status=200)
    assert out == {"valid": True, "errors": [], "warnings": []}


BROKEN = workflow(
    "wf-1",
    {"id": "a", "name": "", "function": {"name": "map", "input": {"mappings": [{"path": "data.x", "logic": {"==": [1]}}]}}},
    {"id": "a", "name": "B", "condition": {"foo": True}, "function": {"name": "no_such_fn", "input": {}}},
    {"id": "c", "name": "C", "function": {"name": "map", "input": {"mappings": "x"}}},
    condition={"+": 1, "-": 2},
)


async def test_errors_have_the_paths_and_codes_create_gives(admin):
    async with admin.unchanged():
        out = await admin.call("POST", f"{WF}/validate", BROKEN, status=200)
        created = await admin.error("POST", WF, BROKEN, status=400, code="VALIDATION_ERROR")
    assert out["valid"] is False
    assert [{k: v for k, v in e.items() if k != "field"} for e in out["errors"]] == created["details"]
    assert all(e["field"] == e["path"] for e in out["errors"] + out["warnings"])
    assert issues(out["errors"]) == [
        ("condition", "INVALID"),
        ("tasks[0].name", "REQUIRED"),
        ("tasks[0].function.input.mappings[0].logic", "INVALID"),
        ("tasks[1].condition", "INVALID"),
        ("tasks[1].function.name", "INVALID"),
        ("tasks", "INVALID"),
        ("tasks[2].function.input.mappings", "TYPE_MISMATCH"),
    ]
    messages = {e["path"]: e["message"] for e in out["errors"]}
    assert messages["condition"].startswith("Invalid JSONLogic in workflow condition:")
    assert messages["tasks[1].function.name"].startswith("Unknown function 'no_such_fn'; registered functions: ")
    assert messages["tasks"] == "Duplicate task id 'a' (tasks[0] and tasks[1])"


async def test_connector_warnings(admin):
    storage = admin.kernel.storage
    await storage.insert_connector({"id": "c1", "name": "payments", "connector_type": "http", "config": {}})
    await storage.insert_connector({"id": "c2", "name": "cache", "connector_type": "cache", "config": {}})
    await storage.insert_connector({"id": "c3", "name": "off", "connector_type": "http", "config": {}, "enabled": False})
    body = workflow("wf-1", fetch("payments", "a"), fetch("crm", "b"), fetch("cache", "c"), fetch("off", "d"))
    out = await admin.call("POST", f"{WF}/validate", body, status=200)
    assert (out["valid"], out["errors"]) == (True, [])
    assert [(w["path"], w["code"], w["message"]) for w in out["warnings"]] == [
        ("tasks[1].function.input.connector", "NOT_FOUND", "Connector 'crm' not found in registry"),
        ("tasks[2].function.input.connector", "INVALID", "Connector 'cache' is of type cache; fetch requires a connector of type http"),
        ("tasks[3].function.input.connector", "NOT_FOUND", "Connector 'off' not found in registry"),
    ]
    await admin.call("POST", WF, body, status=201)  # warnings never block create


async def test_channel_and_id_warnings(admin):
    await admin.active_channel(channel("live", "live", workflow_id=None))
    await admin.call("POST", WF, workflow("wf-1"), status=201)
    call_live = {"id": "c", "name": "C", "function": {"name": "channel_call", "input": {"channel": "live"}}}
    call_gone = {"id": "d", "name": "D", "function": {"name": "channel_call", "input": {"channel": "gone"}}}
    body = workflow("wf-1", call_live, call_gone, channel="nowhere")
    out = await admin.call("POST", f"{WF}/validate", body, status=200)
    assert out["valid"] is True
    assert issues(out["warnings"]) == [
        ("workflow_id", "CONFLICT"), ("channel", "NOT_FOUND"), ("tasks[1].function.input.channel", "NOT_FOUND"),
    ]
    assert out["warnings"][2]["message"] == "Channel 'gone' not found"
    out = await admin.call("POST", f"{WF}/validate", workflow("wf-2", call_live, channel="live"), status=200)
    assert out["warnings"] == []


async def test_the_body_must_be_a_json_object(admin):
    async with admin.unchanged():
        err = await admin.error("POST", f"{WF}/validate", [workflow()], status=400, code="VALIDATION_ERROR")
        assert err["details"][0]["path"] == "body"
        err = await admin.error("POST", f"{WF}/validate", status=400, code="VALIDATION_ERROR", data=b"{", headers={"Content-Type": "application/json"})
        assert err["message"].startswith("Invalid JSON:")
        await admin.error("POST", f"{WF}/validate", status=415, code="UNSUPPORTED_MEDIA_TYPE", data=b"{}")
        await admin.error("POST", f"{CH}/validate", "x", status=400, code="VALIDATION_ERROR")


async def test_validate_is_not_taken_for_an_id(admin):
    await admin.error("GET", f"{WF}/validate", status=404, code="NOT_FOUND")  # reserved: no workflow can be called that
    await admin.error("PUT", f"{WF}/validate", {"name": "x"}, status=404, code="NOT_FOUND")


async def test_channel_validate(admin):
    out = await admin.call("POST", f"{CH}/validate", channel(workflow_id=None), status=200)
    assert out == {"valid": True, "errors": [], "warnings": []}

    bad = channel(protocol="rest", route_pattern="orders/{id}", methods=["FETCH"], config={"rate_limit": {"burst": 2}})
    async with admin.unchanged():
        out = await admin.call("POST", f"{CH}/validate", bad, status=200)
        created = await admin.error("POST", CH, bad, status=400, code="VALIDATION_ERROR")
    assert out["valid"] is False
    assert [{k: v for k, v in e.items() if k != "field"} for e in out["errors"]] == created["details"]
    assert {e["path"] for e in out["errors"]} == {"channel.methods", "channel.route_pattern", "channel.config"}

    await admin.active_channel(channel("ch-1", "orders", workflow_id=None))
    out = await admin.call("POST", f"{CH}/validate", channel("ch-1", "orders", workflow_id="wf-9"), status=200)
    assert (out["valid"], issues(out["warnings"])) == (True, [("channel.channel_id", "CONFLICT"), ("channel.workflow_id", "NOT_FOUND")])
    out = await admin.call("POST", f"{CH}/validate", channel("ch-2", "orders", workflow_id=None), status=200)
    assert issues(out["warnings"]) == [("channel.name", "CONFLICT")]
    await admin.active_workflow(workflow("wf-9"))
    out = await admin.call("POST", f"{CH}/validate", channel("ch-2", "other", workflow_id="wf-9"), status=200)
    assert out["warnings"] == []
    assert await admin.kernel.storage.get_latest(WORKFLOW, "wf-1") is None


async def test_task_list_example_from_the_docs(admin):
    """The example of docs/admin-api.md: a missing task name and an unknown connector."""
    body = workflow("orders", task("parse"), {"id": "pay", "function": {"name": "fetch", "input": {"connector": "payments"}}})
    out = await admin.call("POST", f"{WF}/validate", body, status=200)
    assert issues(out["errors"]) == [("tasks[1].name", "REQUIRED")]
    assert issues(out["warnings"]) == [("tasks[1].function.input.connector", "NOT_FOUND")]
