"""The workflow and channel admin API through the real aiohttp app, on a SQLite file.

Every error case also checks that storage is unchanged (the lists and every version history are
read back and compared with the state before the failing call).
"""
from __future__ import annotations

import re

import orjson
import pytest

from orion_kernel.config import load_config
from orion_kernel.http.app import create_app
from orion_kernel.kernel import Kernel

WF = "/api/v1/admin/workflows"
CH = "/api/v1/admin/channels"
JSON = {"Content-Type": "application/json"}
REQUEST_ID = "test-req-id-42"


def task(task_id="parse", function="map"):
    inputs = {"map": {"mappings": [{"path": "data.out", "logic": {"var": "payload.x"}}]}, "log": {"message": "hi"}}
    return {"id": task_id, "name": task_id.title(), "function": {"name": function, "input": inputs[function]}}


def workflow(workflow_id="wf-1", **fields):
    return {"workflow_id": workflow_id, "name": "High-Value Order", "tasks": [task()], **fields}


def channel(channel_id="ch-1", name="orders", **fields):
    return {"channel_id": channel_id, "name": name, "workflow_id": "wf-1", **fields}


@pytest.fixture
async def kernel(tmp_path):
    kernel = Kernel(load_config(None, env={"ORION_STORAGE__URL": f"sqlite:{tmp_path / 'orion.db'}"}))
    await kernel.start()
    yield kernel
    await kernel.stop()


@pytest.fixture
async def client(aiohttp_client, kernel):
    return await aiohttp_client(create_app(kernel))


async def call(client, method, path, body=None, *, status, data=None, headers=None):
    """Send a request; assert the status and the JSON content type; return the parsed body."""
    if body is not None:
        data, headers = orjson.dumps(body), {**JSON, **(headers or {})}
    resp = await client.request(method, path, data=data, headers={"x-request-id": REQUEST_ID, **(headers or {})})
    text = await resp.text()
    assert resp.status == status, text
    assert resp.headers["x-request-id"] == REQUEST_ID
    if status == 204:
        assert text == ""
        return None
    assert resp.headers["Content-Type"].startswith("application/json")
    return orjson.loads(text)


async def error(client, method, path, body=None, *, status, code, **kwargs):
    """Call expecting an error envelope; return ``error`` after checking its fixed keys."""
    out = await call(client, method, path, body, status=status, **kwargs)
    assert set(out) == {"error"}
    err = out["error"]
    assert err["code"] == code
    assert err["request_id"] == REQUEST_ID
    assert set(err) <= {"code", "message", "details", "request_id"}
    if "details" in err:
        assert err["details"]  # never an empty list
    return err


async def state(client):
    """Everything stored, as the API shows it."""
    out = {}
    for base in (WF, CH):
        listing = await call(client, "GET", f"{base}?limit=1000", status=200)
        out[base] = listing
        id_field = "workflow_id" if base == WF else "channel_id"
        for row in listing["data"]:
            out[f"{base}/{row[id_field]}"] = await call(client, "GET", f"{base}/{row[id_field]}/versions", status=200)
    return out


class Unchanged:
    """``async with Unchanged(client):`` asserts storage is the same after the block."""

    def __init__(self, client):
        self.client = client

    async def __aenter__(self):
        self.before = await state(self.client)

    async def __aexit__(self, *exc):
        if exc[0] is None:
            assert await state(self.client) == self.before


async def audit(kernel):
    rows, _ = await kernel.storage.list_audit(filters={}, limit=1000, offset=0)
    return [(r["action"], r["resource_type"], r["resource_id"], r["principal"]) for r in reversed(rows)]


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?")


# --- workflows: happy paths -------------------------------------------------------------------


async def test_create_get_and_list_a_workflow(client, kernel):
    created = await call(client, "POST", WF, workflow(), status=201)
    assert set(created) == {"data"}
    row = dict(created["data"])
    assert TIMESTAMP.fullmatch(row.pop("created_at")) and TIMESTAMP.fullmatch(row.pop("updated_at"))
    assert row == {
        "workflow_id": "wf-1", "version": 1, "name": "High-Value Order", "description": None, "priority": 0,
        "status": "draft", "rollout_percentage": 100, "condition": True, "tasks": [task()], "tags": [],
        "continue_on_error": False, "channel": None, "rollout_key": None,
    }
    assert await call(client, "GET", f"{WF}/wf-1", status=200) == created
    assert await call(client, "GET", WF, status=200) == {"data": [created["data"]], "total": 1, "limit": 50, "offset": 0}
    assert await audit(kernel) == [("create", "workflow", "wf-1", "anonymous")]
    assert kernel.runtime.snapshot.workflows_count == 0  # drafts never run


