"""``sqlite``: the SQLite storage backend (aiosqlite, WAL, one writer and a few readers).

Writes go through one connection guarded by an asyncio lock and ``BEGIN IMMEDIATE``, so writers
in this process queue on the lock and writers in other processes on the database lock (up to
``busy_timeout_ms``). Reads use separate connections and never wait for a write. An in-memory
database has a single connection shared by reads and writes.
"""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
import orjson

from orion_kernel import StorageBackend, StorageConflict, StorageError, StorageTransaction, hookimpl, sql

ORION_ESSENTIAL = True

SCHEMES = ("sqlite:", "file:")
MEMORY = ":memory:"
MAX_READERS = 4
D = sql.SQLITE


def database_path(url: str) -> str:
    """The file path (or ``:memory:``) named by a ``sqlite:``/``file:`` URL.

    ``sqlite:orion.db`` and ``sqlite://orion.db`` are relative, ``sqlite:///var/orion.db`` is
    absolute; a ``?query`` is ignored. Raises ValueError when the URL names no file.
    """
    scheme = next((s for s in SCHEMES if url.lower().startswith(s)), None)
    if scheme is None:
        raise ValueError(f"storage.url '{url}' is not a SQLite URL (expected sqlite: or file:)")
    rest = url[len(scheme):].split("?", 1)[0]
    if rest.startswith("//"):
        rest = rest[2:]
    if not rest:
        raise ValueError(
            f"storage.url '{url}' names no database file; use e.g. sqlite:orion.db, "
            "sqlite:///var/lib/orion/orion.db or sqlite::memory:"
        )
    return rest


class SqliteTransaction(StorageTransaction):
    """Versioned-row reads and writes on the writer connection inside ``BEGIN IMMEDIATE``."""

    def __init__(self, storage: SqliteStorage, conn: aiosqlite.Connection) -> None:
        self._storage = storage
        self._conn = conn

    async def versions(self, kind: str, entity_id: str) -> list[dict[str, Any]]:
        table = sql.table_for(kind)
        query = sql.select(D, table, {table.key: entity_id}, order=[("version", True)])
        return await self._storage._rows(self._conn, query, table)

    async def insert_version(self, kind: str, row: dict[str, Any]) -> None:
        table = sql.table_for(kind)
        await self._storage._run(self._conn, sql.insert(D, table, row), table, row)

    async def update_version(self, kind: str, entity_id: str, version: int, changes: dict[str, Any]) -> None:
        table = sql.table_for(kind)
        where = {table.key: entity_id, "version": version}
        current = await self._storage._rows(self._conn, sql.select(D, table, where), table)
        if not current:
            raise StorageError(f"{table.noun} '{entity_id}' version {version} does not exist; it cannot be updated")
        refusal = sql.active_content_violation(table, current[0], changes)
        if refusal:
            raise StorageConflict(refusal)
        await self._storage._run(self._conn, sql.update(D, table, where, changes), table, changes)

    async def delete_entity(self, kind: str, entity_id: str) -> int:
        table = sql.table_for(kind)
        return await self._storage._run(self._conn, sql.delete(D, table, {table.key: entity_id}), table)

    async def name_in_use(self, kind: str, name: str, exclude_id: str | None) -> bool:
        table = sql.table_for(kind)
        return bool(await self._storage._fetch_on(self._conn, sql.name_in_use(D, table, name, exclude_id)))

    async def bump_revision(self) -> int:
        await self._storage._run(self._conn, sql.bump_revision(D))
        rows = await self._storage._fetch_on(self._conn, sql.select_revision(D))
        if not rows:
            raise StorageError("the revision counter is missing from kernel_meta; run `orion-kernel migrate`")
        return int(rows[0][0])

    async def insert_row(self, kind: str, row: dict[str, Any]) -> None:
        table = sql.row_table(kind)
        await self._storage._run(self._conn, sql.insert(D, table, row), table, row)

    async def update_rows(self, kind: str, where: dict[str, Any], changes: dict[str, Any]) -> int:
        table = sql.row_table(kind)
        return await self._storage._run(self._conn, sql.update(D, table, where, changes), table, changes)

    async def delete_rows(self, kind: str, where: dict[str, Any]) -> int:
        table = sql.row_table(kind)
        return await self._storage._run(self._conn, sql.delete(D, table, where), table)


