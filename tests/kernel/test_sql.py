"""The dialect-neutral SQL helpers: JSON columns, row mapping, query builders, migration data."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from orion_kernel import sql
from orion_kernel.sql_migrations import DIALECTS


# --- JSON ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, None, True, {"b": "ü ✓ 日本"}], "": {}},
    2**70,
    -(2**70),
    2**63 - 1,
    [{"deep": [[[[{"x": 10**25}]]]]}],
    "digits 12345678901234567890 inside a string",
    1.0000000000000002,
])
def test_json_round_trip_is_exact(value):
    assert sql.load_json(sql.dump_json(value)) == value


def test_dump_json_is_compact_and_keeps_unicode():
    assert sql.dump_json({"k": ["é", 1]}) == '{"k":["é",1]}'
    assert sql.dump_json({"n": 2**70}) == '{"n":1180591620717411303424}'


def test_load_json_accepts_bytes_and_keeps_big_ints_as_ints():
    assert sql.load_json(b'[123456789012345678901234567890]') == [123456789012345678901234567890]
    assert isinstance(sql.load_json("[123456789012345678901234567890]")[0], int)


# --- row mapping ---------------------------------------------------------------------------------

def test_workflow_row_encodes_json_columns_and_booleans():
    row = sql.WORKFLOWS.complete({"workflow_id": "w", "version": 1, "name": "W", "continue_on_error": True})
    assert row["condition"] is True and row["tasks"] == [] and row["tags"] == [] and row["status"] == "draft"
    assert row["created_at"] == row["updated_at"]
    assert sql.WORKFLOWS.column("condition") == "condition_json"
    assert sql.WORKFLOWS.column("tasks") == "tasks_json"
    assert sql.WORKFLOWS.encode(sql.SQLITE, "condition", True) == "true"
    assert sql.WORKFLOWS.encode(sql.SQLITE, "condition", None) == "null"  # JSON null, not SQL NULL
    assert sql.WORKFLOWS.encode(sql.SQLITE, "continue_on_error", True) == 1
    assert sql.WORKFLOWS.encode(sql.POSTGRESQL, "continue_on_error", True) is True


def test_channel_methods_null_is_sql_null_and_config_maps_to_config_json():
    assert sql.CHANNELS.encode(sql.SQLITE, "methods", None) is None
    assert sql.CHANNELS.encode(sql.SQLITE, "methods", ["GET"]) == '["GET"]'
    assert sql.CHANNELS.column("transport_config") == "transport_config_json"
    assert sql.CHANNELS.column("config") == "config_json"
    assert sql.CONNECTORS.column("config") == "config_json"


def test_decode_maps_columns_back_to_fields():
    values = ["c", 2, "n", None, "rest", "http", None, "/x", None, None, "{}", None, '{"a":[1]}', "active", 3,
              "2026-01-01T00:00:00.000000", datetime(2026, 1, 2, 3, 4, 5, 6)]
    row = sql.CHANNELS.decode(values)
    assert row["methods"] is None and row["transport_config"] == {} and row["config"] == {"a": [1]}
    assert row["updated_at"] == "2026-01-02T03:04:05.000006"  # native timestamps come back as text
    assert list(row) == list(sql.CHANNELS.fields)


def test_native_timestamps_are_bound_as_datetimes():
    value = sql.TRACES.encode(sql.POSTGRESQL, "created_at", "2026-04-16T11:50:24.513000")
    assert value == datetime(2026, 4, 16, 11, 50, 24, 513000)
    assert sql.TRACES.encode(sql.SQLITE, "created_at", "2026-04-16T11:50:24.513000") == "2026-04-16T11:50:24.513000"


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match="'nope' is not a field of table workflows"):
        sql.WORKFLOWS.complete({"workflow_id": "w", "nope": 1})


def test_table_for_unknown_kind():
    assert sql.table_for("workflow") is sql.WORKFLOWS
    with pytest.raises(ValueError, match="unknown versioned kind 'connector'"):
        sql.table_for("connector")


# --- query builders ------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect, first, second", [
    (sql.SQLITE, "?", "?"), (sql.MYSQL, "%s", "%s"), (sql.POSTGRESQL, "$1", "$2"),
])
def test_placeholders_follow_the_dialect(dialect, first, second):
    count, rows = sql.page(dialect, sql.WORKFLOWS, filters={"status": "active"}, tag="t", sort_by="name",
                           descending=False, limit=10, offset=5, source="current_workflows")
    q = dialect.quote
    assert count.sql.startswith(f"SELECT COUNT(*) FROM {q}current_workflows{q} WHERE {q}status{q} = {first} AND ")
    assert count.params == ("active", "t")
    assert rows.params == ("active", "t", 10, 5)
    assert f"ORDER BY {q}name{q} ASC, {q}workflow_id{q} ASC" in rows.sql
    assert dialect.tag_contains.split("{")[0] in rows.sql


def test_user_text_never_reaches_the_sql():
    evil = "x'; DROP TABLE workflows; --"
    count, rows = sql.page(sql.SQLITE, sql.WORKFLOWS, filters={"status": evil}, tag=evil, sort_by=evil,
                           descending=True, limit=1, offset=0)
    assert evil not in rows.sql and evil not in count.sql
    assert rows.params[:2] == (evil, evil)
    assert 'ORDER BY "priority" DESC, "name" ASC, "workflow_id" ASC' in rows.sql  # unknown sort → default


def test_page_rejects_filters_outside_the_whitelist_and_ignores_none():
    with pytest.raises(ValueError, match="'tasks' is not a filter of workflows"):
        sql.page(sql.SQLITE, sql.WORKFLOWS, filters={"tasks": []}, limit=1)
    count, _ = sql.page(sql.SQLITE, sql.WORKFLOWS, filters={"status": None}, limit=1)
    assert "WHERE" not in count.sql


def test_order_is_sort_key_then_tie_break_without_repeats():
    _, rows = sql.page(sql.SQLITE, sql.TRACES, filters={}, sort_by="id", limit=1)  # not a sort key → default
    assert rows.sql.endswith('ORDER BY "created_at" DESC, "id" ASC LIMIT ? OFFSET ?')
    _, rows = sql.page(sql.SQLITE, sql.CHANNELS, filters={}, sort_by="name", descending=True, limit=1)
    assert 'ORDER BY "name" DESC, "channel_id" ASC' in rows.sql
    _, rows = sql.page(sql.SQLITE, sql.CONNECTORS, filters={}, descending=False, limit=None)
    assert rows.sql.endswith('ORDER BY "name" ASC, "id" ASC')  # no LIMIT when limit is None


def test_insert_many_binds_every_field_in_order():
    statement, params = sql.insert_many(sql.POSTGRESQL, sql.TRACES, [{"id": "a"}, {"id": "b", "mode": "async"}])
    assert statement.startswith('INSERT INTO "traces" ("id", "channel", ')
    assert f"${len(sql.TRACES.fields)})" in statement
    assert [p[:4] for p in params] == [("a", "default", None, "sync"), ("b", "default", None, "async")]


def test_update_sets_updated_at_and_refuses_key_changes():
    query = sql.update(sql.SQLITE, sql.WORKFLOWS, {"workflow_id": "w", "version": 2}, {"status": "active"})
    assert query.sql == 'UPDATE "workflows" SET "status" = ?, "updated_at" = ? WHERE "workflow_id" = ? AND "version" = ?'
    assert query.params[0] == "active" and query.params[2:] == ("w", 2)
    with pytest.raises(ValueError, match="'version' identifies the row"):
        sql.update(sql.SQLITE, sql.WORKFLOWS, {"workflow_id": "w"}, {"version": 3})


def test_a_tuple_condition_matches_any_of_its_values():
    query = sql.update(sql.SQLITE, sql.ASYNC_JOBS, {"owner": "a", "id": ("j1", "j2")}, {"lease_until": "2026-01-01T00:00:00.000000"})
    assert query.sql.endswith('WHERE "owner" = ? AND "id" IN (?, ?)')
    assert query.params[-3:] == ("a", "j1", "j2")
    with pytest.raises(ValueError, match="empty set"):
        sql.update(sql.SQLITE, sql.ASYNC_JOBS, {"id": ()}, {"status": "running"})


def test_delete_requires_a_condition():
    with pytest.raises(ValueError, match="without a condition"):
        sql.delete(sql.SQLITE, sql.TRACES, {})


def test_revision_queries_quote_reserved_words_for_mysql():
    assert sql.select_revision(sql.MYSQL).sql == "SELECT `value` FROM `kernel_meta` WHERE `key` = %s"
    assert sql.bump_revision(sql.SQLITE).params == ("revision",)


# --- versioned-row rules -------------------------------------------------------------------------

ACTIVE = {"status": "active", "tasks": [{"id": "a"}], "rollout_percentage": 100, "name": "N"}


@pytest.mark.parametrize("changes, refused", [
    ({"status": "archived"}, False),
    ({"rollout_percentage": 40, "updated_at": "2026-01-01T00:00:00.000000"}, False),
    ({"tasks": [{"id": "a"}]}, False),  # same value: no content change
    ({"tasks": []}, True),
    ({"name": "other", "status": "active"}, True),
    ({"name": "other", "status": "archived"}, False),  # leaves active in the same update
])
def test_active_content_rule(changes, refused):
    message = sql.active_content_violation(sql.WORKFLOWS, ACTIVE, changes)
    assert (message == "Cannot modify content of active workflows") is refused
    assert sql.active_content_violation(sql.CHANNELS, {**ACTIVE, "status": "draft"}, changes) is None


def test_conflict_messages():
    row = {"workflow_id": "w", "version": 3}
    assert sql.WORKFLOWS.conflict_message(row, primary_key=False) == "Only one draft version allowed per workflow"
    assert sql.WORKFLOWS.conflict_message(row, primary_key=True) == "workflow 'w' version 3 already exists"
    assert sql.CHANNELS.conflict_message({}, primary_key=False) == "Only one draft version allowed per channel"
    assert sql.CONNECTORS.conflict_message({"name": "pay"}, primary_key=False) == "Connector with name 'pay' already exists"


# --- migrations ----------------------------------------------------------------------------------

def test_migrations_are_an_ordered_list_covering_every_dialect():
    versions = [m.version for m in sql.MIGRATIONS]
    assert versions == sorted(set(versions)) and versions[0] == 1
    for migration in sql.MIGRATIONS:
        assert set(migration.statements) == set(DIALECTS) and migration.description
        assert all(migration.statements[d] for d in DIALECTS)
    assert set(sql.BOOKKEEPING_DDL) == set(DIALECTS)


def test_pending_skips_applied_versions():
    assert [m.version for m in sql.pending([])] == [m.version for m in sql.MIGRATIONS]
    assert [m.version for m in sql.pending([1, 2, 4, 5])] == [3]
    assert sql.pending(m.version for m in sql.MIGRATIONS) == []


def test_record_migration_binds_its_values():
    query = sql.record_migration(sql.POSTGRESQL, sql.MIGRATIONS[0])
    assert query.sql.endswith("VALUES ($1, $2, $3)")
    assert query.params[:2] == (1, "initial")
    json.dumps(query.params)  # plain values only