async def test_create_generates_an_id_and_keeps_condition_and_tasks_verbatim(client):
    body = workflow(condition={"==": [{"var": "metadata.type"}, "order"]}, tags=["orders"], priority=5,
                    description="d", continue_on_error=True, channel="orders")
    del body["workflow_id"]
    row = (await call(client, "POST", WF, body, status=201))["data"]
    assert re.fullmatch(r"[0-9a-f-]{36}", row["workflow_id"])
    for key, value in body.items():
        assert row[key] == value
    assert (await call(client, "GET", f"{WF}/{row['workflow_id']}", status=200))["data"] == row


async def test_list_filters_sorts_and_pages(client):
    await call(client, "POST", WF, workflow("a", name="Alpha", priority=1, tags=["x_%"]), status=201)
    await call(client, "POST", WF, workflow("b", name="Beta", priority=3, tags=["xa%"]), status=201)
    await call(client, "POST", WF, workflow("c", name="Gamma", priority=2), status=201)
    await call(client, "PATCH", f"{WF}/c/status", {"status": "active"}, status=200)

    async def ids(query):
        out = await call(client, "GET", f"{WF}?{query}", status=200)
        return [row["workflow_id"] for row in out["data"]], out["total"], out["limit"], out["offset"]

    assert await ids("") == (["b", "c", "a"], 3, 50, 0)  # priority desc by default
    assert await ids("sort_by=name&sort_order=asc") == (["a", "b", "c"], 3, 50, 0)
    assert await ids("sort_by=bogus&sort_order=asc") == (["a", "c", "b"], 3, 50, 0)
    assert await ids("status=active") == (["c"], 1, 50, 0)
    assert await ids("status=paused") == ([], 0, 50, 0)
    assert await ids("tag=x_%25") == (["a"], 1, 50, 0)  # wildcards are literal
    assert await ids("tag=x") == ([], 0, 50, 0)
    assert await ids("limit=0&offset=-4") == (["b"], 3, 1, 0)
    assert await ids("limit=5000&offset=2") == (["a"], 3, 1000, 2)
    await call(client, "POST", f"{WF}/c/versions", status=201)
    assert await ids("status=draft&sort_by=name&sort_order=asc") == (["a", "b", "c"], 3, 50, 0)  # latest version only


async def test_bad_query_parameters(client):
    err = await error(client, "GET", f"{WF}?limit=abc", status=400, code="VALIDATION_ERROR")
    assert err["message"].startswith("Invalid query string:")
    await error(client, "GET", f"{CH}?offset=1.5", status=400, code="VALIDATION_ERROR")
    await error(client, "GET", f"{WF}/x/versions?limit=x", status=400, code="VALIDATION_ERROR")


async def test_update_the_draft(client, kernel):
    await call(client, "POST", WF, workflow(description="keep me"), status=201)
    out = await call(client, "PUT", f"{WF}/wf-1", {"name": "Renamed", "description": None, "tasks": [task("a"), task("b")]}, status=200)
    row = out["data"]
    assert (row["name"], row["description"], [t["id"] for t in row["tasks"]]) == ("Renamed", "keep me", ["a", "b"])
    assert await call(client, "GET", f"{WF}/wf-1", status=200) == out
    assert [a[0] for a in await audit(kernel)] == ["create", "update"]


