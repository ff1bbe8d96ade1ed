"""Lifecycle of workflows and channels on real (in-memory) SQLite storage."""
from __future__ import annotations

import pytest

from orion_kernel import ApiError
from orion_kernel.config import load_config
from orion_kernel.plugins import load_plugins
from orion_kernel.registry import Registry
from orion_kernel.storage import CHANNEL, WORKFLOW

PLUGINS = load_plugins()


def task(task_id="t1", function="map"):
    inputs = {"map": {"mappings": [{"path": "data.x", "logic": 1}]}, "log": {"message": "hi"}}
    return {"id": task_id, "name": task_id.upper(), "function": {"name": function, "input": inputs[function]}}


def workflow(workflow_id="wf-1", **fields):
    return {"workflow_id": workflow_id, "name": "Orders", "tasks": [task()], **fields}


def channel(channel_id="ch-1", name="orders", **fields):
    return {"channel_id": channel_id, "name": name, "workflow_id": "wf-1", **fields}


@pytest.fixture
async def storage():
    config = load_config(None, env={"ORION_STORAGE__URL": "sqlite::memory:"})
    backend = PLUGINS.storage_backend(config["storage"]["url"], config["storage"])
    await backend.open()
    await backend.migrate()
    yield backend
    await backend.close()


@pytest.fixture
def reloads():
    return []


@pytest.fixture
def registry(storage, reloads):
    async def reload():
        reloads.append(await storage.revision())

    return Registry(storage, PLUGINS.functions, PLUGINS.expression_engine, reload)


async def versions(storage, kind, entity_id):
    rows, _ = await storage.list_versions(kind, entity_id, limit=100, offset=0)
    return [(row["version"], row["status"], row.get("rollout_percentage")) for row in rows]


async def audit(storage):
    rows, _ = await storage.list_audit(filters={}, limit=100, offset=0)
    return [(row["action"], row["resource_type"], row["resource_id"], row["principal"]) for row in reversed(rows)]


async def raises(code, status, awaitable):
    with pytest.raises(ApiError) as info:
        await awaitable
    assert (info.value.code, info.value.status) == (code, status), info.value.message
    return info.value


# --- create / update / versions --------------------------------------------------------------


async def test_create_stores_a_draft_v1_and_audits_without_reloading(registry, storage, reloads):
    row = await registry.create(WORKFLOW, workflow(), principal="abcd1234...")
    assert row["status"] == "draft" and row["version"] == 1 and row["rollout_percentage"] == 100
    assert row["created_at"] == row["updated_at"]
    assert await storage.get_latest(WORKFLOW, "wf-1") == row
    assert await audit(storage) == [("create", "workflow", "wf-1", "abcd1234...")]
    assert reloads == [] and await storage.revision() == 0


async def test_create_generates_an_id(registry, storage):
    body = workflow()
    del body["workflow_id"]
    row = await registry.create(WORKFLOW, body)
    assert len(row["workflow_id"]) == 36
    assert await storage.get_latest(WORKFLOW, row["workflow_id"]) == row


async def test_invalid_create_stores_nothing(registry, storage):
    err = await raises("VALIDATION_ERROR", 400, registry.create(WORKFLOW, workflow(name="", tasks=[])))
    assert [d.path for d in err.details] == ["name", "tasks"]
    assert err.message.startswith("Invalid workflow has 2 errors: name: Name cannot be empty")
    assert (await storage.list_latest(WORKFLOW, filters={}, sort_by="name", descending=False, limit=10, offset=0))[1] == 0
    assert await audit(storage) == []


async def test_duplicate_id_is_a_conflict(registry, storage):
    first = await registry.create(WORKFLOW, workflow())
    err = await raises("CONFLICT", 409, registry.create(WORKFLOW, workflow(name="Other")))
    assert err.message == "Workflow 'wf-1' already exists"
    assert await storage.get_latest(WORKFLOW, "wf-1") == first


async def test_update_changes_the_draft_only(registry, storage):
    created = await registry.create(WORKFLOW, workflow(description="d"))
    updated = await registry.update_draft(WORKFLOW, "wf-1", {"name": "Renamed", "description": None})
    assert updated["name"] == "Renamed" and updated["description"] == "d"
    assert updated["created_at"] == created["created_at"] and updated["updated_at"] >= created["updated_at"]
    assert await storage.get_latest(WORKFLOW, "wf-1") == updated
    assert [a[0] for a in await audit(storage)] == ["create", "update"]


