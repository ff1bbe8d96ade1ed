"""``GET /audit-logs``: every admin change with who, what, when and a before/after summary."""
from __future__ import annotations

import re

import orjson

from tests.integration.admin.conftest import ADMIN, CH, WF, channel, task, workflow

AUDIT = f"{ADMIN}/audit-logs"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")


async def test_every_change_is_listed_newest_first_with_details(admin):
    await admin.call("POST", WF, workflow("wf-1", description="old"), status=201)
    await admin.call("PUT", f"{WF}/wf-1", {"description": "new", "tasks": [task("other")]}, status=200)
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    await admin.call("POST", f"{WF}/wf-1/versions", status=201)
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active", "rollout_percentage": 20}, status=200)
    await admin.call("PATCH", f"{WF}/wf-1/rollout", {"rollout_percentage": 60}, status=200)
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "archived"}, status=200)
    await admin.call("DELETE", f"{WF}/wf-1", status=204)

    out = await admin.call("GET", AUDIT, status=200)
    assert set(out) == {"data", "pagination"}
    assert out["pagination"] == {"offset": 0, "limit": 50, "total": 8}
    entries = list(reversed(out["data"]))
    assert [e["action"] for e in entries] == [
        "create", "update", "status_active", "create_version", "status_active", "update_rollout", "status_archived", "delete"]
    for entry in entries:
        assert set(entry) == {"id", "principal", "action", "resource_type", "resource_id", "details", "created_at"}
        assert (entry["principal"], entry["resource_type"], entry["resource_id"]) == ("anonymous", "workflow", "wf-1")
        assert TIMESTAMP.fullmatch(entry["created_at"])
    details = [orjson.loads(e["details"]) for e in entries]
    assert details[0] == {"name": "Wf-1", "after": [{"version": 1, "status": "draft", "rollout_percentage": 100}]}
    assert details[1] == {"version": 1, "changed": ["description", "tasks"], "before": {"description": "old"}, "after": {"description": "new"}}
    assert details[2] == {"before": [{"version": 1, "status": "draft", "rollout_percentage": 100}],
                          "after": [{"version": 1, "status": "active", "rollout_percentage": 100}]}
    assert details[4] == {"before": [{"version": 2, "status": "draft", "rollout_percentage": 100},
                                     {"version": 1, "status": "active", "rollout_percentage": 100}],
                          "after": [{"version": 2, "status": "active", "rollout_percentage": 20},
                                    {"version": 1, "status": "active", "rollout_percentage": 80}]}
    assert details[5]["after"] == [{"version": 2, "status": "active", "rollout_percentage": 60},
                                   {"version": 1, "status": "active", "rollout_percentage": 40}]
    assert [s["status"] for s in details[6]["after"]] == ["archived", "archived"]
    assert details[7] == {"before": [{"version": 2, "status": "archived", "rollout_percentage": 60},
                                     {"version": 1, "status": "archived", "rollout_percentage": 40}], "after": []}


async def test_filters_and_pagination(admin):
    await admin.call("POST", WF, workflow("a"), status=201)
    await admin.call("POST", WF, workflow("b"), status=201)
    await admin.call("POST", CH, channel("c"), status=201)
    await admin.call("PUT", f"{CH}/c", {"priority": 3}, status=200)

    async def ids(query):
        out = await admin.call("GET", f"{AUDIT}?{query}", status=200)
        return [(e["action"], e["resource_id"]) for e in out["data"]], out["pagination"]

    assert await ids("resource_type=workflow") == ([("create", "b"), ("create", "a")], {"offset": 0, "limit": 50, "total": 2})
    assert await ids("action=update") == ([("update", "c")], {"offset": 0, "limit": 50, "total": 1})
    assert await ids("resource_type=channel&action=create") == ([("create", "c")], {"offset": 0, "limit": 50, "total": 1})
    assert await ids("resource_id=a") == ([("create", "a")], {"offset": 0, "limit": 50, "total": 1})
    assert await ids("principal=someone") == ([], {"offset": 0, "limit": 50, "total": 0})
    assert await ids("limit=1&offset=1") == ([("create", "c")], {"offset": 1, "limit": 1, "total": 4})
    assert (await ids("limit=0&offset=-3"))[1] == {"offset": 0, "limit": 1, "total": 4}
    assert (await ids("limit=9999"))[1]["limit"] == 1000
    err = await admin.error("GET", f"{AUDIT}?limit=abc", status=400, code="VALIDATION_ERROR")
    assert err["message"].startswith("Invalid query string:")


async def test_errors_write_no_entry(admin):
    await admin.error("POST", WF, {"name": ""}, status=400, code="VALIDATION_ERROR")
    await admin.error("DELETE", f"{WF}/nope", status=404, code="NOT_FOUND")
    assert (await admin.call("GET", AUDIT, status=200))["data"] == []