async def test_lifecycle_with_canary_rollout(client, kernel):
    await call(client, "POST", WF, workflow(), status=201)
    active = (await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200))["data"]
    assert (active["status"], active["rollout_percentage"]) == ("active", 100)
    assert kernel.runtime.snapshot.workflows_count == 1  # took effect at once

    draft = (await call(client, "POST", f"{WF}/wf-1/versions", status=201))["data"]
    assert (draft["version"], draft["status"], draft["tasks"]) == (2, "draft", [task()])
    await call(client, "PUT", f"{WF}/wf-1", {"tasks": [task("v2")]}, status=200)
    canary = (await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active", "rollout_percentage": 10}, status=200))["data"]
    assert (canary["version"], canary["rollout_percentage"]) == (2, 10)
    assert kernel.runtime.snapshot.workflows_count == 2

    versions = await call(client, "GET", f"{WF}/wf-1/versions", status=200)
    assert [(v["version"], v["status"], v["rollout_percentage"]) for v in versions["data"]] == [(2, "active", 10), (1, "active", 90)]
    assert (versions["total"], versions["limit"], versions["offset"]) == (2, 50, 0)
    paged = await call(client, "GET", f"{WF}/wf-1/versions?limit=1&offset=1", status=200)
    assert [v["version"] for v in paged["data"]] == [1] and paged["total"] == 2

    moved = (await call(client, "PATCH", f"{WF}/wf-1/rollout", {"rollout_percentage": 50}, status=200))["data"]
    assert (moved["version"], moved["rollout_percentage"]) == (2, 50)
    done = (await call(client, "PATCH", f"{WF}/wf-1/rollout", {"rollout_percentage": 100}, status=200))["data"]
    assert (done["version"], done["rollout_percentage"]) == (2, 100)
    assert kernel.runtime.snapshot.workflows_count == 1

    archived = (await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "archived"}, status=200))["data"]
    assert (archived["version"], archived["status"]) == (2, "archived")
    assert kernel.runtime.snapshot.workflows_count == 0

    assert await call(client, "DELETE", f"{WF}/wf-1", status=204) is None
    await error(client, "GET", f"{WF}/wf-1", status=404, code="NOT_FOUND")
    assert [a[0] for a in await audit(kernel)] == [
        "create", "status_active", "create_version", "update", "status_active", "update_rollout",
        "update_rollout", "status_archived", "delete"]


async def test_delete_takes_effect_at_once(client, kernel):
    await call(client, "POST", WF, workflow(), status=201)
    await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    revision = await kernel.storage.revision()
    await call(client, "DELETE", f"{WF}/wf-1", status=204)
    assert kernel.runtime.snapshot.workflows_count == 0
    assert kernel.runtime.snapshot.revision == revision + 1 == await kernel.storage.revision()


# --- workflows: body errors ------------------------------------------------------------------


async def test_transport_errors_on_create(client):
    async with Unchanged(client):
        err = await error(client, "POST", WF, status=400, code="VALIDATION_ERROR", data=b'{"name": ', headers=JSON)
        assert err["message"].startswith("Invalid JSON: ")
        err = await error(client, "POST", WF, status=415, code="UNSUPPORTED_MEDIA_TYPE", data=orjson.dumps(workflow()),
                          headers={"Content-Type": "text/plain"})
        assert err == {"code": "UNSUPPORTED_MEDIA_TYPE", "message": "Expected `content-type: application/json`", "request_id": REQUEST_ID}
        await error(client, "POST", WF, status=415, code="UNSUPPORTED_MEDIA_TYPE", data=orjson.dumps(workflow()))
        await error(client, "POST", WF, status=400, code="VALIDATION_ERROR", data=b"", headers=JSON)
        await error(client, "POST", WF, status=415, code="UNSUPPORTED_MEDIA_TYPE")
    await call(client, "POST", WF, workflow(), status=201, headers={"Content-Type": "application/vnd.orion+json"})
    big = orjson.dumps(workflow("wf-big", description="x" * (1024 * 1024)))
    async with Unchanged(client):
        err = await error(client, "POST", WF, status=413, code="PAYLOAD_TOO_LARGE", data=big, headers=JSON)
        assert "1048576" in err["message"]


@pytest.mark.parametrize(("body", "expected"), [
    ([workflow()], [{"path": "body", "code": "INVALID", "message": "invalid type: array, expected a JSON object (a workflow definition)",
                     "expected": "object"}]),
    (workflow(colour="red"), [{"path": "colour", "code": "INVALID", "message": "unknown field 'colour'"}]),
    (workflow(tasks=[{**task(), "retries": 3}]), [{"path": "tasks[0].retries", "code": "INVALID", "message": "unknown field 'retries'"}]),
    (workflow(priority="high"), [{"path": "priority", "code": "TYPE_MISMATCH", "message": "priority must be an integer, got string",
                                  "expected": "integer", "got": "high"}]),
    (workflow(name="n" * 256), [{"path": "name", "code": "INVALID", "message": "Name exceeds maximum length of 255 bytes (got 256)"}]),
    (workflow(workflow_id="bad id"), [{"path": "workflow_id", "code": "INVALID", "got": "bad id", "message":
        "ID must start with an alphanumeric character and contain only alphanumeric characters, dots, hyphens, or underscores"}]),
    (workflow(tasks=[]), [{"path": "tasks", "code": "INVALID", "message": "Tasks must be a non-empty array"}]),
])
async def test_create_field_errors(client, body, expected):
    async with Unchanged(client):
        err = await error(client, "POST", WF, body, status=400, code="VALIDATION_ERROR")
        assert err["details"] == expected
        assert err["message"] == f"Invalid workflow: {expected[0]['message']}"