async def test_update_errors_leave_storage_unchanged(registry, storage):
    await raises("NOT_FOUND", 404, registry.update_draft(WORKFLOW, "nope", {"name": "x"}))
    created = await registry.create(WORKFLOW, workflow())
    err = await raises("VALIDATION_ERROR", 400, registry.update_draft(WORKFLOW, "wf-1", {"tasks": [task(function="log"), task(function="log")]}))
    assert err.details[0].message.startswith("Duplicate task id 't1'")
    await registry.change_status(WORKFLOW, "wf-1", "active")
    err = await raises("BAD_REQUEST", 400, registry.update_draft(WORKFLOW, "wf-1", {"name": "x"}))
    assert err.message == "No draft version found for workflow 'wf-1'"
    assert (await storage.get_latest(WORKFLOW, "wf-1"))["name"] == created["name"]


async def test_new_version_copies_the_latest_into_a_draft(registry, storage, reloads):
    await registry.create(WORKFLOW, workflow(tags=["x"]))
    await raises("CONFLICT", 409, registry.new_version(WORKFLOW, "wf-1"))
    await registry.change_status(WORKFLOW, "wf-1", "active")
    reloads.clear()
    draft = await registry.new_version(WORKFLOW, "wf-1")
    assert (draft["version"], draft["status"], draft["rollout_percentage"], draft["tags"]) == (2, "draft", 100, ["x"])
    assert await versions(storage, WORKFLOW, "wf-1") == [(2, "draft", 100), (1, "active", 100)]
    err = await raises("CONFLICT", 409, registry.new_version(WORKFLOW, "wf-1"))
    assert err.message == "Workflow 'wf-1' already has a draft version"
    await raises("NOT_FOUND", 404, registry.new_version(WORKFLOW, "nope"))
    assert reloads == []


# --- activation, archive, rollout -------------------------------------------------------------


async def make_versions(registry, count):
    """v1..v<count>, each activated at 100 except that the last one stays a draft."""
    await registry.create(WORKFLOW, workflow())
    for _ in range(count - 1):
        await registry.change_status(WORKFLOW, "wf-1", "active")
        await registry.new_version(WORKFLOW, "wf-1")


async def test_activation_at_100_archives_the_previous_versions(registry, storage, reloads):
    await make_versions(registry, 2)
    reloads.clear()
    revision = await storage.revision()
    row = await registry.change_status(WORKFLOW, "wf-1", "active")
    assert (row["version"], row["status"], row["rollout_percentage"]) == (2, "active", 100)
    assert await versions(storage, WORKFLOW, "wf-1") == [(2, "active", 100), (1, "archived", 100)]
    assert await storage.revision() == revision + 1
    assert reloads == [revision + 1]  # reloaded after the commit
    assert (await audit(storage))[-1] == ("status_active", "workflow", "wf-1", "anonymous")


async def test_canary_activation_splits_with_the_newest_previous_version(registry, storage):
    await make_versions(registry, 2)
    await registry.change_status(WORKFLOW, "wf-1", "active", 10)
    assert await versions(storage, WORKFLOW, "wf-1") == [(2, "active", 10), (1, "active", 90)]
    await registry.new_version(WORKFLOW, "wf-1")
    await registry.change_status(WORKFLOW, "wf-1", "active", 0)
    assert await versions(storage, WORKFLOW, "wf-1") == [(3, "active", 0), (2, "active", 100), (1, "archived", 90)]


async def test_canary_activation_with_nothing_active(registry, storage):
    await registry.create(WORKFLOW, workflow())
    row = await registry.change_status(WORKFLOW, "wf-1", "active", 25)
    assert row["rollout_percentage"] == 25