class SqliteStorage(StorageBackend):
    """A SQLite database file (or ``:memory:``) opened with aiosqlite."""

    name = "sqlite"
    supports_backup = True

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        super().__init__(url, options)
        self.path = ""
        self._memory = False
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._reader_conns: list[aiosqlite.Connection] = []
        self._write_lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None  # the task inside a write transaction

    # --- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            return
        try:
            self.path = database_path(self.url)
            busy_ms = int(self.options.get("busy_timeout_ms", 5000))
            readers = max(1, min(MAX_READERS, int(self.options.get("max_connections", 50)) - 1))
        except (TypeError, ValueError) as exc:
            raise StorageError(f"SQLite storage: {exc}") from None
        if busy_ms <= 0:
            raise StorageError(f"storage.busy_timeout_ms must be > 0 (got {busy_ms})")
        self._memory = self.path == MEMORY
        try:
            self._writer = await self._connect(busy_ms, writer=True)
            if not self._memory:
                self._reader_conns = [await self._connect(busy_ms, writer=False) for _ in range(readers)]
                self._readers = asyncio.Queue()
                for conn in self._reader_conns:
                    self._readers.put_nowait(conn)
        except sqlite3.Error as exc:
            await self.close()
            raise StorageError(
                f"cannot open SQLite database '{self.path}' (storage.url '{self.url}'): {exc}; "
                "check that its directory exists and is writable"
            ) from exc

    async def _connect(self, busy_ms: int, *, writer: bool) -> aiosqlite.Connection:
        # isolation_level=None: no implicit transactions, BEGIN/COMMIT are issued here
        pending = aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn = await pending
        except sqlite3.Error:
            # After a failed connect aiosqlite stops its thread without waiting for it; wait here,
            # or the thread reports to an already closed loop at exit and prints a traceback.
            await asyncio.to_thread(pending._thread.join, 5)
            raise
        try:
            await conn.execute_fetchall(f"PRAGMA busy_timeout = {int(busy_ms)}")
            if writer and not self._memory:
                await conn.execute_fetchall("PRAGMA journal_mode = WAL")
            await conn.execute_fetchall("PRAGMA synchronous = NORMAL")
            await conn.execute_fetchall("PRAGMA foreign_keys = ON")
            if not writer:
                await conn.execute_fetchall("PRAGMA query_only = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        conns = [c for c in (*self._reader_conns, self._writer) if c is not None]
        self._writer, self._readers, self._reader_conns = None, None, []
        for conn in conns:
            try:
                await conn.close()
            except (sqlite3.Error, ValueError):
                pass  # closing is best effort; the process may be shutting down

    async def ping(self) -> bool:
        try:
            return (await self._fetch(sql.Query("SELECT 1", ())))[0] == [(1,)]
        except StorageError:
            return False

    async def pending_migrations(self) -> list[tuple[int, str]]:
        exists = sql.Query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (sql.MIGRATIONS_TABLE,))
        (found,) = await self._fetch(exists)
        applied: set[int] = set()
        if found:
            (rows,) = await self._fetch(sql.applied_migrations(D))
            applied = {row[0] for row in rows}
        return [(m.version, m.description) for m in sql.pending(applied)]

    async def migrate(self) -> list[tuple[int, str]]:
        async with self._writing() as conn:
            await self._run(conn, sql.Query(sql.BOOKKEEPING_DDL[D.name], ()))
            applied = {row[0] for row in await self._fetch_on(conn, sql.applied_migrations(D))}
            todo = sql.pending(applied)
            for migration in todo:
                for statement in migration.statements[D.name]:
                    await self._run(conn, sql.Query(statement, ()))
                await self._run(conn, sql.record_migration(D, migration))
        return [(m.version, m.description) for m in todo]

    # --- connections and error mapping ---------------------------------------------------------

    def _open_writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StorageError(f"SQLite storage '{self.url}' is not open; call open() first")
        return self._writer

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer inside ``BEGIN IMMEDIATE``…``COMMIT``; a call from the task that already holds
        the write transaction joins it instead of waiting for itself."""
        task = asyncio.current_task()
        if self._owner is not None and self._owner is task:
            yield self._open_writer()
            return
        async with self._write_lock:
            conn = self._open_writer()
            self._owner = task
            try:
                await self._run(conn, sql.Query("BEGIN IMMEDIATE", ()))
                try:
                    yield conn
                except BaseException:
                    await self._rollback(conn)
                    raise
                try:
                    await self._run(conn, sql.Query("COMMIT", ()))
                except BaseException:
                    await self._rollback(conn)
                    raise
            finally:
                self._owner = None

    async def _rollback(self, conn: aiosqlite.Connection) -> None:
        try:
            if conn.in_transaction:
                await conn.execute_fetchall("ROLLBACK")
        except (sqlite3.Error, ValueError):
            pass  # the original error matters more; SQLite rolls back on close anyway

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[tuple[aiosqlite.Connection, bool]]:
        """A connection for reads and whether it is private (needs its own snapshot transaction)."""
        if self._owner is not None and self._owner is asyncio.current_task():
            yield self._open_writer(), False  # inside our own write transaction: read our writes
            return
        if self._memory:
            async with self._write_lock:  # one shared connection: never read mid-transaction
                yield self._open_writer(), False
            return
        readers = self._readers
        if readers is None:
            raise StorageError(f"SQLite storage '{self.url}' is not open; call open() first")
        conn = await readers.get()
        try:
            yield conn, True
        finally:
            readers.put_nowait(conn)

    async def _fetch(self, *queries: sql.Query) -> list[list[Any]]:
        """Result rows of each query, all read from one consistent snapshot."""
        async with self._reading() as (conn, private):
            if len(queries) == 1 or not private:
                return [await self._fetch_on(conn, q) for q in queries]
            await self._run(conn, sql.Query("BEGIN", ()))
            try:
                return [await self._fetch_on(conn, q) for q in queries]
            finally:
                await self._rollback(conn)  # read-only: ending the snapshot is all that is needed

    async def _fetch_on(self, conn: aiosqlite.Connection, query: sql.Query) -> list[Any]:
        try:
            return list(await conn.execute_fetchall(query.sql, query.params))
        except (sqlite3.Error, ValueError) as exc:
            raise self._error(exc) from exc

    async def _rows(self, conn: aiosqlite.Connection, query: sql.Query, table: sql.Table) -> list[dict[str, Any]]:
        return [table.decode(r) for r in await self._fetch_on(conn, query)]

    async def _run(
        self, conn: aiosqlite.Connection, query: sql.Query, table: sql.Table | None = None, row: Any = None
    ) -> int:
        """Execute one statement; return the number of rows it changed."""
        try:
            async with conn.execute(query.sql, query.params) as cursor:
                return cursor.rowcount
        except (sqlite3.Error, ValueError) as exc:
            raise self._error(exc, table, row) from exc

    def _error(self, exc: Exception, table: sql.Table | None = None, row: Any = None) -> StorageError:
        name = getattr(exc, "sqlite_errorname", "")
        if table is not None and name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"):
            if isinstance(row, dict):
                return StorageConflict(table.conflict_message(row, primary_key=name.endswith("PRIMARYKEY")))
            return StorageConflict(f"{table.noun} rows refused by the database: {exc}")
        if isinstance(exc, ValueError):  # aiosqlite: "Connection closed"
            return StorageError(f"SQLite storage '{self.url}' is closed: {exc}")
        where = f" (table {table.name})" if table is not None else ""
        return StorageError(f"SQLite error on '{self.path}'{where}: {exc}")

    async def _write(self, query: sql.Query, table: sql.Table | None = None, row: Any = None) -> int:
        async with self._writing() as conn:
            return await self._run(conn, query, table, row)

    async def _one(self, query: sql.Query, table: sql.Table) -> dict[str, Any] | None:
        (rows,) = await self._fetch(query)
        return table.decode(rows[0]) if rows else None

    async def _page(self, table: sql.Table, queries: tuple[sql.Query, sql.Query]) -> tuple[list[dict[str, Any]], int]:
        totals, rows = await self._fetch(*queries)
        return [table.decode(r) for r in rows], int(totals[0][0])

    # --- versioned entities --------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StorageTransaction]:
        async with self._writing() as conn:
            yield SqliteTransaction(self, conn)

    async def get_latest(self, kind: str, entity_id: str) -> dict[str, Any] | None:
        table = sql.table_for(kind)
        return await self._one(sql.select(D, table, {table.key: entity_id}, source=table.latest_view), table)

    async def list_latest(
        self,
        kind: str,
        *,
        filters: dict[str, Any],
        tag: str | None = None,
        sort_by: str,
        descending: bool,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        table = sql.table_for(kind)
        queries = sql.page(
            D, table, filters=filters, tag=tag, sort_by=sort_by, descending=descending,
            limit=limit, offset=offset, source=table.latest_view,
        )
        return await self._page(table, queries)

    async def list_versions(self, kind: str, entity_id: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        table = sql.table_for(kind)
        where = {table.key: entity_id}
        rows_query = sql.select(D, table, where, order=[("version", True)], limit=limit, offset=offset)
        return await self._page(table, (sql.count(D, table, where), rows_query))

    async def list_active(self, kind: str) -> list[dict[str, Any]]:
        table = sql.table_for(kind)
        query = sql.select(D, table, {"status": "active"}, order=[(table.key, False), ("version", True)])
        (rows,) = await self._fetch(query)
        return [table.decode(r) for r in rows]

    async def revision(self) -> int:
        (rows,) = await self._fetch(sql.select_revision(D))
        return int(rows[0][0]) if rows else 0

    # --- traces and audit ----------------------------------------------------------------------

    async def insert_traces(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        # One statement over a JSON array instead of executemany: the driver then needs the GIL
        # twice per batch, not once per row, so a busy event loop cannot starve the batch writer.
        statement, params = sql.insert_many(D, sql.TRACES, rows)
        columns = statement[statement.index("(") : statement.index(")") + 1]
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(params[0])))
        batch = f"INSERT INTO {D.ident(sql.TRACES.name)} {columns} SELECT {picks} FROM json_each(?)"
        async with self._writing() as conn:
            try:
                await conn.execute(batch, (orjson.dumps(params).decode(),))
            except (sqlite3.Error, ValueError) as exc:
                raise self._error(exc, sql.TRACES, rows[0] if len(rows) == 1 else None) from exc

    async def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        return await self._one(sql.select(D, sql.TRACES, {"id": trace_id}), sql.TRACES)

    async def list_traces(
        self, *, filters: dict[str, Any], sort_by: str, descending: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        queries = sql.page(D, sql.TRACES, filters=filters, sort_by=sort_by, descending=descending, limit=limit, offset=offset)
        return await self._page(sql.TRACES, queries)

    async def update_trace(self, trace_id: str, changes: dict[str, Any]) -> bool:
        return await self._write(sql.update(D, sql.TRACES, {"id": trace_id}, changes), sql.TRACES, changes) > 0

    async def delete_traces(self, *, statuses: Sequence[str], created_before: str) -> int:
        return await self._write(sql.delete_traces(D, statuses, created_before), sql.TRACES)

    async def insert_audit(self, row: dict[str, Any]) -> None:
        await self._write(sql.insert(D, sql.AUDIT_LOGS, row), sql.AUDIT_LOGS, row)

    async def list_audit(self, *, filters: dict[str, Any], limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        queries = sql.page(D, sql.AUDIT_LOGS, filters=filters, descending=True, limit=limit, offset=offset)
        return await self._page(sql.AUDIT_LOGS, queries)

    # --- connectors ----------------------------------------------------------------------------

    async def insert_connector(self, row: dict[str, Any]) -> None:
        await self._write(sql.insert(D, sql.CONNECTORS, row), sql.CONNECTORS, row)

    async def get_connector(self, connector_id: str) -> dict[str, Any] | None:
        return await self._one(sql.select(D, sql.CONNECTORS, {"id": connector_id}), sql.CONNECTORS)

    async def list_connectors(
        self, *, filters: dict[str, Any], limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        queries = sql.page(D, sql.CONNECTORS, filters=filters, descending=False, limit=limit, offset=offset)
        return await self._page(sql.CONNECTORS, queries)

    async def update_connector(self, connector_id: str, changes: dict[str, Any]) -> bool:
        return await self._write(sql.update(D, sql.CONNECTORS, {"id": connector_id}, changes), sql.CONNECTORS, changes) > 0

    async def delete_connector(self, connector_id: str) -> bool:
        return await self._write(sql.delete(D, sql.CONNECTORS, {"id": connector_id}), sql.CONNECTORS) > 0

    # --- trace dead-letter queue ---------------------------------------------------------------

    async def insert_dlq(self, row: dict[str, Any]) -> None:
        await self._write(sql.insert(D, sql.TRACE_DLQ, row), sql.TRACE_DLQ, row)

    async def due_dlq(self, now: str, limit: int) -> list[dict[str, Any]]:
        (rows,) = await self._fetch(sql.due_dlq(D, now, limit))
        return [sql.TRACE_DLQ.decode(r) for r in rows]

    async def update_dlq(self, entry_id: str, changes: dict[str, Any]) -> bool:
        return await self._write(sql.update(D, sql.TRACE_DLQ, {"id": entry_id}, changes), sql.TRACE_DLQ, changes) > 0

    async def delete_dlq(self, entry_id: str) -> bool:
        return await self._write(sql.delete(D, sql.TRACE_DLQ, {"id": entry_id}), sql.TRACE_DLQ) > 0

    async def get_dlq(self, entry_id: str) -> dict[str, Any] | None:
        return await self._one(sql.select(D, sql.TRACE_DLQ, {"id": entry_id}), sql.TRACE_DLQ)

    async def list_dlq(
        self, *, channel: str | None, exhausted: bool | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        return await self._page(sql.TRACE_DLQ, sql.list_dlq(D, channel=channel, exhausted=exhausted, limit=limit, offset=offset))

    async def purge_dlq(self, *, exhausted_only: bool, created_before: str | None) -> int:
        return await self._write(sql.purge_dlq(D, exhausted_only=exhausted_only, created_before=created_before), sql.TRACE_DLQ)

    # --- the async queue -----------------------------------------------------------------------

    async def expired_async_jobs(self, now: str, limit: int) -> list[dict[str, Any]]:
        (rows,) = await self._fetch(sql.expired_async_jobs(D, now, limit))
        return [sql.ASYNC_JOBS.decode(r) for r in rows]

    # --- backups -------------------------------------------------------------------------------

    async def backup(self, path: str) -> None:
        """Write a consistent copy of the database to the new file ``path`` (``VACUUM INTO``)."""
        if self._owner is not None and self._owner is asyncio.current_task():
            raise StorageError("backup() cannot run inside a write transaction; call it after the transaction")
        async with self._write_lock:  # VACUUM cannot run inside BEGIN; holding the lock keeps writes out
            await self._run(self._open_writer(), sql.Query("VACUUM INTO ?", (path,)))


@hookimpl
def orion_storage_backend_for_url(url: str, options: dict[str, Any]) -> SqliteStorage | None:
    """Claim ``sqlite:`` and ``file:`` URLs."""
    if not url.lower().startswith(SCHEMES):
        return None
    return SqliteStorage(url, options)