@pytest.mark.parametrize(("body", "path", "fragment"), [
    (workflow(workflow_id="Validate"), "workflow_id", "ID 'Validate' is reserved"),
    (workflow(workflow_id="w" * 129), "workflow_id", "maximum length of 128"),
    (workflow(condition={"foo": 1}), "condition", "Invalid JSONLogic in workflow condition: unknown operator `foo`"),
    (workflow(tasks=[{**task(), "condition": {"a": 1, "b": 2}}]), "tasks[0].condition", "Invalid JSONLogic in task condition"),
    (workflow(tasks=[{**task(), "function": {"name": "map", "input": {"mappings": [{"path": "data.x", "logic": {"==": [1]}}]}}}]),
     "tasks[0].function.input.mappings[0].logic", "Invalid JSONLogic in function 'map' input"),
    (workflow(tasks=[{**task(), "function": {"name": "http_cal", "input": {}}}]), "tasks[0].function.name",
     "Unknown function 'http_cal'; registered functions: "),
    (workflow(tasks=[{**task(), "function": {"name": "map", "input": {"mapping": []}}}]), "tasks[0].function.input.mappings",
     "config for function 'map': missing field 'mappings'"),
    (workflow(tasks=[{**task(), "function": {"name": "map", "input": {"mappings": {"path": "x"}}}}]), "tasks[0].function.input.mappings",
     "field 'mappings' must be an array"),
])
async def test_create_semantic_errors(client, body, path, fragment):
    async with Unchanged(client):
        err = await error(client, "POST", WF, body, status=400, code="VALIDATION_ERROR")
        [detail] = err["details"]
        assert detail["path"] == path
        assert fragment in detail["message"]


async def test_several_problems_are_reported_together(client):
    async with Unchanged(client):
        err = await error(client, "POST", WF, {"name": " ", "tasks": [{"id": "a"}], "tag": []}, status=400, code="VALIDATION_ERROR")
        assert [d["path"] for d in err["details"]] == ["tag", "name", "tasks[0].name", "tasks[0].function.name"]
        assert err["message"].startswith("Invalid workflow has 4 errors: tag: unknown field 'tag'; name: Name cannot be empty")


async def test_duplicate_workflow_id_is_409(client, kernel):
    await call(client, "POST", WF, workflow(), status=201)
    async with Unchanged(client):
        err = await error(client, "POST", WF, workflow(name="Other"), status=409, code="CONFLICT")
        assert err["message"] == "Workflow 'wf-1' already exists"
        await error(client, "POST", WF, {**workflow(), "workflow_id": None, "id": "wf-1"}, status=409, code="CONFLICT")
    assert len(await audit(kernel)) == 1


# --- workflows: path and lifecycle errors ----------------------------------------------------


@pytest.mark.parametrize("path_id", ["nope", "x" * 2000, "a%20b", "-x", "a%2Fb", "%C3%A9", "versions", "IMPORT"])
async def test_ids_that_cannot_exist_are_404(client, path_id):
    await call(client, "POST", WF, workflow(), status=201)
    await call(client, "POST", CH, channel(), status=201)
    async with Unchanged(client):
        for base in (WF, CH):
            label = "Workflow" if base == WF else "Channel"
            err = await error(client, "GET", f"{base}/{path_id}", status=404, code="NOT_FOUND")
            assert err["message"].startswith(f"{label} '") and err["message"].endswith("' not found")
            assert len(err["message"]) < 100
            await error(client, "PUT", f"{base}/{path_id}", {"name": "x"}, status=404, code="NOT_FOUND")
            await error(client, "DELETE", f"{base}/{path_id}", status=404, code="NOT_FOUND")
            await error(client, "PATCH", f"{base}/{path_id}/status", {"status": "active"}, status=404, code="NOT_FOUND")
            await error(client, "GET", f"{base}/{path_id}/versions", status=404, code="NOT_FOUND")
            await error(client, "POST", f"{base}/{path_id}/versions", status=404, code="NOT_FOUND")
        await error(client, "PATCH", f"{WF}/{path_id}/rollout", {"rollout_percentage": 50}, status=404, code="NOT_FOUND")


