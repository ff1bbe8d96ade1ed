"""Trace retention (api-data.md §8.4): finished traces older than ``queue.trace_retention_hours`` go.

Only ``completed`` and ``failed`` rows are deleted; ``pending`` and ``running`` ones never are.
"""
from __future__ import annotations

import logging

from ..storage import StorageBackend
from .jobs import COMPLETED, FAILED, stamp

logger = logging.getLogger("orion.queue")

FINISHED = (COMPLETED, FAILED)


async def sweep_traces(storage: StorageBackend, retention_hours: int) -> int:
    """Delete finished traces created more than ``retention_hours`` ago; how many."""
    deleted = await storage.delete_traces(statuses=FINISHED, created_before=stamp(-retention_hours * 3600.0))
    if deleted:
        logger.info("trace retention deleted %d trace(s) older than %dh", deleted, retention_hours)
    return deleted
