"""Trace persistence off the hot path: rows are queued and committed in batches.

Modes (``[tracing.storage] mode``, or a channel's ``config.tracing.mode`` passed per row):
``batch`` (default) queues rows and a background task commits them in one transaction every
``batch_flush_interval_ms`` or ``batch_size`` rows; ``async`` is the same queue flushed as soon
as rows arrive; ``sync`` writes inside the request; ``off`` stores nothing. A full queue drops the
row (counted), so a slow database never grows memory without bound or stalls requests. The
background task starts with the first queued row, so a process that never queues one has none.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from .storage import StorageBackend

logger = logging.getLogger("orion.traces")


class TraceWriter:
    """Accepts finished trace rows and persists them according to the configured mode."""

    def __init__(self, storage: StorageBackend, config: dict[str, Any]) -> None:
        settings = config["tracing"]["storage"]
        self.storage = storage
        self.mode: str = settings["mode"]
        self.batch_size: int = max(1, settings["batch_size"])
        self.flush_interval = settings["batch_flush_interval_ms"] / 1000.0
        self.max_pending: int = settings["max_pending"]
        self.dropped = 0
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Allow background writing (the task itself starts with the first queued row)."""
        self._stopping = False

    async def record(self, row: dict[str, Any], mode: str | None = None) -> None:
        """Persist ``row`` per ``mode`` (default: the configured mode); never raises (a failed
        write is logged)."""
        mode = mode or self.mode
        if mode == "off":
            return
        if mode == "sync" or self._stopping:
            await self._write([row])
            return
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        self._pending.append(row)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="orion-trace-writer")
        if mode == "async" or len(self._pending) >= self.batch_size:
            self._wake.set()

    async def flush(self) -> None:
        """Commit everything queued so far."""
        while self._pending:
            rows, self._pending = self._pending[: self.batch_size * 10], self._pending[self.batch_size * 10 :]
            await self._write(rows)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            await self.storage.insert_traces(rows)
        except Exception:
            logger.exception("failed to store %d trace row(s)", len(rows))

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            if self._pending:
                await self.flush()

    async def stop(self) -> None:
        """Stop the background task and commit what is still queued.

        The task is asked to finish, never cancelled: a commit cancelled halfway would lose its
        rows and leave the connection inside a transaction, failing the final flush too.
        """
        self._stopping = True
        if self._task is not None:
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()