async def test_status_errors(registry, storage, reloads):
    err = await raises("BAD_REQUEST", 400, registry.change_status(WORKFLOW, "wf-1", "draft"))
    assert err.message == "Invalid status transition to 'draft'. Use 'active' or 'archived'"
    await raises("NOT_FOUND", 404, registry.change_status(WORKFLOW, "nope", "active"))
    await registry.create(WORKFLOW, workflow())
    for pct in (-1, 101):
        err = await raises("BAD_REQUEST", 400, registry.change_status(WORKFLOW, "wf-1", "active", pct))
        assert err.message == "rollout_percentage must be between 0 and 100"
    err = await raises("BAD_REQUEST", 400, registry.change_status(WORKFLOW, "wf-1", "archived"))
    assert err.message == "No active version found for workflow 'wf-1'"
    await registry.change_status(WORKFLOW, "wf-1", "active")
    err = await raises("BAD_REQUEST", 400, registry.change_status(WORKFLOW, "wf-1", "active"))
    assert err.message == "No draft version found for workflow 'wf-1'"
    assert await versions(storage, WORKFLOW, "wf-1") == [(1, "active", 100)]
    assert len(reloads) == 1 and await storage.revision() == 1


async def test_activation_revalidates_the_draft(registry, storage, reloads):
    await registry.create(WORKFLOW, workflow(tasks=[task(function="log")]))
    without_log = {name: fn for name, fn in PLUGINS.functions.items() if name != "log"}
    uninstalled = Registry(storage, without_log, PLUGINS.expression_engine, registry.reload)
    err = await raises("VALIDATION_ERROR", 400, uninstalled.change_status(WORKFLOW, "wf-1", "active"))
    assert err.message.startswith("Workflow 'wf-1' version 1 cannot be activated: Unknown function 'log'")
    assert [(d.path, d.code) for d in err.details] == [("tasks[0].function.name", "INVALID")]
    assert await versions(storage, WORKFLOW, "wf-1") == [(1, "draft", 100)]
    assert reloads == [] and await storage.revision() == 0


async def test_archive_takes_every_active_version_out(registry, storage):
    await make_versions(registry, 2)
    await registry.change_status(WORKFLOW, "wf-1", "active", 30)
    await registry.new_version(WORKFLOW, "wf-1")
    row = await registry.change_status(WORKFLOW, "wf-1", "archived")
    assert (row["version"], row["status"]) == (2, "archived")
    assert await versions(storage, WORKFLOW, "wf-1") == [(3, "draft", 100), (2, "archived", 30), (1, "archived", 70)]
    assert (await audit(storage))[-1][0] == "status_archived"


async def test_rollout_moves_the_split_and_100_completes_it(registry, storage, reloads):
    await make_versions(registry, 2)
    await registry.change_status(WORKFLOW, "wf-1", "active", 10)
    reloads.clear()
    row = await registry.change_rollout("wf-1", 60)
    assert (row["version"], row["rollout_percentage"]) == (2, 60)
    assert await versions(storage, WORKFLOW, "wf-1") == [(2, "active", 60), (1, "active", 40)]
    row = await registry.change_rollout("wf-1", 100)
    assert (row["version"], row["status"], row["rollout_percentage"]) == (2, "active", 100)
    assert await versions(storage, WORKFLOW, "wf-1") == [(2, "active", 100), (1, "archived", 40)]
    assert len(reloads) == 2
    assert [a[0] for a in await audit(storage)][-2:] == ["update_rollout", "update_rollout"]


async def test_rollout_errors(registry, storage, reloads):
    await raises("NOT_FOUND", 404, registry.change_rollout("nope", 50))
    await registry.create(WORKFLOW, workflow())
    for pct in (0, 101):
        err = await raises("BAD_REQUEST", 400, registry.change_rollout("wf-1", pct))
        assert err.message == "rollout_percentage must be between 1 and 100"
    err = await raises("BAD_REQUEST", 400, registry.change_rollout("wf-1", 50))
    assert err.message == "No active versions found for workflow 'wf-1'"
    await registry.change_status(WORKFLOW, "wf-1", "active")
    reloads.clear()
    err = await raises("BAD_REQUEST", 400, registry.change_rollout("wf-1", 50))
    assert err.message == "Cannot set partial rollout with only one active version"
    row = await registry.change_rollout("wf-1", 100)
    assert (row["version"], row["rollout_percentage"]) == (1, 100)
    assert reloads == [] and await storage.revision() == 1


