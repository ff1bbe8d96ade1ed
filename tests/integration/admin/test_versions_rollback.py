"""Version history, a new draft from any version, and one-call rollback (workflows and channels)."""
from __future__ import annotations

import orjson

from orion_kernel.storage import WORKFLOW
from tests.integration.admin.conftest import CH, WF, channel, task, workflow


async def versions(admin, base, entity_id):
    out = await admin.call("GET", f"{base}/{entity_id}/versions", status=200)
    return [(v["version"], v["status"], v.get("rollout_percentage")) for v in out["data"]]


async def three_versions(admin):
    """wf-1: v1 archived (writes 1), v2 active at 90 (writes 2), v3 active at 10 (writes 3)."""
    await admin.active_workflow(workflow("wf-1", task("n", 1)))
    for value, pct in ((2, 100), (3, 10)):
        await admin.call("POST", f"{WF}/wf-1/versions", status=201)
        await admin.call("PUT", f"{WF}/wf-1", {"tasks": [task("n", value)]}, status=200)
        await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active", "rollout_percentage": pct}, status=200)
    assert await versions(admin, WF, "wf-1") == [(3, "active", 10), (2, "active", 90), (1, "archived", 100)]


def loaded(admin, name="orders"):
    return [(wf.version, wf.bucket) for wf in admin.kernel.runtime.snapshot.channels[name].workflows]


async def test_new_version_from_an_earlier_version(admin):
    await three_versions(admin)
    await admin.call("PATCH", f"{WF}/wf-1/rollout", {"rollout_percentage": 100}, status=200)
    draft = (await admin.call("POST", f"{WF}/wf-1/versions", {"from_version": 1}, status=201))["data"]
    assert (draft["version"], draft["status"], draft["rollout_percentage"], draft["tasks"]) == (4, "draft", 100, [task("n", 1)])
    entry = (await admin.audit())[-1]
    assert (entry["action"], orjson.loads(entry["details"])) == (
        "create_version", {"from_version": 1, "after": [{"version": 4, "status": "draft", "rollout_percentage": 100}]})


async def test_new_version_without_body_or_with_null_copies_the_latest(admin):
    await admin.active_workflow(workflow("wf-1"))
    assert (await admin.call("POST", f"{WF}/wf-1/versions", status=201))["data"]["version"] == 2
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    draft = (await admin.call("POST", f"{WF}/wf-1/versions", {"from_version": None}, status=201))["data"]
    assert draft["version"] == 3


async def test_new_version_errors_change_nothing(admin):
    await admin.active_workflow(workflow("wf-1"))
    async with admin.unchanged():
        err = await admin.error("POST", f"{WF}/wf-1/versions", {"from_version": 7}, status=404, code="NOT_FOUND")
        assert err["message"] == "Workflow 'wf-1' has no version 7; its versions are 1"
        err = await admin.error("POST", f"{WF}/wf-1/versions", {"from_version": "1"}, status=400, code="VALIDATION_ERROR")
        assert err["details"][0]["path"] == "body.from_version"
        err = await admin.error("POST", f"{WF}/wf-1/versions", {"version": 1}, status=400, code="VALIDATION_ERROR")
        assert err["details"][0]["path"] == "body.version"
        await admin.error("POST", f"{WF}/wf-1/versions", [1], status=400, code="VALIDATION_ERROR")
        await admin.error("POST", f"{WF}/wf-1/versions", status=415, code="UNSUPPORTED_MEDIA_TYPE", data=b"{}")
        await admin.error("POST", f"{WF}/nope/versions", {"from_version": 1}, status=404, code="NOT_FOUND")


async def test_rollback_during_a_canary_restores_an_archived_version_at_once(admin):
    await three_versions(admin)
    await admin.active_channel(channel())
    assert loaded(admin) == [(3, (0, 10)), (2, (10, 100))]

    out = await admin.call("POST", f"{WF}/wf-1/rollback", {"version": 1}, status=200)
    row = out["data"]
    assert (row["version"], row["status"], row["rollout_percentage"], row["tasks"]) == (4, "active", 100, [task("n", 1)])
    assert await versions(admin, WF, "wf-1") == [(4, "active", 100), (3, "archived", 10), (2, "archived", 90), (1, "archived", 100)]
    assert loaded(admin) == [(4, None)]  # live at once, ungated
    reply = await admin.call("POST", "/api/v1/data/orders", {"data": {}}, status=200)
    assert reply["data"] == {"n": 1}

    entry = (await admin.audit())[-1]
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("rollback", "workflow", "wf-1")
    assert orjson.loads(entry["details"]) == {
        "from_version": 1,
        "before": [{"version": 3, "status": "active", "rollout_percentage": 10},
                   {"version": 2, "status": "active", "rollout_percentage": 90}],
        "after": [{"version": 4, "status": "active", "rollout_percentage": 100},
                  {"version": 3, "status": "archived", "rollout_percentage": 10},
                  {"version": 2, "status": "archived", "rollout_percentage": 90}],
    }


async def test_rollback_to_an_active_version_ends_the_canary(admin):
    await three_versions(admin)
    row = (await admin.call("POST", f"{WF}/wf-1/rollback", {"version": 2}, status=200))["data"]
    assert (row["version"], row["tasks"]) == (4, [task("n", 2)])
    assert [v[:2] for v in await versions(admin, WF, "wf-1")] == [(4, "active"), (3, "archived"), (2, "archived"), (1, "archived")]


