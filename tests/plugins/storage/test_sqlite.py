"""The SQLite storage backend against real database files (and ``:memory:``)."""
from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from orion_builtins.storage import sqlite as sqlite_plugin
from orion_builtins.storage.sqlite import SqliteStorage, database_path
from orion_kernel import StorageConflict, StorageError
from orion_kernel.plugins import load_plugins
from orion_kernel.storage import CHANNEL, WORKFLOW
from orion_kernel.sql import MIGRATIONS


def ts(n: int) -> str:
    return f"2026-04-16T11:50:{n:02d}.000000"


def workflow(wid: str, version: int = 1, **fields):
    return {"workflow_id": wid, "version": version, "name": fields.pop("name", wid), **fields}


def channel(cid: str, version: int = 1, **fields):
    row = {"channel_id": cid, "version": version, "name": fields.pop("name", cid), "channel_type": "sync", "protocol": "rest"}
    return {**row, **fields}


async def open_store(url: str, **options) -> SqliteStorage:
    store = SqliteStorage(url, options)
    await store.open()
    await store.migrate()
    return store


@pytest.fixture
async def store(tmp_path):
    store = await open_store(f"sqlite:///{tmp_path}/orion.db")
    yield store
    await store.close()


async def insert(store, kind, *rows):
    async with store.transaction() as tx:
        for row in rows:
            await tx.insert_version(kind, row)


# --- URLs and opening ----------------------------------------------------------------------------

@pytest.mark.parametrize("url, path", [
    ("sqlite:orion.db", "orion.db"),
    ("sqlite://orion.db", "orion.db"),
    ("sqlite:///abs/path.db", "/abs/path.db"),
    ("sqlite::memory:", ":memory:"),
    ("sqlite://:memory:", ":memory:"),
    ("file:x.db", "x.db"),
    ("sqlite:data/o.db?mode=rwc", "data/o.db"),
])
def test_database_path(url, path):
    assert database_path(url) == path


def test_url_without_a_file_is_refused():
    with pytest.raises(ValueError, match="names no database file"):
        database_path("sqlite:")


@pytest.mark.parametrize("url, claimed", [
    ("sqlite:orion.db", True), ("file:x.db", True), ("SQLITE::memory:", True),
    ("postgres://u@h/db", False), ("mysql://h/db", False), ("orion.db", False),
])
def test_hook_claims_sqlite_and_file_urls(url, claimed):
    backend = sqlite_plugin.orion_storage_backend_for_url(url=url, options={})
    assert isinstance(backend, SqliteStorage) is claimed
    assert sqlite_plugin.ORION_ESSENTIAL is True


def test_plugin_manager_picks_the_backend():
    plugins = load_plugins(modules=[sqlite_plugin], discover=False)
    assert plugins.storage_backend("sqlite::memory:", {}).name == "sqlite"


async def test_uncreatable_path_is_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/dir/orion.db"
    store = SqliteStorage(url, {})
    with pytest.raises(StorageError, match=r"cannot open SQLite database '.*/missing/dir/orion.db'.*directory exists"):
        await store.open()
    await store.close()


async def test_calls_before_open_are_clear_errors():
    store = SqliteStorage("sqlite:x.db", {})
    with pytest.raises(StorageError, match="is not open; call open"):
        await store.get_trace("t")
    assert await store.ping() is False