# --- delete -----------------------------------------------------------------------------------


async def test_delete_removes_every_version_and_reloads(registry, storage, reloads):
    await make_versions(registry, 2)
    reloads.clear()
    revision = await storage.revision()
    await registry.delete(WORKFLOW, "wf-1")
    assert await storage.get_latest(WORKFLOW, "wf-1") is None
    assert reloads == [revision + 1]  # bumped in the transaction, reloaded after the commit
    assert (await audit(storage))[-1] == ("delete", "workflow", "wf-1", "anonymous")
    err = await raises("NOT_FOUND", 404, registry.delete(WORKFLOW, "wf-1"))
    assert err.message == "Workflow 'wf-1' not found"


async def test_get_unknown_is_404(registry):
    err = await raises("NOT_FOUND", 404, registry.get(CHANNEL, "nope"))
    assert err.message == "Channel 'nope' not found"


# --- channels ---------------------------------------------------------------------------------


async def test_channel_lifecycle(registry, storage, reloads):
    row = await registry.create(CHANNEL, channel())
    assert (row["version"], row["status"], row["methods"], row["route_pattern"]) == (1, "draft", ["POST"], "/orders")
    assert "rollout_percentage" not in row
    assert await storage.get_latest(CHANNEL, "ch-1") == row
    active = await registry.change_status(CHANNEL, "ch-1", "active", 10)  # rollout is meaningless for channels
    assert active["status"] == "active"
    await registry.new_version(CHANNEL, "ch-1")
    updated = await registry.update_draft(CHANNEL, "ch-1", {"route_pattern": "/v2/orders"})
    assert updated["version"] == 2
    await registry.change_status(CHANNEL, "ch-1", "active")
    assert await versions(storage, CHANNEL, "ch-1") == [(2, "active", None), (1, "archived", None)]
    await registry.change_status(CHANNEL, "ch-1", "archived")
    assert await versions(storage, CHANNEL, "ch-1") == [(2, "archived", None), (1, "archived", None)]
    assert [a[0] for a in await audit(storage)] == [
        "create", "status_active", "create_version", "update", "status_active", "status_archived"]
    assert len(reloads) == 3


async def test_channel_names_are_unique(registry, storage):
    await registry.create(CHANNEL, channel())
    err = await raises("CONFLICT", 409, registry.create(CHANNEL, channel("ch-2")))
    assert err.message == "Channel with name 'orders' already exists"
    await registry.create(CHANNEL, channel("ch-2", name="payments"))
    await raises("CONFLICT", 409, registry.update_draft(CHANNEL, "ch-2", {"name": "orders"}))
    assert (await storage.get_latest(CHANNEL, "ch-2"))["name"] == "payments"
    renamed = await registry.update_draft(CHANNEL, "ch-1", {"name": "orders", "priority": 3})
    assert renamed["priority"] == 3  # keeping its own name is fine


async def test_channel_validation_message_for_missing_protocol_fields(registry, storage):
    err = await raises("VALIDATION_ERROR", 400, registry.create(CHANNEL, channel(protocol="kafka")))
    assert err.message == 'Channel with protocol="kafka" is missing 1 required field(s)'
    assert await storage.get_latest(CHANNEL, "ch-1") is None


# --- side effects -----------------------------------------------------------------------------


async def test_a_failing_audit_write_does_not_fail_the_mutation(registry, storage, monkeypatch, caplog):
    async def broken(row):
        raise RuntimeError("disk full")

    monkeypatch.setattr(storage, "insert_audit", broken)
    row = await registry.create(WORKFLOW, workflow())
    assert await storage.get_latest(WORKFLOW, "wf-1") == row
    assert "audit entry create workflow 'wf-1' could not be written" in caplog.text


async def test_a_failing_reload_is_reported_after_the_commit(storage):
    async def reload():
        raise RuntimeError("reload failed")

    registry = Registry(storage, PLUGINS.functions, PLUGINS.expression_engine, reload)
    await registry.create(WORKFLOW, workflow())
    with pytest.raises(RuntimeError, match="reload failed"):
        await registry.change_status(WORKFLOW, "wf-1", "active")
    assert (await storage.get_latest(WORKFLOW, "wf-1"))["status"] == "active"
