"""The live engine: holds the current snapshot, rebuilds it on change, runs channels."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from ..channel_filter import ChannelFilter
from ..context import RunInfo
from ..expressions import ExpressionEngine
from ..message import Message
from ..services import ChannelNotFound, Services
from ..storage import CHANNEL, WORKFLOW, StorageBackend
from ..types import TaskFunction
from .executor import run_workflows
from .snapshot import CompiledChannel, Snapshot, build_snapshot

logger = logging.getLogger("orion.engine")


class EngineRuntime:
    """Owns the current :class:`Snapshot`; a reload builds a new one and swaps one reference."""

    def __init__(
        self,
        storage: StorageBackend,
        functions: Mapping[str, TaskFunction],
        expressions: ExpressionEngine,
        config: dict[str, Any],
    ) -> None:
        self.storage = storage
        self.functions = functions
        self.expressions = expressions
        self.config = config
        channels_cfg = config.get("channels", {})
        self.channel_filter = ChannelFilter(channels_cfg.get("include", ()), channels_cfg.get("exclude", ()))
        self.services = Services(config, expressions, runner=self)
        self.snapshot: Snapshot = Snapshot.empty()
        self.started_at = time.time()
        self.reloads = 0
        self._reload_lock = asyncio.Lock()

    async def reload(self) -> Snapshot:
        """Read every active definition, compile, and swap the snapshot in."""
        async with self._reload_lock:
            revision = await self.storage.revision()
            workflows = await self.storage.list_active(WORKFLOW)
            channels = await self.storage.list_active(CHANNEL)
            snapshot = build_snapshot(workflows, channels, self.functions, self.expressions, self.channel_filter, revision)
            self.snapshot = snapshot
            self.reloads += 1
            logger.debug("engine reloaded at revision %s: %d channels, %d workflows",
                         revision, len(snapshot.channels), snapshot.workflows_count)
            return snapshot

    async def reload_if_changed(self) -> bool:
        """Reload when the stored revision differs from the snapshot's (another worker changed it)."""
        if await self.storage.revision() != self.snapshot.revision:
            await self.reload()
            return True
        return False

    async def watch(self, interval: float) -> None:
        """Poll the stored revision forever, reloading on change (one per worker process)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload_if_changed()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("engine revision poll failed; retrying")

    async def execute(self, channel: CompiledChannel, message: Message, request_id: str | None,
                      steps: list[dict[str, Any]] | None = None, bucket: int | None = None) -> None:
        """Run ``channel``'s workflows on ``message``; raises RunAborted when a failure stops it.

        ``bucket`` is the caller's sticky rollout bucket (None: a random one).
        """
        run = RunInfo(self.services, channel.name, request_id, copy_changes=steps is not None)
        await run_workflows(channel.workflows, message, run, steps=steps, bucket=bucket)

    async def run_channel(self, name: str, message: Message, *, request_id: str | None = None) -> None:
        """In-process call of a channel (``channel_call``): no HTTP governance applies."""
        channel = self.snapshot.channels.get(name)
        if channel is None or not channel.workflows:
            raise ChannelNotFound(name)
        await self.execute(channel, message, request_id)