async def test_not_found_message(client):
    err = await error(client, "GET", f"{WF}/wf-404", status=404, code="NOT_FOUND")
    assert err == {"code": "NOT_FOUND", "message": "Workflow 'wf-404' not found", "request_id": REQUEST_ID}


async def test_update_errors(client):
    await call(client, "POST", WF, workflow(), status=201)
    async with Unchanged(client):
        err = await error(client, "PUT", f"{WF}/wf-1", {"tasks": [task("a"), task("a")]}, status=400, code="VALIDATION_ERROR")
        assert err["details"] == [{"path": "tasks", "code": "INVALID", "message": "Duplicate task id 'a' (tasks[0] and tasks[1])"}]
        err = await error(client, "PUT", f"{WF}/wf-1", {"nme": "x"}, status=400, code="VALIDATION_ERROR")
        assert err["details"] == [{"path": "nme", "code": "INVALID", "message": "unknown field 'nme'"}]
        await error(client, "PUT", f"{WF}/wf-1", {"workflow_id": "wf-2"}, status=400, code="VALIDATION_ERROR")
        await error(client, "PUT", f"{WF}/wf-1", {"priority": 1.5}, status=400, code="VALIDATION_ERROR")
        await error(client, "PUT", f"{WF}/wf-1", status=415, code="UNSUPPORTED_MEDIA_TYPE", data=b"{}", headers={"Content-Type": "text/json"})
        await error(client, "PUT", f"{WF}/wf-1", status=400, code="VALIDATION_ERROR", data=b"{,}", headers=JSON)
    await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    async with Unchanged(client):
        err = await error(client, "PUT", f"{WF}/wf-1", {"name": "x"}, status=400, code="BAD_REQUEST")
        assert err["message"] == "No draft version found for workflow 'wf-1'"


@pytest.mark.parametrize(("body", "code", "message", "path"), [
    ({"status": "draft"}, "BAD_REQUEST", "Invalid status transition to 'draft'. Use 'active' or 'archived'", None),
    ({"status": "paused"}, "VALIDATION_ERROR", "Invalid request body: invalid status 'paused', expected one of: draft, active, archived", "body.status"),
    ({}, "VALIDATION_ERROR", "Invalid request body: missing field `status`", "body.status"),
    ({"status": 1}, "VALIDATION_ERROR", None, "body.status"),
    ({"status": "active", "rollout_percentage": "ten"}, "VALIDATION_ERROR", None, "body.rollout_percentage"),
    ({"status": "active", "rollout": 10}, "VALIDATION_ERROR", None, "body.rollout"),
    ([], "VALIDATION_ERROR", None, "body"),
    ({"status": "active", "rollout_percentage": 101}, "BAD_REQUEST", "rollout_percentage must be between 0 and 100", None),
    ({"status": "active", "rollout_percentage": -1}, "BAD_REQUEST", "rollout_percentage must be between 0 and 100", None),
    ({"status": "archived"}, "BAD_REQUEST", "No active version found for workflow 'wf-1'", None),
])
async def test_status_errors(client, kernel, body, code, message, path):
    await call(client, "POST", WF, workflow(), status=201)
    revision = await kernel.storage.revision()
    async with Unchanged(client):
        err = await error(client, "PATCH", f"{WF}/wf-1/status", body, status=400, code=code)
        if message:
            assert err["message"] == message
        if path:
            assert [d["path"] for d in err["details"]] == [path]
            assert err["details"][0]["code"] == "INVALID"
        else:
            assert "details" not in err
    assert await kernel.storage.revision() == revision


async def test_status_without_a_draft_and_without_a_body(client):
    await call(client, "POST", WF, workflow(), status=201)
    await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    async with Unchanged(client):
        err = await error(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=400, code="BAD_REQUEST")
        assert err["message"] == "No draft version found for workflow 'wf-1'"
        await error(client, "PATCH", f"{WF}/wf-1/status", status=415, code="UNSUPPORTED_MEDIA_TYPE")