async def test_rollback_with_a_pending_draft_needs_discard_draft(admin):
    await three_versions(admin)
    await admin.call("POST", f"{WF}/wf-1/versions", status=201)
    await admin.call("PUT", f"{WF}/wf-1", {"name": "Work in progress"}, status=200)
    async with admin.unchanged():
        err = await admin.error("POST", f"{WF}/wf-1/rollback", {"version": 1}, status=409, code="CONFLICT")
    assert "draft (version 4)" in err["message"] and '"discard_draft": true' in err["message"]

    row = (await admin.call("POST", f"{WF}/wf-1/rollback", {"version": 1, "discard_draft": True}, status=200))["data"]
    assert (row["version"], row["status"], row["name"], row["tasks"]) == (4, "active", "Wf-1", [task("n", 1)])
    assert [v[:2] for v in await versions(admin, WF, "wf-1")] == [(4, "active"), (3, "archived"), (2, "archived"), (1, "archived")]


async def test_rollback_errors_change_nothing(admin):
    await three_versions(admin)
    await admin.call("POST", f"{WF}/wf-1/versions", status=201)
    async with admin.unchanged():
        await admin.error("POST", f"{WF}/wf-1/rollback", {"version": 9}, status=404, code="NOT_FOUND")
        err = await admin.error("POST", f"{WF}/wf-1/rollback", {"version": 4, "discard_draft": True}, status=400, code="BAD_REQUEST")
        assert "is the draft and never ran" in err["message"]
        await admin.error("POST", f"{WF}/nope/rollback", {"version": 1}, status=404, code="NOT_FOUND")
        for body, path in (({}, "body.version"), ({"version": 1.0}, "body.version"), ({"version": 1, "discard_draft": "yes"}, "body.discard_draft"),
                           ({"version": 1, "force": True}, "body.force")):
            err = await admin.error("POST", f"{WF}/wf-1/rollback", body, status=400, code="VALIDATION_ERROR")
            assert [d["path"] for d in err["details"]] == [path]


async def test_rollback_to_a_version_that_no_longer_validates_is_refused(admin):
    await admin.active_workflow(workflow("wf-1"))
    async with admin.kernel.storage.transaction() as tx:  # a version saved while a plugin was installed
        v1 = (await tx.versions(WORKFLOW, "wf-1"))[0]
        await tx.update_version(WORKFLOW, "wf-1", 1, {"status": "archived"})
        await tx.insert_version(WORKFLOW, {**v1, "version": 2, "status": "active",
                                           "tasks": [{"id": "x", "name": "X", "function": {"name": "gone", "input": {}}}]})
    await admin.call("POST", f"{WF}/wf-1/versions", {"from_version": 1}, status=201)
    await admin.call("PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200)
    async with admin.unchanged():
        err = await admin.error("POST", f"{WF}/wf-1/rollback", {"version": 2, "discard_draft": False}, status=400, code="VALIDATION_ERROR")
    assert err["message"].startswith("Workflow 'wf-1' version 2 cannot be restored: Unknown function 'gone'")
    assert err["details"][0]["path"] == "tasks[0].function.name"


async def test_channel_rollback_and_new_version_from_an_earlier_version(admin):
    await admin.active_workflow(workflow("wf-1", task("n", 1)))
    await admin.active_workflow(workflow("wf-2", task("n", 2)))
    await admin.active_channel(channel())
    await admin.call("POST", f"{CH}/ch-1/versions", status=201)
    await admin.call("PUT", f"{CH}/ch-1", {"workflow_id": "wf-2"}, status=200)
    await admin.call("PATCH", f"{CH}/ch-1/status", {"status": "active"}, status=200)
    assert (await admin.call("POST", "/api/v1/data/orders", {"data": {}}, status=200))["data"] == {"n": 2}

    row = (await admin.call("POST", f"{CH}/ch-1/rollback", {"version": 1}, status=200))["data"]
    assert (row["version"], row["status"], row["workflow_id"]) == (3, "active", "wf-1")
    assert "rollout_percentage" not in row
    assert await versions(admin, CH, "ch-1") == [(3, "active", None), (2, "archived", None), (1, "archived", None)]
    assert (await admin.call("POST", "/api/v1/data/orders", {"data": {}}, status=200))["data"] == {"n": 1}

    draft = (await admin.call("POST", f"{CH}/ch-1/versions", {"from_version": 2}, status=201))["data"]
    assert (draft["version"], draft["status"], draft["workflow_id"]) == (4, "draft", "wf-2")
    async with admin.unchanged():
        await admin.error("POST", f"{CH}/ch-1/rollback", {"version": 2}, status=409, code="CONFLICT")
        await admin.error("POST", f"{CH}/ch-1/rollback", {"version": 5}, status=404, code="NOT_FOUND")
    assert [e["action"] for e in await admin.audit()][-2:] == ["rollback", "create_version"]

    row = (await admin.call("POST", f"{CH}/ch-1/rollback", {"version": 2, "discard_draft": True}, status=200))["data"]
    assert (row["version"], row["status"], row["workflow_id"]) == (4, "active", "wf-2")
    assert await versions(admin, CH, "ch-1") == [(4, "active", None), (3, "archived", None), (2, "archived", None), (1, "archived", None)]
    assert (await admin.call("POST", "/api/v1/data/orders", {"data": {}}, status=200))["data"] == {"n": 2}

