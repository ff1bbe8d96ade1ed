"""Dialect-neutral SQL for storage backends: row mapping, safe query builders, migrations.

A SQL backend plugin picks a :class:`Dialect`, runs the :class:`Query` objects built here on its
driver and turns result tuples back into rows with :meth:`Table.decode`. Identifiers come only
from the :class:`Table` whitelists below; every value is a bound parameter.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from .message import storage_now
from .sql_migrations import BOOKKEEPING_DDL, MIGRATIONS, MIGRATIONS_TABLE, Migration, pending
from .storage import (
    ASYNC_JOB,
    ASYNC_JOB_FIELDS,
    AUDIT_FIELDS,
    CHANNEL,
    CHANNEL_FIELDS,
    CONNECTOR_FIELDS,
    DLQ,
    DLQ_FIELDS,
    TRACE,
    TRACE_FIELDS,
    WORKFLOW,
    WORKFLOW_FIELDS,
)

__all__ = [
    "ASYNC_JOBS", "AUDIT_LOGS", "BOOKKEEPING_DDL", "CHANNELS", "CONNECTORS", "Dialect", "MIGRATIONS",
    "MIGRATIONS_TABLE", "MYSQL", "Migration", "POSTGRESQL", "Query", "SQLITE", "TRACES", "TRACE_DLQ",
    "Table", "WORKFLOWS", "active_content_violation", "applied_migrations", "bump_revision",
    "count", "delete", "delete_traces", "due_dlq", "dump_json", "expired_async_jobs", "insert", "insert_many",
    "list_dlq", "load_json", "name_in_use", "page", "pending", "purge_dlq", "record_migration", "row_table",
    "select", "select_revision", "table_for", "update",
]

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"

# --- JSON ----------------------------------------------------------------------------------------

# orjson reads integers outside 64 bits as floats; texts with such long digit runs go to the stdlib
_LONG_NUMBER = re.compile(r"\d{19,}")


def dump_json(value: Any) -> str:
    """Serialize ``value`` as compact JSON text; integers beyond 64 bits stay exact."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson refuses integers outside 64 bits; the stdlib writes them exactly
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load_json(text: str | bytes) -> Any:
    """Parse JSON text written by :func:`dump_json` (or any valid JSON) back to Python values."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode()
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    return orjson.loads(text)


# --- dialects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """What differs between SQL databases in the queries built here."""

    #: key into :attr:`Migration.statements` (``sqlite``, ``postgresql``, ``mysql``)
    name: str
    #: ``qmark`` (``?``), ``format`` (``%s``) or ``numeric`` (``$1``)
    paramstyle: str
    #: identifier quote character
    quote: str
    #: SQL predicate "the JSON-array text column {column} contains the string {param}"
    tag_contains: str
    #: booleans bound as ``bool`` (else 0/1)
    native_booleans: bool = False
    #: timestamp columns bound and returned as ``datetime`` (else text)
    native_timestamps: bool = False

    def ident(self, name: str) -> str:
        """Quote one (whitelisted) identifier."""
        return f"{self.quote}{name}{self.quote}"


SQLITE = Dialect(
    "sqlite", "qmark", '"',
    # json_each compares whole elements: '%' and '_' in the tag are plain characters
    "EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {param})",
)
POSTGRESQL = Dialect(
    "postgresql", "numeric", '"', "{column}::jsonb @> jsonb_build_array({param}::text)",
    native_booleans=True, native_timestamps=True,
)
MYSQL = Dialect("mysql", "format", "`", "JSON_CONTAINS({column}, JSON_QUOTE({param}))", native_timestamps=True)


class Query(NamedTuple):
    """SQL text and its bound parameters."""

    sql: str
    params: tuple[Any, ...]


class _Binder:
    """Collects bound values and renders each as the dialect's placeholder."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        style = self.dialect.paramstyle
        if style == "qmark":
            return "?"
        if style == "format":
            return "%s"
        return f"${len(self.values)}"


