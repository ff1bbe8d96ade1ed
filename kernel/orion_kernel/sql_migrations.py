"""The versioned storage schema (config-and-ops.md §8) as data: one SQL list per dialect.

Append new migrations at the end with the next version number; never edit an applied one.
Every dialect creates the same logical schema. Timestamps default to the current UTC time in
the format rows carry (``YYYY-MM-DDTHH:MM:SS.ffffff`` text on SQLite, native types elsewhere).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MIGRATIONS_TABLE = "_orion_migrations"


@dataclass(frozen=True)
class Migration:
    """One schema step: ``statements`` maps a dialect name to the SQL statements to run in order."""

    version: int
    description: str
    statements: Mapping[str, tuple[str, ...]]


# --- per-dialect building blocks --------------------------------------------------------------

_TS = {
    "sqlite": "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000', 'now'))",
    "postgresql": "TIMESTAMP(6) NOT NULL DEFAULT (now() AT TIME ZONE 'utc')",
    "mysql": "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
}
_TS_NULL = {"sqlite": "TEXT", "postgresql": "TIMESTAMP(6)", "mysql": "DATETIME(6) NULL"}
# id, name and other indexed text; MySQL cannot index or key unbounded TEXT
_ID = {"sqlite": "TEXT", "postgresql": "TEXT", "mysql": "VARCHAR(255)"}
_SHORT = {"sqlite": "TEXT", "postgresql": "TEXT", "mysql": "VARCHAR(32)"}
_ROUTE = {"sqlite": "TEXT", "postgresql": "TEXT", "mysql": "VARCHAR(700)"}
_DOC = {"sqlite": "TEXT", "postgresql": "TEXT", "mysql": "LONGTEXT"}
_BOOL = {"sqlite": "INTEGER", "postgresql": "BOOLEAN", "mysql": "TINYINT(1)"}
_TRUE = {"sqlite": "1", "postgresql": "TRUE", "mysql": "1"}
_FALSE = {"sqlite": "0", "postgresql": "FALSE", "mysql": "0"}
_DOUBLE = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION", "mysql": "DOUBLE"}
_BIGINT = {"sqlite": "INTEGER", "postgresql": "BIGINT", "mysql": "BIGINT"}
_TABLE_END = {
    "sqlite": ")",
    "postgresql": ")",
    # binary collation: ids, names and tags compare exactly, as on SQLite and PostgreSQL
    "mysql": ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
}


def _text_default(dialect: str, literal: str) -> str:
    # MySQL only accepts a default on a TEXT column as an expression
    return f"DEFAULT ('{literal}')" if dialect == "mysql" else f"DEFAULT '{literal}'"


def _one_draft(dialect: str, table: str, key: str) -> tuple[list[str], list[str]]:
    """Column and index definitions that allow at most one ``draft`` row per entity id."""
    if dialect == "mysql":  # no partial indexes: a generated column that is NULL unless draft
        column = f"draft_of VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN status = 'draft' THEN {key} END) STORED"
        return [column, f"UNIQUE KEY {table}_one_draft (draft_of)"], []
    return [], [f"CREATE UNIQUE INDEX {table}_one_draft ON {table} ({key}) WHERE status = 'draft'"]


def _latest_view(view: str, table: str, key: str) -> str:
    return (
        f"CREATE VIEW {view} AS SELECT t.* FROM {table} t WHERE t.version = "
        f"(SELECT MAX(x.version) FROM {table} x WHERE x.{key} = t.{key})"
    )


def _create(dialect: str, table: str, columns: list[str]) -> str:
    return f"CREATE TABLE {table} (\n    " + ",\n    ".join(columns) + "\n" + _TABLE_END[dialect]


def _initial(d: str) -> tuple[str, ...]:
    ts, tsn, id_, short, doc = _TS[d], _TS_NULL[d], _ID[d], _SHORT[d], _DOC[d]
    wf_extra, wf_index = _one_draft(d, "workflows", "workflow_id")
    ch_extra, ch_index = _one_draft(d, "channels", "channel_id")
    meta_key, meta_value = ("`key`", "`value`") if d == "mysql" else ('"key"', '"value"')
    return (
        _create(d, "workflows", [
            f"workflow_id {id_} NOT NULL",
            "version INTEGER NOT NULL",
            f"name {id_} NOT NULL",
            f"description {doc}",
            "priority INTEGER NOT NULL DEFAULT 0",
            f"status {short} NOT NULL DEFAULT 'draft'",
            "rollout_percentage INTEGER NOT NULL DEFAULT 100",
            f"condition_json {doc} NOT NULL {_text_default(d, 'true')}",
            f"tasks_json {doc} NOT NULL {_text_default(d, '[]')}",
            f"tags {doc} NOT NULL {_text_default(d, '[]')}",
            f"continue_on_error {_BOOL[d]} NOT NULL DEFAULT {_FALSE[d]}",
            f"channel {id_}",
            f"created_at {ts}",
            f"updated_at {ts}",
            "PRIMARY KEY (workflow_id, version)",
            *wf_extra,
        ]),
        *wf_index,
        _latest_view("current_workflows", "workflows", "workflow_id"),
        _create(d, "channels", [
            f"channel_id {id_} NOT NULL",
            "version INTEGER NOT NULL",
            f"name {id_} NOT NULL",
            f"description {doc}",
            f"channel_type {short} NOT NULL",
            f"protocol {short} NOT NULL",
            f"methods {doc}",
            f"route_pattern {_ROUTE[d]}",
            f"topic {id_}",
            f"consumer_group {id_}",
            f"transport_config_json {doc} NOT NULL {_text_default(d, '{}')}",
            f"workflow_id {id_}",
            f"config_json {doc} NOT NULL {_text_default(d, '{}')}",
            f"status {short} NOT NULL DEFAULT 'draft'",
            "priority INTEGER NOT NULL DEFAULT 0",
            f"created_at {ts}",
            f"updated_at {ts}",
            "PRIMARY KEY (channel_id, version)",
            *ch_extra,
        ]),
        *ch_index,
        _latest_view("current_channels", "channels", "channel_id"),
        _create(d, "connectors", [
            f"id {id_} NOT NULL PRIMARY KEY",
            f"name {id_} NOT NULL UNIQUE",
            f"connector_type {short} NOT NULL",
            f"config_json {doc} NOT NULL {_text_default(d, '{}')}",
            f"enabled {_BOOL[d]} NOT NULL DEFAULT {_TRUE[d]}",
            f"created_at {ts}",
            f"updated_at {ts}",
        ]),
        _create(d, "traces", [
            f"id {id_} NOT NULL PRIMARY KEY",
            f"channel {id_} NOT NULL DEFAULT 'default'",
            f"channel_id {id_}",
            f"mode {short} NOT NULL DEFAULT 'sync'",
            f"status {short} NOT NULL DEFAULT 'pending'",
            f"input_json {doc}",
            f"result_json {doc}",
            f"error_message {doc}",
            f"duration_ms {_DOUBLE[d]}",
            f"started_at {tsn}",
            f"completed_at {tsn}",
            f"created_at {ts}",
            f"updated_at {ts}",
        ]),
        _create(d, "trace_dlq", [
            f"id {id_} NOT NULL PRIMARY KEY",
            f"trace_id {id_} NOT NULL",
            f"channel {id_} NOT NULL",
            f"payload_json {doc} NOT NULL",
            f"metadata_json {doc} NOT NULL {_text_default(d, '{}')}",
            f"error_message {doc} NOT NULL",
            "retry_count INTEGER NOT NULL DEFAULT 0",
            "max_retries INTEGER NOT NULL DEFAULT 5",
            f"next_retry_at {ts}",
            f"created_at {ts}",
            f"updated_at {ts}",
        ]),
        _create(d, "audit_logs", [
            f"id {id_} NOT NULL PRIMARY KEY",
            f"principal {id_} NOT NULL",
            f"action {id_} NOT NULL",
            f"resource_type {id_} NOT NULL",
            f"resource_id {id_} NOT NULL",
            f"details {doc}",
            f"created_at {ts}",
        ]),
        # live-definition revision counter polled by every worker (api-admin.md §7.1, ops §9.2)
        _create(d, "kernel_meta", [f"{meta_key} {_SHORT[d]} NOT NULL PRIMARY KEY", f"{meta_value} {_BIGINT[d]} NOT NULL"]),
        f"INSERT INTO kernel_meta ({meta_key}, {meta_value}) VALUES ('revision', 0)",
    )


_PERFORMANCE_INDEXES = (
    ("workflows", "status"),
    ("workflows", "workflow_id"),
    ("workflows", "priority DESC, name ASC"),
    ("channels", "status"),
    ("channels", "name"),
    ("channels", "channel_type, status"),
    ("channels", "channel_id"),
    ("channels", "route_pattern"),
    ("channels", "topic"),
    ("channels", "workflow_id"),
    ("traces", "status"),
    ("traces", "status, channel"),
    ("traces", "channel"),
    ("traces", "mode"),
    ("traces", "created_at"),
    ("traces", "channel_id"),
    ("traces", "status, channel, mode, created_at"),
    ("traces", "mode, created_at"),
    ("trace_dlq", "channel"),
    ("audit_logs", "created_at"),
    ("audit_logs", "resource_type, resource_id"),
)


def _index_name(table: str, columns: str) -> str:
    words = columns.replace(",", " ").split()
    return f"idx_{table}_" + "_".join(w.lower() for w in words if w not in ("ASC", "DESC"))


def _performance(d: str) -> tuple[str, ...]:
    statements = [f"CREATE INDEX {_index_name(t, c)} ON {t} ({c})" for t, c in _PERFORMANCE_INDEXES]
    # the DLQ poller only reads entries that are not exhausted; MySQL has no partial indexes
    where = "" if d == "mysql" else " WHERE retry_count < max_retries"
    statements.append(f"CREATE INDEX idx_trace_dlq_next_retry_at ON trace_dlq (next_retry_at){where}")
    return tuple(statements)


def _task_trace(d: str) -> tuple[str, ...]:
    return (f"ALTER TABLE traces ADD COLUMN task_trace_json {_DOC[d]}",)


def _rollout_key(d: str) -> tuple[str, ...]:
    # PostgreSQL and MySQL expand the view's ``t.*`` when it is created: recreate it
    return (
        f"ALTER TABLE workflows ADD COLUMN rollout_key_json {_DOC[d]}",
        "DROP VIEW current_workflows",
        _latest_view("current_workflows", "workflows", "workflow_id"),
    )


def _async_jobs(d: str) -> tuple[str, ...]:
    """The durable async queue: one row per accepted job until it finished (docs/async.md)."""
    return (
        _create(d, "async_jobs", [
            f"id {_ID[d]} NOT NULL PRIMARY KEY",
            f"channel {_ID[d]} NOT NULL",
            f"trace_record {_SHORT[d]} NOT NULL DEFAULT 'full'",
            f"trace_steps {_BOOL[d]} NOT NULL DEFAULT {_FALSE[d]}",
            f"profile {_BOOL[d]} NOT NULL DEFAULT {_FALSE[d]}",
            f"payload_json {_DOC[d]} NOT NULL",
            f"metadata_json {_DOC[d]} NOT NULL",
            "attempt INTEGER NOT NULL DEFAULT 0",
            f"dlq_id {_ID[d]}",
            "bucket INTEGER",
            f"status {_SHORT[d]} NOT NULL DEFAULT 'pending'",
            f"owner {_ID[d]}",
            f"lease_until {_TS[d]}",
            f"started_at {_TS_NULL[d]}",
            f"created_at {_TS[d]}",
            f"updated_at {_TS[d]}",
        ]),
        "CREATE INDEX idx_async_jobs_lease_until ON async_jobs (lease_until)",
        "CREATE INDEX idx_async_jobs_owner ON async_jobs (owner)",
    )


DIALECTS = ("sqlite", "postgresql", "mysql")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", {d: _initial(d) for d in DIALECTS}),
    Migration(2, "performance indexes", {d: _performance(d) for d in DIALECTS}),
    Migration(3, "task trace json", {d: _task_trace(d) for d in DIALECTS}),
    Migration(4, "workflow rollout key", {d: _rollout_key(d) for d in DIALECTS}),
    Migration(5, "async jobs", {d: _async_jobs(d) for d in DIALECTS}),
)

BOOKKEEPING_DDL: Mapping[str, str] = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgresql": f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "mysql": f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INT PRIMARY KEY, description VARCHAR(255) NOT NULL, applied_at VARCHAR(32) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
}


def pending(applied: Iterable[int]) -> list[Migration]:
    """The migrations whose version is not in ``applied``, in version order."""
    done = set(applied)
    return [m for m in MIGRATIONS if m.version not in done]