async def test_pragmas(store, tmp_path):
    assert await store.ping() is True
    conn = sqlite3.connect(tmp_path / "orion.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    custom = await open_store(f"sqlite:{tmp_path}/orion.db", busy_timeout_ms=1234)
    rows = await custom._writer.execute_fetchall("PRAGMA busy_timeout")
    fk = await custom._writer.execute_fetchall("PRAGMA foreign_keys")
    sync = await custom._writer.execute_fetchall("PRAGMA synchronous")
    assert (rows[0][0], fk[0][0], sync[0][0]) == (1234, 1, 1)  # synchronous 1 = NORMAL
    await custom.close()


# --- migrations ----------------------------------------------------------------------------------

async def test_migrations_from_empty_then_idempotent(tmp_path):
    store = SqliteStorage(f"sqlite:{tmp_path}/fresh.db", {})
    await store.open()
    pending = await store.pending_migrations()
    assert pending == [(1, "initial"), (2, "performance indexes"), (3, "task trace json"), (4, "workflow rollout key"),
                       (5, "async jobs")]
    assert await store.migrate() == pending
    assert await store.pending_migrations() == []
    assert await store.migrate() == []
    assert await store.revision() == 0
    await store.close()

    conn = sqlite3.connect(tmp_path / "fresh.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"workflows", "channels", "connectors", "traces", "trace_dlq", "audit_logs", "kernel_meta",
            "_orion_migrations", "current_workflows", "current_channels", "workflows_one_draft",
            "channels_one_draft", "idx_trace_dlq_next_retry_at", "idx_traces_status_channel_mode_created_at"} <= names
    columns = {r[1]: (r[2], r[3], r[4]) for r in conn.execute("PRAGMA table_info(workflows)")}
    assert columns["condition_json"] == ("TEXT", 1, "'true'")
    assert columns["channel"] == ("TEXT", 0, None)
    assert columns["rollout_key_json"] == ("TEXT", 0, None)
    assert "rollout_key_json" in {r[1] for r in conn.execute("PRAGMA table_info(current_workflows)")}
    assert "task_trace_json" in {r[1] for r in conn.execute("PRAGMA table_info(traces)")}
    # column defaults fill rows written by plain SQL too
    conn.execute("INSERT INTO traces (id) VALUES ('raw')")
    row = conn.execute("SELECT channel, mode, status, created_at FROM traces").fetchone()
    assert row[:3] == ("default", "sync", "pending") and len(row[3]) == len("2026-04-16T11:50:24.000000")
    conn.close()


async def test_concurrent_migrate_applies_each_migration_once(tmp_path):
    url = f"sqlite:{tmp_path}/race.db"
    a, b = SqliteStorage(url, {}), SqliteStorage(url, {})
    await a.open()
    await b.open()
    applied = await asyncio.gather(a.migrate(), b.migrate())
    assert sorted(len(x) for x in applied) == [0, len(MIGRATIONS)]
    await a.close()
    await b.close()


# --- round trips ---------------------------------------------------------------------------------

async def test_every_workflow_field_round_trips(store):
    row = {
        "workflow_id": "wf-1", "version": 1, "name": "Wörkflow ✓ 日本", "description": "line\nnext 'quoted' \"x\"",
        "priority": -7, "status": "draft", "rollout_percentage": 37,
        "condition": {"and": [{"==": [{"var": "a.b"}, 9007199254740993]}, {"in": ["x", [1, 2.5, None, True]]}]},
        "tasks": [{"id": "t", "function": {"name": "map", "input": {"big": 2**70, "neg": -(2**64), "nested": {"é": [[{}]]}}}}],
        "tags": ["ünï", "a%b", "c_d"], "continue_on_error": True, "channel": "orders",
        "rollout_key": {"header": "x-user-id"}, "created_at": ts(1), "updated_at": ts(2),
    }
    await insert(store, WORKFLOW, row)
    assert await store.get_latest(WORKFLOW, "wf-1") == row
    assert await store.get_latest(WORKFLOW, "nope") is None


@pytest.mark.parametrize("condition", [True, False, None, 0, "text", [1], {"var": "x"}])
async def test_condition_json_values_stay_verbatim(store, condition):
    await insert(store, WORKFLOW, workflow("w", condition=condition))
    assert (await store.get_latest(WORKFLOW, "w"))["condition"] == condition


async def test_every_channel_field_round_trips(store):
    row = {
        "channel_id": "ch", "version": 1, "name": "orders", "description": None, "channel_type": "async",
        "protocol": "kafka", "methods": None, "route_pattern": None, "topic": "orders.v1", "consumer_group": "g",
        "transport_config": {"brokers": ["a:9092"], "opts": {"n": 2**63 - 1}}, "workflow_id": "wf-1",
        "config": {"rate_limit": {"rps": 1.5}, "cors": {"allowed_origins": ["*"]}}, "status": "draft",
        "priority": 4, "created_at": ts(1), "updated_at": ts(1),
    }
    await insert(store, CHANNEL, row, {**row, "channel_id": "rest", "name": "rest", "methods": ["GET", "POST"],
                                       "route_pattern": "/orders/{id}", "topic": None, "consumer_group": None})
    assert await store.get_latest(CHANNEL, "ch") == row
    assert (await store.get_latest(CHANNEL, "rest"))["methods"] == ["GET", "POST"]


async def test_insert_fills_defaults(store):
    await insert(store, WORKFLOW, {"workflow_id": "w", "version": 1, "name": "w"})
    row = await store.get_latest(WORKFLOW, "w")
    assert (row["priority"], row["status"], row["rollout_percentage"], row["condition"], row["tasks"], row["tags"],
            row["continue_on_error"], row["description"], row["channel"]) == (0, "draft", 100, True, [], [], False, None, None)
    assert row["created_at"] == row["updated_at"] and "T" in row["created_at"]


async def test_missing_required_field_is_a_storage_error(store):
    with pytest.raises(StorageError, match="NOT NULL constraint failed: workflows.name"):
        await insert(store, WORKFLOW, {"workflow_id": "w", "version": 1})


# --- lifecycle rules -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind, make, noun", [(WORKFLOW, workflow, "workflow"), (CHANNEL, channel, "channel")])
async def test_one_draft_per_entity(store, kind, make, noun):
    await insert(store, kind, make("e", 1))
    with pytest.raises(StorageConflict, match=f"^Only one draft version allowed per {noun}$"):
        await insert(store, kind, make("e", 2))
    await insert(store, kind, make("other", 1))  # other entities have their own draft
    async with store.transaction() as tx:
        await tx.update_version(kind, "e", 1, {"status": "active"})
        await tx.insert_version(kind, make("e", 2))
    assert [r["version"] for r in await store.list_active(kind)] == [1]


async def test_duplicate_version_is_a_conflict(store):
    await insert(store, WORKFLOW, workflow("w", 1, status="archived"))
    with pytest.raises(StorageConflict, match="workflow 'w' version 1 already exists"):
        await insert(store, WORKFLOW, workflow("w", 1))


async def test_active_content_cannot_change_but_status_and_rollout_can(store):
    await insert(store, WORKFLOW, workflow("w", 1, status="active", tasks=[{"id": "a"}]))
    async with store.transaction() as tx:
        with pytest.raises(StorageConflict, match="^Cannot modify content of active workflows$"):
            await tx.update_version(WORKFLOW, "w", 1, {"tasks": []})
        await tx.update_version(WORKFLOW, "w", 1, {"rollout_percentage": 30})
    async with store.transaction() as tx:
        await tx.update_version(WORKFLOW, "w", 1, {"status": "archived", "updated_at": ts(59)})
    row = await store.get_latest(WORKFLOW, "w")
    assert (row["status"], row["rollout_percentage"], row["tasks"], row["updated_at"]) == ("archived", 30, [{"id": "a"}], ts(59))


async def test_update_refreshes_updated_at(store):
    await insert(store, CHANNEL, channel("c", created_at=ts(1), updated_at=ts(1)))
    async with store.transaction() as tx:
        await tx.update_version(CHANNEL, "c", 1, {"description": "now"})
    row = await store.get_latest(CHANNEL, "c")
    assert row["description"] == "now" and row["updated_at"] > ts(1) and row["created_at"] == ts(1)


async def test_update_of_missing_version_is_an_error(store):
    async with store.transaction() as tx:
        with pytest.raises(StorageError, match="workflow 'w' version 4 does not exist"):
            await tx.update_version(WORKFLOW, "w", 4, {"status": "active"})


async def test_transaction_rolls_back_on_exception(store):
    with pytest.raises(RuntimeError, match="boom"):
        async with store.transaction() as tx:
            await tx.insert_version(WORKFLOW, workflow("w"))
            assert await tx.bump_revision() == 1
            raise RuntimeError("boom")
    assert await store.get_latest(WORKFLOW, "w") is None
    assert await store.revision() == 0
    await insert(store, WORKFLOW, workflow("w"))  # the write lock was released
    assert (await store.get_latest(WORKFLOW, "w"))["name"] == "w"


async def test_storage_calls_inside_a_transaction_join_it(store):
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.insert_version(WORKFLOW, workflow("w"))
            await store.insert_audit({"id": "a1", "principal": "p", "action": "create", "resource_type": "workflow",
                                      "resource_id": "w"})
            assert (await store.get_latest(WORKFLOW, "w"))["name"] == "w"  # reads its own writes
            raise RuntimeError("undo both")
    assert await store.list_audit(filters={}, limit=10, offset=0) == ([], 0)


async def test_versions_delete_and_name_in_use(store):
    await insert(store, WORKFLOW, workflow("w", 1, status="archived", name="Alpha"),
                 workflow("w", 2, status="active", name="Alpha"), workflow("w", 3, name="Beta"),
                 workflow("x", 1, name="Gamma"))
    async with store.transaction() as tx:
        assert [r["version"] for r in await tx.versions(WORKFLOW, "w")] == [3, 2, 1]
        assert await tx.name_in_use(WORKFLOW, "Alpha", None) is True
        assert await tx.name_in_use(WORKFLOW, "Alpha", "w") is False
        assert await tx.name_in_use(WORKFLOW, "Gamma", "w") is True
        assert await tx.name_in_use(CHANNEL, "Gamma", None) is False
    rows, total = await store.list_versions(WORKFLOW, "w", limit=2, offset=1)
    assert ([r["version"] for r in rows], total) == ([2, 1], 3)
    async with store.transaction() as tx:
        assert await tx.delete_entity(WORKFLOW, "w") == 3
        assert await tx.delete_entity(WORKFLOW, "w") == 0
    assert await store.list_versions(WORKFLOW, "w", limit=10, offset=0) == ([], 0)


async def test_list_active_includes_every_active_version(store):
    await insert(store, WORKFLOW, workflow("b", 1, status="active", rollout_percentage=80),
                 workflow("b", 2, status="active", rollout_percentage=20), workflow("a", 1, status="archived"),
                 workflow("a", 2, status="active"), workflow("c", 1))
    assert [(r["workflow_id"], r["version"]) for r in await store.list_active(WORKFLOW)] == [("a", 2), ("b", 2), ("b", 1)]


async def test_revision_bumps(store):
    assert await store.revision() == 0
    async with store.transaction() as tx:
        assert await tx.bump_revision() == 1
        assert await tx.bump_revision() == 2
    assert await store.revision() == 2


# --- listing -------------------------------------------------------------------------------------

async def list_ids(store, kind=WORKFLOW, **kw):
    args = {"filters": {}, "sort_by": "priority", "descending": True, "limit": 50, "offset": 0, **kw}
    rows, total = await store.list_latest(kind, **args)
    key = "workflow_id" if kind == WORKFLOW else "channel_id"
    return [r[key] for r in rows], total


async def test_list_latest_filters_apply_to_the_latest_version(store):
    await insert(store, WORKFLOW, workflow("a", 1, status="active"), workflow("a", 2),
                 workflow("b", 1, status="active"), workflow("c", 1, status="archived"))
    assert await list_ids(store, filters={"status": "active"}) == (["b"], 1)
    assert await list_ids(store, filters={"status": "draft"}) == (["a"], 1)
    assert await list_ids(store, filters={"status": None}) == (["a", "b", "c"], 3)


async def test_list_latest_sorting_is_stable(store):
    await insert(store, WORKFLOW,
                 workflow("w1", name="b", priority=1, created_at=ts(3), updated_at=ts(3)),
                 workflow("w2", name="a", priority=1, created_at=ts(1), updated_at=ts(9)),
                 workflow("w3", name="c", priority=5, created_at=ts(2), updated_at=ts(2)),
                 workflow("w4", name="a", priority=1, created_at=ts(1), updated_at=ts(1)))
    assert (await list_ids(store))[0] == ["w3", "w2", "w4", "w1"]  # priority desc, then name, id asc
    assert (await list_ids(store, descending=False))[0] == ["w2", "w4", "w1", "w3"]
    assert (await list_ids(store, sort_by="name", descending=False))[0] == ["w2", "w4", "w1", "w3"]
    assert (await list_ids(store, sort_by="created_at"))[0] == ["w1", "w3", "w2", "w4"]
    assert (await list_ids(store, sort_by="updated_at", descending=False))[0] == ["w4", "w3", "w1", "w2"]
    assert (await list_ids(store, sort_by="bogus"))[0] == ["w3", "w2", "w4", "w1"]  # default column


async def test_list_latest_paging_reports_total_before_paging(store):
    await insert(store, WORKFLOW, *(workflow(f"w{i}", name=f"n{i}") for i in range(7)))
    assert await list_ids(store, sort_by="name", descending=False, limit=3, offset=0) == (["w0", "w1", "w2"], 7)
    assert await list_ids(store, sort_by="name", descending=False, limit=3, offset=6) == (["w6"], 7)
    assert await list_ids(store, sort_by="name", descending=False, limit=3, offset=10) == ([], 7)


async def test_tag_filter_matches_whole_elements_with_literal_wildcards(store):
    await insert(store, WORKFLOW, workflow("pct", tags=["a%b"]), workflow("plain", tags=["axb", "other"]),
                 workflow("under", tags=["a_b"]), workflow("none", tags=[]))
    assert await list_ids(store, tag="a%b") == (["pct"], 1)
    assert await list_ids(store, tag="a_b") == (["under"], 1)
    assert await list_ids(store, tag="%") == ([], 0)
    assert await list_ids(store, tag="a") == ([], 0)
    assert await list_ids(store, tag="other", filters={"status": "draft"}) == (["plain"], 1)


async def test_channel_list_filters(store):
    await insert(store, CHANNEL, channel("c1", channel_type="sync", protocol="rest"),
                 channel("c2", channel_type="async", protocol="kafka"), channel("c3", channel_type="sync", protocol="http"))
    assert await list_ids(store, CHANNEL, filters={"channel_type": "sync"}, sort_by="name", descending=False) == (["c1", "c3"], 2)
    assert await list_ids(store, CHANNEL, filters={"protocol": "kafka"}) == (["c2"], 1)
    assert (await list_ids(store, CHANNEL, sort_by="protocol", descending=False))[0] == ["c3", "c2", "c1"]
    with pytest.raises(ValueError, match="'config' is not a filter of channels"):
        await list_ids(store, CHANNEL, filters={"config": {}})


# --- traces, audit, connectors, dead letters -----------------------------------------------------

def trace(tid: str, n: int, **fields):
    return {"id": tid, "created_at": ts(n), "updated_at": ts(n), **fields}


async def test_traces_batch_insert_get_and_list(store):
    await store.insert_traces([
        trace("t1", 1, channel="orders", mode="async", status="completed", input_json='{"a":1}',
              result_json='{"ok":true}', duration_ms=3.25, started_at=ts(1), completed_at=ts(2),
              task_trace_json='{"steps":[]}'),
        trace("t2", 2, channel="orders", mode="sync", status="failed", error_message="Task error: boom"),
        trace("t3", 3),
    ])
    t1 = await store.get_trace("t1")
    assert (t1["input_json"], t1["duration_ms"], t1["task_trace_json"], t1["completed_at"]) == ('{"a":1}', 3.25, '{"steps":[]}', ts(2))
    t3 = await store.get_trace("t3")
    assert (t3["channel"], t3["mode"], t3["status"], t3["channel_id"]) == ("default", "sync", "pending", None)
    assert await store.get_trace("missing") is None

    async def ids(**kw):
        args = {"filters": {}, "sort_by": "created_at", "descending": True, "limit": 50, "offset": 0, **kw}
        rows, total = await store.list_traces(**args)
        return [r["id"] for r in rows], total

    assert await ids() == (["t3", "t2", "t1"], 3)
    assert await ids(filters={"channel": "orders"}, descending=False) == (["t1", "t2"], 2)
    assert await ids(filters={"channel": "orders", "mode": "async", "status": "completed"}) == (["t1"], 1)
    assert await ids(sort_by="status", descending=False, limit=1, offset=1) == (["t2"], 3)  # completed, failed, pending


async def test_trace_batch_is_one_transaction(store):
    await store.insert_traces([trace("dup", 1)])
    with pytest.raises(StorageConflict):
        await store.insert_traces([trace("new1", 2), trace("dup", 3), trace("new2", 4)])
    assert await store.get_trace("new1") is None and await store.get_trace("new2") is None
    await store.insert_traces([])


async def test_trace_update_and_retention(store):
    await store.insert_traces([trace("old-done", 1, status="completed"), trace("old-failed", 2, status="failed"),
                               trace("old-running", 3, status="running"), trace("new-done", 40, status="completed")])
    assert await store.update_trace("old-running", {"status": "completed", "result_json": "{}"}) is True
    assert await store.update_trace("nope", {"status": "failed"}) is False
    updated = await store.get_trace("old-running")
    assert updated["status"] == "completed" and updated["updated_at"] > ts(3)
    assert await store.delete_traces(statuses=("completed", "failed"), created_before=ts(3)) == 2
    rows, _ = await store.list_traces(filters={}, sort_by="created_at", descending=False, limit=10, offset=0)
    assert [r["id"] for r in rows] == ["old-running", "new-done"]


async def test_audit_insert_and_list_newest_first(store):
    for i, action in enumerate(["create", "status_active", "create"]):
        await store.insert_audit({"id": f"a{i}", "principal": "key1234...", "action": action, "resource_type": "workflow",
                                  "resource_id": "w", "details": None if i else '{"request_id":"r"}', "created_at": ts(i)})
    rows, total = await store.list_audit(filters={}, limit=2, offset=0)
    assert ([r["id"] for r in rows], total) == (["a2", "a1"], 3)
    rows, total = await store.list_audit(filters={"action": "create", "resource_type": "workflow"}, limit=10, offset=0)
    assert [r["id"] for r in rows] == ["a2", "a0"] and rows[1]["details"] == '{"request_id":"r"}'


async def test_connectors_crud(store):
    await store.insert_connector({"id": "c1", "name": "payments", "connector_type": "http",
                                  "config": {"type": "http", "url": "https://x", "auth": {"token": "t"}}})
    await store.insert_connector({"id": "c2", "name": "cache", "connector_type": "cache", "config": {}, "enabled": False})
    with pytest.raises(StorageConflict, match="^Connector with name 'payments' already exists$"):
        await store.insert_connector({"id": "c3", "name": "payments", "connector_type": "http"})
    with pytest.raises(StorageConflict, match="^Connector with name 'other' already exists$"):
        await store.insert_connector({"id": "c1", "name": "other", "connector_type": "http"})
    c1 = await store.get_connector("c1")
    assert (c1["config"]["auth"], c1["enabled"]) == ({"token": "t"}, True)
    rows, total = await store.list_connectors(filters={})
    assert ([r["name"] for r in rows], total) == (["cache", "payments"], 2)
    rows, total = await store.list_connectors(filters={"enabled": True}, limit=10, offset=0)
    assert ([r["id"] for r in rows], total) == (["c1"], 1)
    assert await store.update_connector("c2", {"enabled": True, "config": {"backend": "memory"}}) is True
    with pytest.raises(StorageConflict, match="name 'payments' already exists"):
        await store.update_connector("c2", {"name": "payments"})
    assert await store.update_connector("zz", {"enabled": True}) is False
    assert (await store.get_connector("c2"))["config"] == {"backend": "memory"}
    assert await store.delete_connector("c2") is True
    assert await store.delete_connector("c2") is False
    assert await store.get_connector("c2") is None


async def test_dead_letter_queue(store):
    base = {"trace_id": "t", "channel": "orders", "payload_json": '{"a":1}', "error_message": "boom"}
    await store.insert_dlq({"id": "later", **base, "next_retry_at": ts(30)})
    await store.insert_dlq({"id": "due", **base, "next_retry_at": ts(10)})
    await store.insert_dlq({"id": "exhausted", **base, "next_retry_at": ts(5), "retry_count": 5})
    due = await store.due_dlq(ts(20), 20)
    assert [r["id"] for r in due] == ["due"]
    assert (due[0]["metadata_json"], due[0]["retry_count"], due[0]["max_retries"]) == ("{}", 0, 5)
    assert [r["id"] for r in await store.due_dlq(ts(40), 20)] == ["due", "later"]
    assert [r["id"] for r in await store.due_dlq(ts(40), 1)] == ["due"]
    assert await store.update_dlq("due", {"retry_count": 1, "next_retry_at": ts(50)}) is True
    assert [r["id"] for r in await store.due_dlq(ts(40), 20)] == ["later"]
    assert await store.delete_dlq("later") is True and await store.delete_dlq("later") is False


async def test_backup_writes_a_consistent_copy(store, tmp_path):
    await insert(store, WORKFLOW, workflow("w"))
    target = tmp_path / "backups" / "orion_backup_1.db"
    target.parent.mkdir()
    await store.backup(str(target))
    copy = await open_store(f"sqlite:{target}")
    assert (await copy.get_latest(WORKFLOW, "w"))["name"] == "w"
    await copy.close()
    with pytest.raises(StorageError, match="exists"):
        await store.backup(str(target))


# --- several processes on one file, and :memory: -------------------------------------------------

async def test_two_instances_share_one_file_and_serialize_writes(tmp_path):
    url = f"sqlite:{tmp_path}/shared.db"
    a, b = await open_store(url), await open_store(url)
    inside_a = asyncio.Event()
    order: list[str] = []

    async def writer_a():
        async with a.transaction() as tx:
            await tx.insert_version(WORKFLOW, workflow("from-a"))
            inside_a.set()
            await asyncio.sleep(0.3)
            order.append("a-commit")
            await tx.bump_revision()

    async def writer_b():
        await inside_a.wait()
        async with b.transaction() as tx:
            order.append("b-begin")
            assert [r["workflow_id"] for r in await tx.versions(WORKFLOW, "from-a")] == ["from-a"]
            assert await tx.bump_revision() == 2

    started = time.monotonic()
    await asyncio.gather(writer_a(), writer_b())
    assert order == ["a-commit", "b-begin"] and time.monotonic() - started >= 0.3
    assert (await b.get_latest(WORKFLOW, "from-a"))["name"] == "from-a"
    assert await a.revision() == await b.revision() == 2
    await a.close()
    await b.close()


async def test_reads_do_not_wait_for_an_open_write(tmp_path):
    store = await open_store(f"sqlite:{tmp_path}/r.db")
    await insert(store, WORKFLOW, workflow("w"))
    release = asyncio.Event()

    async def slow_writer():
        async with store.transaction() as tx:
            await tx.insert_version(WORKFLOW, workflow("uncommitted"))
            await release.wait()

    task = asyncio.create_task(slow_writer())
    await asyncio.sleep(0.05)
    assert await asyncio.wait_for(list_ids(store), 1) == (["w"], 1)  # committed data only
    release.set()
    await task
    assert (await list_ids(store))[1] == 2
    await store.close()


async def test_busy_timeout_gives_a_storage_error(tmp_path):
    url = f"sqlite:{tmp_path}/busy.db"
    holder, waiter = await open_store(url), await open_store(url, busy_timeout_ms=100)
    async with holder.transaction():
        with pytest.raises(StorageError, match="database is locked"):
            await waiter.insert_audit({"id": "a", "principal": "p", "action": "x", "resource_type": "r", "resource_id": "i"})
    await waiter.insert_audit({"id": "a", "principal": "p", "action": "x", "resource_type": "r", "resource_id": "i"})
    await holder.close()
    await waiter.close()


async def test_memory_database_works():
    store = await open_store("sqlite::memory:")
    release = asyncio.Event()

    async def writer():
        async with store.transaction() as tx:
            await tx.insert_version(WORKFLOW, workflow("w"))
            assert [r["version"] for r in await tx.versions(WORKFLOW, "w")] == [1]
            await release.wait()

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    read = asyncio.create_task(store.get_latest(WORKFLOW, "w"))
    await asyncio.sleep(0.05)
    assert not read.done()  # one shared connection: the read waits for the commit
    release.set()
    await task
    assert (await read)["name"] == "w"
    await store.insert_traces([trace("t", 1)])
    assert (await store.get_trace("t"))["id"] == "t"
    assert await store.pending_migrations() == []
    await store.close()