async def test_activation_refuses_a_draft_whose_function_was_uninstalled(client, kernel, monkeypatch):
    await call(client, "POST", WF, workflow(tasks=[task(function="log")]), status=201)
    monkeypatch.delitem(kernel.plugins.functions, "log")
    async with Unchanged(client):
        err = await error(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=400, code="VALIDATION_ERROR")
        assert err["message"].startswith("Workflow 'wf-1' version 1 cannot be activated: Unknown function 'log'")
        [detail] = err["details"]
        assert (detail["path"], detail["code"]) == ("tasks[0].function.name", "INVALID")
    assert kernel.runtime.snapshot.workflows_count == 0


@pytest.mark.parametrize(("body", "code", "message"), [
    ({"rollout_percentage": 0}, "BAD_REQUEST", "rollout_percentage must be between 1 and 100"),
    ({"rollout_percentage": 101}, "BAD_REQUEST", "rollout_percentage must be between 1 and 100"),
    ({"rollout_percentage": 50}, "BAD_REQUEST", "Cannot set partial rollout with only one active version"),
    ({}, "VALIDATION_ERROR", "Invalid request body: missing field `rollout_percentage`"),
    ({"rollout_percentage": True}, "VALIDATION_ERROR", None),
    ({"rollout_percentage": 50, "status": "active"}, "VALIDATION_ERROR", None),
])
async def test_rollout_errors(client, body, code, message):
    await call(client, "POST", WF, workflow(), status=201)
    await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    async with Unchanged(client):
        err = await error(client, "PATCH", f"{WF}/wf-1/rollout", body, status=400, code=code)
        if message:
            assert err["message"] == message


async def test_rollout_without_active_versions_and_the_no_op(client):
    await call(client, "POST", WF, workflow(), status=201)
    async with Unchanged(client):
        err = await error(client, "PATCH", f"{WF}/wf-1/rollout", {"rollout_percentage": 20}, status=400, code="BAD_REQUEST")
        assert err["message"] == "No active versions found for workflow 'wf-1'"
    active = await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    async with Unchanged(client):
        assert await call(client, "PATCH", f"{WF}/wf-1/rollout", {"rollout_percentage": 100}, status=200) == active


async def test_second_draft_is_409(client):
    await call(client, "POST", WF, workflow(), status=201)
    async with Unchanged(client):
        err = await error(client, "POST", f"{WF}/wf-1/versions", status=409, code="CONFLICT")
        assert err["message"] == "Workflow 'wf-1' already has a draft version"


async def test_wrong_method_is_405_in_the_envelope(client):
    err = await error(client, "PATCH", WF, {"x": 1}, status=405, code="METHOD_NOT_ALLOWED")
    assert err["message"] == f"Method PATCH is not allowed on {WF}"
    await error(client, "DELETE", f"{WF}/wf-1/status", status=405, code="METHOD_NOT_ALLOWED")


# --- channels ---------------------------------------------------------------------------------


async def test_minimal_channel_is_a_sync_http_post_route(client, kernel):
    row = dict((await call(client, "POST", CH, {"name": "orders", "workflow_id": "wf-1"}, status=201))["data"])
    assert TIMESTAMP.fullmatch(row.pop("created_at")) and TIMESTAMP.fullmatch(row.pop("updated_at"))
    channel_id = row.pop("channel_id")
    assert re.fullmatch(r"[0-9a-f-]{36}", channel_id)
    assert row == {
        "version": 1, "name": "orders", "description": None, "channel_type": "sync", "protocol": "http",
        "methods": ["POST"], "route_pattern": "/orders", "topic": None, "consumer_group": None,
        "transport_config": {}, "workflow_id": "wf-1", "config": {}, "status": "draft", "priority": 0,
    }
    assert await audit(kernel) == [("create", "channel", channel_id, "anonymous")]


async def test_full_channel_round_trips(client):
    config = {"rate_limit": {"requests_per_second": 10, "key_logic": {"var": "client_ip"}}, "timeout_ms": 500,
              "cors": {"allowed_origins": ["*"]}, "deduplication": {"header": "Idempotency-Key", "retention_secs": 30},
              "tracing": {"task_details": True}, "future_plugin": {"x": 1}}
    body = channel(description="d", channel_type="sync", protocol="rest", methods=["get", "POST"],
                   route_pattern="/orders/{order_id}", transport_config={"k": "v"}, config=config, priority=4)
    created = (await call(client, "POST", CH, body, status=201))["data"]
    assert created["methods"] == ["GET", "POST"] and created["config"] == config
    assert await call(client, "GET", f"{CH}/ch-1", status=200) == {"data": created}


