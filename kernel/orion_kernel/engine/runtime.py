"""The live engine: holds the current snapshot, rebuilds it on change, runs channels."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from ..channel_filter import ChannelFilter
from ..context import RunInfo
from ..expressions import ExpressionEngine
from ..governance import INGRESS_CALL, ChannelRequest, PolicyCatalog, Proceed
from ..governance.catalog import compose
from ..message import Message
from ..profiling import HandlerSample
from ..services import ChannelNotFound, Services
from ..storage import CHANNEL, WORKFLOW, StorageBackend
from ..types import TaskFunction
from ..ingress import Terminal
from .executor import run_workflows
from .snapshot import CompiledChannel, Snapshot, build_snapshot

logger = logging.getLogger("orion.engine")

INTERNAL_CLIENT = "internal"  # the client address policies see for an in-process channel_call


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
        self.policies: PolicyCatalog | None = None
        self.terminals: dict[str, Terminal] = {}
        self.started_at = time.time()
        self.reloads = 0
        self._reload_lock = asyncio.Lock()

    async def reload(self) -> Snapshot:
        """Read every active definition, compile, and swap the snapshot in."""
        async with self._reload_lock:
            revision = await self.storage.revision()
            workflows = await self.storage.list_active(WORKFLOW)
            channels = await self.storage.list_active(CHANNEL)
            snapshot = build_snapshot(workflows, channels, self.functions, self.expressions, self.channel_filter, revision,
                                      pipelines_for=self.pipelines_for, trace_settings=self.config["tracing"]["storage"])
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

    def pipelines_for(self, channel: CompiledChannel) -> dict[str, Proceed]:
        """Each ingress path's chain for ``channel``: its bound policies around the path's terminal."""
        bound = self.policies.bind(channel.name, channel.config) if self.policies is not None else {}
        return {
            ingress: compose(bound.get(ingress, ()), partial(terminal, channel))
            for ingress, terminal in self.terminals.items()
        }

    async def execute(self, channel: CompiledChannel, message: Message, request_id: str | None,
                      steps: list[dict[str, Any]] | None = None, bucket: int | None = None) -> None:
        """Run ``channel``'s workflows on ``message``; raises RunAborted when a failure stops it.

        ``bucket`` is the caller's sticky rollout bucket (None: a random one).
        """
        run = RunInfo(self.services, channel.name, request_id, copy_changes=steps is not None)
        await run_workflows(channel.workflows, message, run, steps=steps, bucket=bucket)

    async def run_channel(self, name: str, message: Message, *, request_id: str | None = None) -> None:
        """In-process call of a channel (``channel_call``), through the channel's ``call`` chain.

        Raises ChannelNotFound, RunAborted, or ApiError when a policy refused the call.
        """
        channel = self.snapshot.channels.get(name)
        if channel is None or not channel.workflows:
            raise ChannelNotFound(name)
        call = ChannelRequest(name, INGRESS_CALL, message, request_id, client_ip=INTERNAL_CLIENT)
        with HandlerSample("channel_call"):  # a handler sample when the request is profiled
            await channel.pipelines[INGRESS_CALL](call)
