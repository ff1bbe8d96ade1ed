"""Bulk import (dry run and all-or-nothing real import) and export, for workflows and channels."""
from __future__ import annotations

import orjson
import pytest

from tests.integration.admin.conftest import CH, WF, channel, task, workflow


async def test_workflow_import_creates_drafts_and_is_audited(admin):
    items = [workflow("a"), {"name": "No Id", "tasks": [task()]}]
    out = await admin.call("POST", f"{WF}/import", items, status=200)
    assert (out["imported"], out["failed"], out["errors"], out["ids"][0]) == (2, 0, [], "a")
    for workflow_id in out["ids"]:
        row = (await admin.call("GET", f"{WF}/{workflow_id}", status=200))["data"]
        assert (row["version"], row["status"]) == (1, "draft")
    assert admin.kernel.runtime.snapshot.workflows_count == 0  # drafts: no reload needed
    entry = (await admin.audit())[-1]
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("import", "workflow", "2 imported")
    assert orjson.loads(entry["details"]) == {"ids": out["ids"]}


async def test_a_failing_item_means_nothing_is_written(admin):
    await admin.call("POST", WF, workflow("taken"), status=201)
    items = [workflow("fresh"), workflow("taken"), workflow("bad", name=""), workflow("fresh"), "oops"]
    async with admin.unchanged():
        out = await admin.call("POST", f"{WF}/import", items, status=200)
    assert (out["imported"], out["failed"], out["ids"]) == (0, 4, [])
    assert [(e["index"], e["error"]) for e in out["errors"]] == [
        (1, "Workflow 'taken' already exists"),
        (2, "Invalid workflow: Name cannot be empty"),
        (3, "'fresh' appears more than once in this batch (first at index 0)"),
        (4, "Invalid workflow: invalid type: string, expected a JSON object (a workflow definition)"),
    ]
    assert out["errors"][1]["details"] == [{"path": "name", "code": "INVALID", "message": "Name cannot be empty", "got": ""}]
    assert "details" not in out["errors"][0]


async def test_dry_run_reports_without_writing(admin):
    await admin.call("POST", WF, workflow("taken"), status=201)
    items = [workflow("fresh"), workflow("taken"), workflow("fresh")]
    async with admin.unchanged():
        out = await admin.call("POST", f"{WF}/import?dry_run=true", items, status=200)
        assert out == {"dry_run": True, "would_create": 1, "would_fail": 2, "imported": 0, "failed": 2, "errors": [
            {"index": 1, "error": "Workflow 'taken' already exists"},
            {"index": 2, "error": "'fresh' appears more than once in this batch (first at index 0)"},
        ]}
        out = await admin.call("POST", f"{WF}/import?dry_run=TRUE", [workflow("fresh")], status=200)
        assert (out["would_create"], out["would_fail"]) == (1, 0)
    out = await admin.call("POST", f"{WF}/import?dry_run=false", [workflow("fresh")], status=200)
    assert out["imported"] == 1


async def test_channel_import_checks_ids_and_names(admin):
    await admin.call("POST", CH, channel("ch-1", "orders"), status=201)
    items = [channel("ch-2", "orders"), channel("ch-3", "refunds"), channel("ch-4", "refunds"),
             channel("ch-5", "x", protocol="rest"), channel("ch-6", "fine")]
    async with admin.unchanged():
        out = await admin.call("POST", f"{CH}/import?dry_run=true", items, status=200)
    assert (out["would_create"], out["would_fail"]) == (2, 3)
    assert [(e["index"], e["error"]) for e in out["errors"]] == [
        (0, "Channel with name 'orders' already exists"),
        (2, "Channel name 'refunds' appears more than once in this batch (first at index 1)"),
        (3, 'Channel with protocol="rest" is missing 2 required field(s)'),
    ]
    assert [d["path"] for d in out["errors"][2]["details"]] == ["channel.methods", "channel.route_pattern"]
    out = await admin.call("POST", f"{CH}/import", [items[1], items[4]], status=200)
    assert (out["imported"], out["ids"]) == (2, ["ch-3", "ch-6"])
    assert [e["action"] for e in await admin.audit()] == ["create", "import"]


async def test_export_then_import_round_trips(admin, make_admin, tmp_path):
    await admin.active_workflow(workflow("b", priority=1, tags=["x"], rollout_key={"header": "x-user"}))
    await admin.call("POST", WF, workflow("a", priority=1), status=201)
    await admin.call("POST", WF, workflow("c", priority=5), status=201)
    await admin.active_channel(channel("ch-1", "orders", workflow_id="b"))
    exported = await admin.call("GET", f"{WF}/export", status=200)
    assert set(exported) == {"data"}
    assert [w["workflow_id"] for w in exported["data"]] == ["c", "a", "b"]  # priority desc, then name
    assert [w["workflow_id"] for w in (await admin.call("GET", f"{WF}/export?status=active", status=200))["data"]] == ["b"]
    assert [w["workflow_id"] for w in (await admin.call("GET", f"{WF}/export?tag=x", status=200))["data"]] == ["b"]
    channels = (await admin.call("GET", f"{CH}/export?protocol=http", status=200))["data"]
    assert [c["channel_id"] for c in channels] == ["ch-1"]
    assert (await admin.call("GET", f"{CH}/export?status=draft", status=200))["data"] == []

    (tmp_path / "second").mkdir()
    other = await make_admin(config={"storage": {"url": f"sqlite:{tmp_path / 'second' / 'orion.db'}"}})
    assert (await other.call("POST", f"{WF}/import", exported["data"], status=200))["imported"] == 3
    assert (await other.call("POST", f"{CH}/import", channels, status=200))["imported"] == 1
    copied = (await other.call("GET", f"{WF}/b", status=200))["data"]
    original = next(w for w in exported["data"] if w["workflow_id"] == "b")
    content = ("name", "description", "priority", "condition", "tasks", "tags", "continue_on_error", "channel", "rollout_key")
    assert {k: copied[k] for k in content} == {k: original[k] for k in content}
    assert (copied["version"], copied["status"]) == (1, "draft")


@pytest.mark.parametrize("base", [WF, CH])
async def test_bad_import_requests(admin, base):
    async with admin.unchanged():
        err = await admin.error("POST", f"{base}/import", {"name": "x"}, status=400, code="VALIDATION_ERROR")
        assert err["details"][0]["path"] == "body"
        err = await admin.error("POST", f"{base}/import?dry_run=maybe", [], status=400, code="VALIDATION_ERROR")
        assert err["message"].startswith("Invalid query string: dry_run")
        assert err["details"][0]["path"] == "query.dry_run"
        err = await admin.error("POST", f"{base}/import", [{}] * 1001, status=400, code="VALIDATION_ERROR")
        assert "at most 1000" in err["message"]
        await admin.error("POST", f"{base}/import", status=415, code="UNSUPPORTED_MEDIA_TYPE", data=b"[]")
        out = await admin.call("POST", f"{base}/import", [], status=200)
        assert (out["imported"], out["failed"]) == (0, 0)