async def test_channel_list_filters_and_sorting(client):
    await call(client, "POST", CH, channel("a", name="alpha", priority=2), status=201)
    await call(client, "POST", CH, channel("k", name="kafka-in", channel_type="async", protocol="kafka", topic="t1"), status=201)
    await call(client, "POST", CH, channel("r", name="rest", protocol="rest", methods=["GET"], route_pattern="/r", priority=9), status=201)
    await call(client, "PATCH", f"{CH}/a/status", {"status": "active"}, status=200)

    async def ids(query):
        out = await call(client, "GET", f"{CH}?{query}", status=200)
        return [row["channel_id"] for row in out["data"]], out["total"]

    assert await ids("") == (["r", "a", "k"], 3)
    assert await ids("protocol=kafka") == (["k"], 1)
    assert await ids("channel_type=sync&sort_by=name&sort_order=asc") == (["a", "r"], 2)
    assert await ids("status=active") == (["a"], 1)
    assert await ids("sort_by=protocol&sort_order=asc&limit=2") == (["a", "k"], 3)


async def test_rest_channel_without_route_matches_the_spec_example(client):
    async with Unchanged(client):
        out = await call(client, "POST", CH, {"name": "orders", "protocol": "rest", "methods": ["POST"]}, status=400)
    assert out == {"error": {
        "code": "VALIDATION_ERROR",
        "message": "Channel with protocol=\"rest\" is missing 1 required field(s)",
        "details": [{
            "path": "channel.route_pattern", "code": "REQUIRED_FOR_PROTOCOL",
            "message": "REST/HTTP channels must specify a route_pattern (protocol=\"rest\")",
            "expected": "URL path pattern (e.g. \"/orders/{id}\")",
        }],
        "request_id": REQUEST_ID,
    }}


@pytest.mark.parametrize(("body", "path", "code"), [
    (channel(protocol="grpc"), "body.protocol", "INVALID"),
    (channel(channel_type="stream"), "body.channel_type", "INVALID"),
    (channel(route="/x"), "route", "INVALID"),
    (channel(channel_id="bad/id"), "channel.channel_id", "INVALID"),
    (channel(name=""), "channel.name", "INVALID"),
    (channel(description="d" * 3000), "channel.description", "INVALID"),
    (channel(methods=["FETCH"], route_pattern="/o"), "channel.methods", "INVALID"),
    (channel(methods="POST", route_pattern="/o"), "channel.methods", "TYPE_MISMATCH"),
    (channel(methods=["POST"], route_pattern="/o/{id"), "channel.route_pattern", "INVALID"),
    (channel(protocol="kafka"), "channel.topic", "REQUIRED_FOR_PROTOCOL"),
    (channel(config={"cache": {"enabled": 1}}), "channel.config", "INVALID"),
    (channel(config={"validation_logic": {"nope": [1]}}), "channel.config.validation_logic", "INVALID"),
    (channel(config={"rate_limit": {"requests_per_second": 1, "key_logic": {"x": 1}}}), "channel.config.rate_limit.key_logic", "INVALID"),
    (channel(config=[]), "channel.config", "INVALID"),
    (channel(priority=2**40), "channel.priority", "INVALID"),
    ("orders", "body", "INVALID"),
])
async def test_channel_create_errors(client, body, path, code):
    async with Unchanged(client):
        err = await error(client, "POST", CH, body, status=400, code="VALIDATION_ERROR")
        assert [(d["path"], d["code"]) for d in err["details"]] == [(path, code)]


async def test_channel_id_and_name_conflicts(client):
    await call(client, "POST", CH, channel(), status=201)
    await call(client, "POST", CH, channel("ch-2", name="payments"), status=201)
    async with Unchanged(client):
        err = await error(client, "POST", CH, channel(name="other"), status=409, code="CONFLICT")
        assert err["message"] == "Channel 'ch-1' already exists"
        err = await error(client, "POST", CH, channel("ch-3"), status=409, code="CONFLICT")
        assert err["message"] == "Channel with name 'orders' already exists"
        await error(client, "PUT", f"{CH}/ch-2", {"name": "orders"}, status=409, code="CONFLICT")


