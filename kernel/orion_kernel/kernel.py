"""The kernel of one process: config, plugins, storage, engine runtime, trace writer and async queue."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from .async_queue import AsyncQueue, AsyncSubmit
from .engine.runtime import EngineRuntime
from .governance import INGRESS_ASYNC, INGRESS_CALL, INGRESS_SYNC, ClientAddress, PolicyCatalog, PolicySetup
from .ingress import CallRun, SyncRun
from .plugins import PluginSet, load_plugins
from .storage import StorageBackend
from .trace_writer import TraceWriter

logger = logging.getLogger("orion.kernel")

REVISION_POLL_SECS = 0.25


class Kernel:
    """Everything one worker process needs; started once, stopped once."""

    def __init__(self, config: dict[str, Any], plugins: PluginSet | None = None) -> None:
        self.config = config
        self.plugins = plugins or load_plugins(
            disabled=config["plugins"]["disabled"], modules=config["plugins"]["modules"]
        )
        if self.plugins.expression_engine is None:
            raise RuntimeError("no expression-engine plugin is loaded; is the 'datalogic' plugin disabled?")
        self.storage: StorageBackend = self.plugins.storage_backend(config["storage"]["url"], config["storage"])
        self.runtime = EngineRuntime(self.storage, self.plugins.functions, self.plugins.expression_engine, config)
        self.traces = TraceWriter(self.storage, config)
        governance = config["governance"]
        self.local_store = self.plugins.state_store("memory://", governance)
        url = governance["store"]
        self.store = self.local_store if url in ("memory://", "memory") else self.plugins.state_store(url, governance)
        self.clients = ClientAddress(config["server"]["trusted_proxies"])
        self.debug_profile: bool = config["tracing"]["debug_profile_enabled"]  # X-Orion-Profile is honoured
        setup = PolicySetup(self.plugins.expression_engine, config, self.store, self.local_store)
        self.runtime.policies = PolicyCatalog(self.plugins.policies.values(), setup)
        self.runtime.terminals[INGRESS_SYNC] = SyncRun(self.runtime, self.traces, config)
        self.runtime.terminals[INGRESS_CALL] = CallRun(self.runtime)
        self.queue = AsyncQueue(self.storage, self.runtime, config)
        self.runtime.terminals[INGRESS_ASYNC] = AsyncSubmit(self.queue)
        self.ready = False
        self.shutting_down = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, *, migrate: bool = True, watch: bool = True) -> None:
        """Open storage, apply migrations, build the first snapshot, start background tasks."""
        await self.storage.open()
        await self.local_store.open()
        if self.store is not self.local_store:
            await self.store.open()  # a remote store connects lazily: unreachable now is not fatal
        if migrate:
            applied = await self.storage.migrate()
            if applied:
                logger.info("applied %d migration(s)", len(applied))
        await self.runtime.reload()
        self.traces.start()
        self.queue.start()
        if watch:
            self._tasks.append(asyncio.create_task(self.runtime.watch(REVISION_POLL_SECS), name="orion-revision-watch"))
        self.ready = True

    def begin_shutdown(self) -> None:
        """Report not-ready from now on (load balancers stop routing during the drain)."""
        self.shutting_down = True
        self.ready = False

    async def stop(self) -> None:
        """Stop background tasks, drain the async queue, flush traces, close storage."""
        self.begin_shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.queue.stop()
        await self.traces.stop()
        if self.store is not self.local_store:
            await self.store.close()
        await self.local_store.close()
        await self.storage.close()