# --- tables --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One table: its row fields, how they map to columns, and the whitelists for queries."""

    name: str
    #: row fields in select order (``storage.*_FIELDS``)
    fields: tuple[str, ...]
    #: the field that names one entity (all versions of it share it)
    key: str
    #: noun used in messages (``workflow``, ``channel``, ``connector``, ...)
    noun: str
    #: JSON-valued fields and the column each is stored in
    json_columns: Mapping[str, str] = field(default_factory=dict)
    #: JSON fields whose ``None`` is SQL NULL (other JSON fields store ``None`` as ``null``)
    nullable_json: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    timestamps: frozenset[str] = frozenset()
    #: values for fields a new row leaves out (timestamps default to now)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: fields allowed in exact-match filters
    filters: frozenset[str] = frozenset()
    #: fields allowed as sort keys; the first is the default
    sorts: tuple[str, ...] = ()
    #: ascending tie-break fields after the sort key, so pages are stable
    tie_break: tuple[str, ...] = ()
    #: view holding the latest version of each entity (versioned tables)
    latest_view: str | None = None
    #: message for a duplicate primary key (``str.format`` over the row)
    key_conflict: str = ""
    #: message for a broken unique rule other than the primary key
    unique_conflict: str = ""

    @property
    def versioned(self) -> bool:
        return self.latest_view is not None

    def column(self, name: str) -> str:
        """The column a field is stored in."""
        return self.json_columns.get(name, name)

    def check_fields(self, names: Iterable[str], what: str) -> None:
        """Raise ValueError naming the first name that is not a field of this table."""
        for name in names:
            if name not in self.fields:
                raise ValueError(f"{what}: '{name}' is not a field of table {self.name}; known fields: {', '.join(self.fields)}")

    def encode(self, dialect: Dialect, name: str, value: Any) -> Any:
        """One field value as the driver binds it."""
        if name in self.json_columns:
            return None if value is None and name in self.nullable_json else dump_json(value)
        if value is None:
            return None
        if name in self.booleans:
            return bool(value) if dialect.native_booleans else int(bool(value))
        if name in self.timestamps and dialect.native_timestamps and isinstance(value, str):
            return datetime.fromisoformat(value)
        return value

    def decode(self, values: Sequence[Any]) -> dict[str, Any]:
        """A row dict from a result tuple selected with :meth:`select_list`."""
        row: dict[str, Any] = {}
        for name, value in zip(self.fields, values):
            if value is not None:
                if name in self.json_columns:
                    value = load_json(value)
                elif name in self.booleans:
                    value = bool(value)
                elif isinstance(value, datetime):
                    value = value.strftime(TIMESTAMP_FORMAT)
            row[name] = value
        return row

    def select_list(self, dialect: Dialect) -> str:
        return ", ".join(dialect.ident(self.column(name)) for name in self.fields)

    def complete(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Every field of a new row: defaults for missing ones, timestamps set to now."""
        self.check_fields(row, f"insert into {self.name}")
        now = storage_now()
        full: dict[str, Any] = {}
        for name in self.fields:
            if name in row:
                full[name] = row[name]
            elif name in self.defaults:
                full[name] = self.defaults[name]
            elif name in ("created_at", "updated_at", "next_retry_at"):
                full[name] = now
            else:
                full[name] = None
        return full

    def conflict_message(self, row: Mapping[str, Any], *, primary_key: bool) -> str:
        """The message for a uniqueness failure of ``row``."""
        template = self.key_conflict if primary_key or not self.unique_conflict else self.unique_conflict
        return template.format_map(_Missing(row))


class _Missing(dict):
    """``format_map`` source that renders absent keys as ``?``."""

    def __missing__(self, key: str) -> str:
        return "?"


WORKFLOWS = Table(
    name="workflows",
    fields=WORKFLOW_FIELDS,
    key="workflow_id",
    noun="workflow",
    json_columns={"condition": "condition_json", "tasks": "tasks_json", "tags": "tags", "rollout_key": "rollout_key_json"},
    nullable_json=frozenset({"rollout_key"}),
    booleans=frozenset({"continue_on_error"}),
    timestamps=frozenset({"created_at", "updated_at"}),
    defaults={"priority": 0, "status": "draft", "rollout_percentage": 100, "condition": True, "tasks": [],
              "tags": [], "continue_on_error": False},
    filters=frozenset({"status", "name", "channel"}),
    sorts=("priority", "name", "status", "created_at", "updated_at"),
    tie_break=("name", "workflow_id"),
    latest_view="current_workflows",
    key_conflict="workflow '{workflow_id}' version {version} already exists",
    unique_conflict="Only one draft version allowed per workflow",
)

CHANNELS = Table(
    name="channels",
    fields=CHANNEL_FIELDS,
    key="channel_id",
    noun="channel",
    json_columns={"methods": "methods", "transport_config": "transport_config_json", "config": "config_json"},
    nullable_json=frozenset({"methods"}),
    timestamps=frozenset({"created_at", "updated_at"}),
    defaults={"status": "draft", "priority": 0, "transport_config": {}, "config": {}},
    filters=frozenset({"status", "channel_type", "protocol", "name", "workflow_id"}),
    sorts=("priority", "name", "status", "channel_type", "protocol", "created_at", "updated_at"),
    tie_break=("name", "channel_id"),
    latest_view="current_channels",
    key_conflict="channel '{channel_id}' version {version} already exists",
    unique_conflict="Only one draft version allowed per channel",
)

CONNECTORS = Table(
    name="connectors",
    fields=CONNECTOR_FIELDS,
    key="id",
    noun="connector",
    json_columns={"config": "config_json"},
    booleans=frozenset({"enabled"}),
    timestamps=frozenset({"created_at", "updated_at"}),
    defaults={"config": {}, "enabled": True},
    filters=frozenset({"enabled", "connector_type", "name"}),
    sorts=("name",),
    tie_break=("id",),
    key_conflict="Connector with name '{name}' already exists",
)

TRACES = Table(
    name="traces",
    fields=TRACE_FIELDS,
    key="id",
    noun="trace",
    timestamps=frozenset({"started_at", "completed_at", "created_at", "updated_at"}),
    defaults={"channel": "default", "mode": "sync", "status": "pending"},
    filters=frozenset({"status", "channel", "mode", "channel_id"}),
    sorts=("created_at", "updated_at", "status", "channel", "mode"),
    tie_break=("id",),
    key_conflict="trace '{id}' already exists",
)

TRACE_DLQ = Table(
    name="trace_dlq",
    fields=DLQ_FIELDS,
    key="id",
    noun="dead-letter entry",
    timestamps=frozenset({"next_retry_at", "created_at", "updated_at"}),
    defaults={"metadata_json": "{}", "retry_count": 0, "max_retries": 5},
    filters=frozenset({"channel", "trace_id"}),
    sorts=("next_retry_at", "created_at"),
    tie_break=("id",),
    key_conflict="dead-letter entry '{id}' already exists",
)

ASYNC_JOBS = Table(
    name="async_jobs",
    fields=ASYNC_JOB_FIELDS,
    key="id",
    noun="async job",
    booleans=frozenset({"trace_steps", "profile"}),
    timestamps=frozenset({"lease_until", "started_at", "created_at", "updated_at"}),
    defaults={"trace_record": "full", "trace_steps": False, "profile": False, "attempt": 0, "status": "pending"},
    filters=frozenset({"owner", "status", "channel"}),
    sorts=("created_at",),
    tie_break=("id",),
    key_conflict="async job '{id}' already exists",
)

AUDIT_LOGS = Table(
    name="audit_logs",
    fields=AUDIT_FIELDS,
    key="id",
    noun="audit entry",
    timestamps=frozenset({"created_at"}),
    filters=frozenset({"action", "resource_type", "resource_id", "principal"}),
    sorts=("created_at",),
    tie_break=("id",),
    key_conflict="audit entry '{id}' already exists",
)

_BY_KIND = {WORKFLOW: WORKFLOWS, CHANNEL: CHANNELS}
_ROWS_BY_KIND = {TRACE: TRACES, ASYNC_JOB: ASYNC_JOBS, DLQ: TRACE_DLQ}


def table_for(kind: str) -> Table:
    """The versioned table of a kind (``workflow``/``channel``); ValueError for anything else."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise ValueError(f"unknown versioned kind '{kind}'; expected one of: {', '.join(_BY_KIND)}") from None


def row_table(kind: str) -> Table:
    """The table of an unversioned row kind (``storage.ROW_KINDS``); ValueError for anything else."""
    try:
        return _ROWS_BY_KIND[kind]
    except KeyError:
        raise ValueError(f"unknown row kind '{kind}'; expected one of: {', '.join(_ROWS_BY_KIND)}") from None


# --- query builders ------------------------------------------------------------------------------


def _where(dialect: Dialect, table: Table, bind: _Binder, where: Mapping[str, Any]) -> list[str]:
    table.check_fields(where, f"condition on {table.name}")
    parts = []
    for name, value in where.items():
        column = dialect.ident(table.column(name))
        if value is None:
            parts.append(f"{column} IS NULL")
        elif isinstance(value, tuple):  # any of these values
            if not value:
                raise ValueError(f"condition on {table.name}: '{name}' must match one of an empty set of values")
            parts.append(f"{column} IN ({', '.join(bind(table.encode(dialect, name, v)) for v in value)})")
        else:
            parts.append(f"{column} = {bind(table.encode(dialect, name, value))}")
    return parts


def _clause(parts: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(parts)}" if parts else ""


def _paging(bind: _Binder, limit: int | None, offset: int) -> str:
    if limit is None:
        return ""
    return f" LIMIT {bind(max(0, int(limit)))} OFFSET {bind(max(0, int(offset)))}"


def select(
    dialect: Dialect,
    table: Table,
    where: Mapping[str, Any],
    *,
    order: Sequence[tuple[str, bool]] = (),
    limit: int | None = None,
    offset: int = 0,
    source: str | None = None,
) -> Query:
    """``SELECT`` every field of rows equal to ``where`` (None matches NULL), ordered by
    ``(field, descending)`` pairs; ``source`` names a view to read instead of the table."""
    bind = _Binder(dialect)
    parts = _where(dialect, table, bind, where)
    table.check_fields((name for name, _ in order), f"order of {table.name}")
    order_sql = ", ".join(f"{dialect.ident(table.column(n))} {'DESC' if desc else 'ASC'}" for n, desc in order)
    sql = f"SELECT {table.select_list(dialect)} FROM {dialect.ident(source or table.name)}{_clause(parts)}"
    if order_sql:
        sql += f" ORDER BY {order_sql}"
    sql += _paging(bind, limit, offset)
    return Query(sql, tuple(bind.values))


def count(dialect: Dialect, table: Table, where: Mapping[str, Any]) -> Query:
    """``SELECT COUNT(*)`` of rows equal to ``where``."""
    bind = _Binder(dialect)
    parts = _where(dialect, table, bind, where)
    return Query(f"SELECT COUNT(*) FROM {dialect.ident(table.name)}{_clause(parts)}", tuple(bind.values))


def page(
    dialect: Dialect,
    table: Table,
    *,
    filters: Mapping[str, Any],
    tag: str | None = None,
    sort_by: str | None = None,
    descending: bool = True,
    limit: int | None,
    offset: int = 0,
    source: str | None = None,
) -> tuple[Query, Query]:
    """``(count, rows)`` queries for one page of a list endpoint.

    ``filters`` are exact matches on the table's whitelisted fields (None values are ignored;
    another field is a ValueError); ``tag`` keeps rows whose JSON ``tags`` array contains exactly
    that string. An unknown ``sort_by`` falls back to the default sort field; ties are broken by
    the table's tie-break fields ascending.
    """
    active = {name: value for name, value in filters.items() if value is not None}
    for name in active:
        if name not in table.filters:
            raise ValueError(f"'{name}' is not a filter of {table.name}; allowed: {', '.join(sorted(table.filters))}")
    sort = sort_by if sort_by in table.sorts else table.sorts[0]
    order = [(sort, descending)] + [(name, False) for name in table.tie_break if name != sort]

    def build(count: bool) -> Query:
        bind = _Binder(dialect)
        parts = _where(dialect, table, bind, active)
        if tag is not None:
            if "tags" not in table.json_columns:
                raise ValueError(f"table {table.name} has no tags")
            parts.append(dialect.tag_contains.format(column=dialect.ident(table.column("tags")), param=bind(tag)))
        src = dialect.ident(source or table.name)
        if count:
            return Query(f"SELECT COUNT(*) FROM {src}{_clause(parts)}", tuple(bind.values))
        order_sql = ", ".join(f"{dialect.ident(table.column(n))} {'DESC' if desc else 'ASC'}" for n, desc in order)
        sql = f"SELECT {table.select_list(dialect)} FROM {src}{_clause(parts)} ORDER BY {order_sql}"
        return Query(sql + _paging(bind, limit, offset), tuple(bind.values))

    return build(True), build(False)


def insert(dialect: Dialect, table: Table, row: Mapping[str, Any]) -> Query:
    """``INSERT`` one row (completed with :meth:`Table.complete`)."""
    sql, params = insert_many(dialect, table, [row])
    return Query(sql, params[0])


def insert_many(dialect: Dialect, table: Table, rows: Iterable[Mapping[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
    """One ``INSERT`` statement and a parameter tuple per row, for ``executemany``."""
    columns = ", ".join(dialect.ident(table.column(name)) for name in table.fields)
    bind = _Binder(dialect)
    placeholders = ", ".join(bind(None) for _ in table.fields)
    params = []
    for row in rows:
        full = table.complete(row)
        params.append(tuple(table.encode(dialect, name, full[name]) for name in table.fields))
    return f"INSERT INTO {dialect.ident(table.name)} ({columns}) VALUES ({placeholders})", params


def update(dialect: Dialect, table: Table, where: Mapping[str, Any], changes: Mapping[str, Any]) -> Query:
    """``UPDATE`` rows equal to ``where``; ``updated_at`` is set to now unless ``changes`` has it.

    Key fields (the entity key and ``version``) cannot change: ValueError.
    """
    table.check_fields(changes, f"update of {table.name}")
    for name in (table.key, "version"):
        if name in changes and name in table.fields:
            raise ValueError(f"update of {table.name}: '{name}' identifies the row and cannot change")
    values = dict(changes)
    if "updated_at" in table.fields and values.get("updated_at") is None:
        values["updated_at"] = storage_now()
    if not values:
        raise ValueError(f"update of {table.name}: no changes given")
    bind = _Binder(dialect)
    sets = ", ".join(f"{dialect.ident(table.column(n))} = {bind(table.encode(dialect, n, v))}" for n, v in values.items())
    parts = _where(dialect, table, bind, where)
    return Query(f"UPDATE {dialect.ident(table.name)} SET {sets}{_clause(parts)}", tuple(bind.values))


def delete(dialect: Dialect, table: Table, where: Mapping[str, Any]) -> Query:
    """``DELETE`` rows equal to ``where`` (an empty ``where`` is refused: ValueError)."""
    if not where:
        raise ValueError(f"delete from {table.name}: refusing to delete without a condition")
    bind = _Binder(dialect)
    parts = _where(dialect, table, bind, where)
    return Query(f"DELETE FROM {dialect.ident(table.name)}{_clause(parts)}", tuple(bind.values))


def name_in_use(dialect: Dialect, table: Table, name: str, exclude_id: str | None) -> Query:
    """A query returning a row when an entity other than ``exclude_id`` has a version named ``name``."""
    bind = _Binder(dialect)
    sql = f"SELECT 1 FROM {dialect.ident(table.name)} WHERE {dialect.ident('name')} = {bind(name)}"
    if exclude_id is not None:
        sql += f" AND {dialect.ident(table.key)} <> {bind(exclude_id)}"
    return Query(sql + f" LIMIT {bind(1)}", tuple(bind.values))


def delete_traces(dialect: Dialect, statuses: Sequence[str], created_before: str) -> Query:
    """``DELETE`` traces in one of ``statuses`` created before a timestamp (retention)."""
    if not statuses:
        raise ValueError("delete_traces: at least one status is required")
    bind = _Binder(dialect)
    status_list = ", ".join(bind(s) for s in statuses)
    before = bind(TRACES.encode(dialect, "created_at", created_before))
    return Query(
        f"DELETE FROM {dialect.ident('traces')} WHERE {dialect.ident('status')} IN ({status_list}) "
        f"AND {dialect.ident('created_at')} < {before}",
        tuple(bind.values),
    )


def due_dlq(dialect: Dialect, now: str, limit: int) -> Query:
    """Dead-letter entries that are not exhausted and due at ``now``, earliest first."""
    bind = _Binder(dialect)
    q = dialect.ident
    due = bind(TRACE_DLQ.encode(dialect, "next_retry_at", now))
    sql = (
        f"SELECT {TRACE_DLQ.select_list(dialect)} FROM {q('trace_dlq')} "
        f"WHERE {q('retry_count')} < {q('max_retries')} AND {q('next_retry_at')} <= {due} "
        f"ORDER BY {q('next_retry_at')} ASC, {q('id')} ASC LIMIT {bind(max(0, int(limit)))}"
    )
    return Query(sql, tuple(bind.values))


def _dlq_where(dialect: Dialect, bind: _Binder, channel: str | None, exhausted: bool | None,
               created_before: str | None = None) -> str:
    q = dialect.ident
    parts = []
    if channel is not None:
        parts.append(f"{q('channel')} = {bind(channel)}")
    if exhausted is not None:
        parts.append(f"{q('retry_count')} {'>=' if exhausted else '<'} {q('max_retries')}")
    if created_before is not None:
        parts.append(f"{q('created_at')} < {bind(TRACE_DLQ.encode(dialect, 'created_at', created_before))}")
    return _clause(parts)


def list_dlq(dialect: Dialect, *, channel: str | None, exhausted: bool | None, limit: int, offset: int) -> tuple[Query, Query]:
    """``(count, rows)`` of dead-letter entries, newest first, filtered by channel and exhaustion."""
    q = dialect.ident
    bind = _Binder(dialect)
    where = _dlq_where(dialect, bind, channel, exhausted)
    total = Query(f"SELECT COUNT(*) FROM {q('trace_dlq')}{where}", tuple(bind.values))
    bind = _Binder(dialect)
    where = _dlq_where(dialect, bind, channel, exhausted)
    rows = (f"SELECT {TRACE_DLQ.select_list(dialect)} FROM {q('trace_dlq')}{where} "
            f"ORDER BY {q('created_at')} DESC, {q('id')} ASC{_paging(bind, limit, offset)}")
    return total, Query(rows, tuple(bind.values))


def purge_dlq(dialect: Dialect, *, exhausted_only: bool, created_before: str | None) -> Query:
    """``DELETE`` dead-letter entries: exhausted ones only, or all; optionally only older ones."""
    bind = _Binder(dialect)
    where = _dlq_where(dialect, bind, None, True if exhausted_only else None, created_before)
    return Query(f"DELETE FROM {dialect.ident('trace_dlq')}{where}", tuple(bind.values))


def expired_async_jobs(dialect: Dialect, now: str, limit: int) -> Query:
    """Async jobs whose claim ran out before ``now``, oldest lease first."""
    bind = _Binder(dialect)
    q = dialect.ident
    before = bind(ASYNC_JOBS.encode(dialect, "lease_until", now))
    sql = (
        f"SELECT {ASYNC_JOBS.select_list(dialect)} FROM {q('async_jobs')} WHERE {q('lease_until')} < {before} "
        f"ORDER BY {q('lease_until')} ASC, {q('id')} ASC LIMIT {bind(max(0, int(limit)))}"
    )
    return Query(sql, tuple(bind.values))


# --- versioned-row rules -------------------------------------------------------------------------

#: fields of an active row that may change while it stays active
MUTABLE_WHEN_ACTIVE = frozenset({"status", "rollout_percentage", "updated_at"})


def active_content_violation(table: Table, current: Mapping[str, Any], changes: Mapping[str, Any]) -> str | None:
    """The refusal message when ``changes`` would alter the content of a row that stays active."""
    if current.get("status") != "active" or changes.get("status", "active") != "active":
        return None
    for name, value in changes.items():
        if name not in MUTABLE_WHEN_ACTIVE and current.get(name) != value:
            return f"Cannot modify content of active {table.noun}s"
    return None


# --- revision counter and migration bookkeeping --------------------------------------------------


def select_revision(dialect: Dialect) -> Query:
    """The live-definition revision (one row, one column)."""
    q = dialect.ident
    bind = _Binder(dialect)
    return Query(f"SELECT {q('value')} FROM {q('kernel_meta')} WHERE {q('key')} = {bind('revision')}", tuple(bind.values))


def bump_revision(dialect: Dialect) -> Query:
    """Increment the revision (read it back with :func:`select_revision` in the same transaction)."""
    q = dialect.ident
    bind = _Binder(dialect)
    return Query(
        f"UPDATE {q('kernel_meta')} SET {q('value')} = {q('value')} + 1 WHERE {q('key')} = {bind('revision')}",
        tuple(bind.values),
    )


def applied_migrations(dialect: Dialect) -> Query:
    """Versions recorded in the bookkeeping table."""
    return Query(f"SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version", ())


def record_migration(dialect: Dialect, migration: Migration) -> Query:
    """Record ``migration`` as applied now."""
    bind = _Binder(dialect)
    values = ", ".join((bind(migration.version), bind(migration.description), bind(storage_now())))
    return Query(f"INSERT INTO {MIGRATIONS_TABLE} (version, description, applied_at) VALUES ({values})", tuple(bind.values))