async def test_channel_update(client):
    await call(client, "POST", CH, channel(), status=201)
    out = await call(client, "PUT", f"{CH}/ch-1", {"route_pattern": "/v2/orders", "protocol": "kafka", "description": None,
                                                   "config": {"timeout_ms": 100}}, status=200)
    row = out["data"]
    assert (row["route_pattern"], row["protocol"], row["config"]) == ("/v2/orders", "http", {"timeout_ms": 100})
    assert await call(client, "GET", f"{CH}/ch-1", status=200) == out
    async with Unchanged(client):
        err = await error(client, "PUT", f"{CH}/ch-1", {"methods": [], "config": {"timeout_ms": "1s"}}, status=400, code="VALIDATION_ERROR")
        assert [d["path"] for d in err["details"]] == ["channel.config", "channel.methods"]
        await error(client, "PUT", f"{CH}/ch-1", {"channel_id": "other"}, status=400, code="VALIDATION_ERROR")
        await error(client, "PUT", f"{CH}/ch-1", {"topics": "x"}, status=400, code="VALIDATION_ERROR")
    await call(client, "PATCH", f"{CH}/ch-1/status", {"status": "active"}, status=200)
    async with Unchanged(client):
        err = await error(client, "PUT", f"{CH}/ch-1", {"priority": 1}, status=400, code="BAD_REQUEST")
        assert err["message"] == "No draft version found for channel 'ch-1'"


async def test_channel_lifecycle_takes_effect_at_once(client, kernel):
    await call(client, "POST", WF, workflow(), status=201)
    await call(client, "PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    await call(client, "POST", CH, channel(), status=201)
    assert "orders" not in kernel.runtime.snapshot.channels
    active = (await call(client, "PATCH", f"{CH}/ch-1/status", {"status": "active"}, status=200))["data"]
    assert active["status"] == "active"
    compiled = kernel.runtime.snapshot.channels["orders"]
    assert [wf.workflow_id for wf in compiled.workflows] == ["wf-1"]
    assert kernel.runtime.snapshot.routes.match("POST", ["orders"]) == ("orders", {})

    draft = (await call(client, "POST", f"{CH}/ch-1/versions", status=201))["data"]
    assert (draft["version"], draft["status"]) == (2, "draft")
    await error(client, "POST", f"{CH}/ch-1/versions", status=409, code="CONFLICT")
    await call(client, "PUT", f"{CH}/ch-1", {"route_pattern": "/v2/orders"}, status=200)
    await call(client, "PATCH", f"{CH}/ch-1/status", {"status": "active"}, status=200)
    assert kernel.runtime.snapshot.routes.match("POST", ["v2", "orders"]) == ("orders", {})
    versions = await call(client, "GET", f"{CH}/ch-1/versions", status=200)
    assert [(v["version"], v["status"]) for v in versions["data"]] == [(2, "active"), (1, "archived")]

    archived = (await call(client, "PATCH", f"{CH}/ch-1/status", {"status": "archived"}, status=200))["data"]
    assert (archived["version"], archived["status"]) == (2, "archived")
    assert "orders" not in kernel.runtime.snapshot.channels
    await call(client, "DELETE", f"{CH}/ch-1", status=204)
    await error(client, "DELETE", f"{CH}/ch-1", status=404, code="NOT_FOUND")
    assert [a[:2] for a in await audit(kernel) if a[1] == "channel"] == [
        ("create", "channel"), ("status_active", "channel"), ("create_version", "channel"), ("update", "channel"),
        ("status_active", "channel"), ("status_archived", "channel"), ("delete", "channel")]


async def test_channel_status_errors(client):
    await call(client, "POST", CH, channel(), status=201)
    async with Unchanged(client):
        err = await error(client, "PATCH", f"{CH}/ch-1/status", {"status": "archived"}, status=400, code="BAD_REQUEST")
        assert err["message"] == "No active version found for channel 'ch-1'"
        err = await error(client, "PATCH", f"{CH}/ch-1/status", {"status": "draft"}, status=400, code="BAD_REQUEST")
        err = await error(client, "PATCH", f"{CH}/ch-1/status", {"status": "active", "rollout_percentage": 50},
                          status=400, code="VALIDATION_ERROR")
        assert err["details"][0]["path"] == "body.rollout_percentage"
