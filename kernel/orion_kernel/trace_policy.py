"""Which trace rows a channel keeps: ``[tracing.storage]`` with the channel's ``config.tracing`` overrides.

Resolved once per channel when a snapshot is built (channels.md §4.8); a request only reads the
result. ``sample_rate`` is a coin flip per run, ``errors_only`` keeps only runs that ended with
errors (sync: a non-empty ``errors``; async: a failed run). ``per_task`` is read separately
(``CompiledChannel.trace_tasks``).
"""
from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .sql import dump_json

logger = logging.getLogger("orion.traces")

OFF = "off"
MODES = ("sync", "async", "batch", OFF)

#: what an async submission records: the whole life of its trace, only a failure, or nothing
RECORD_FULL = "full"
RECORD_ERRORS = "errors"
RECORD_NONE = "none"


@dataclass(frozen=True, slots=True)
class TracePolicy:
    """The effective trace-storage settings of one channel."""

    mode: str
    sample_rate: float = 1.0
    errors_only: bool = False

    def sampled(self) -> bool:
        """The per-run coin flip of ``sample_rate`` (no random draw at 0 or 1)."""
        rate = self.sample_rate
        return rate >= 1.0 or (rate > 0.0 and random.random() < rate)

    def keeps_sync(self, has_errors: bool) -> bool:
        """Whether a finished synchronous run's row is stored."""
        if self.mode == OFF or (self.errors_only and not has_errors):
            return False
        return self.sampled()

    def async_record(self, channel: str) -> tuple[str, str | None]:
        """``(record, warning)`` for one async submission: what its trace stores, and the
        ``Warning`` header text when the caller gets no trace id to poll (api-data.md §7.1)."""
        if self.mode == OFF:
            return RECORD_NONE, f"Trace persistence disabled for channel '{channel}'"
        if not self.sampled():
            return RECORD_NONE, f"Trace not persisted for channel '{channel}' (sampled out by tracing.sample_rate)"
        if self.errors_only:
            return RECORD_ERRORS, f"Trace persisted for channel '{channel}' only if the run fails (tracing.errors_only)"
        return RECORD_FULL, None


#: the policy of a channel built without server settings (the configuration's defaults)
DEFAULT_TRACE_POLICY = TracePolicy("batch")


def trace_policy(settings: Mapping[str, Any], channel_config: Any) -> TracePolicy:
    """The policy of a channel: each key of its ``tracing`` block, else the global setting.

    ``settings`` is ``config["tracing"]["storage"]``. A block stored by an older version that no
    longer validates is read leniently: a value of the wrong type is ignored.
    """
    block = channel_config.get("tracing") if isinstance(channel_config, Mapping) else None
    block = block if isinstance(block, Mapping) else {}
    mode = block.get("mode")
    rate = block.get("sample_rate")
    errors_only = block.get("errors_only")
    return TracePolicy(
        mode=mode if mode in MODES else settings["mode"],
        sample_rate=float(rate if isinstance(rate, (int, float)) and not isinstance(rate, bool) else settings["sample_rate"]),
        errors_only=errors_only if isinstance(errors_only, bool) else bool(settings["errors_only"]),
    )


def task_trace_text(channel: str, steps: list[dict[str, Any]] | None, limit: int) -> str | None:
    """A run's per-task trace as stored on its row (``{"steps": [...]}``, api-data.md §5.4); None
    when it was not captured or is larger than ``limit`` bytes (``queue.max_result_size_bytes``)."""
    if steps is None:
        return None
    text = dump_json({"steps": steps})
    if limit and len(text) > limit:
        logger.warning("channel '%s': per-task trace of %d bytes exceeds queue.max_result_size_bytes (%d); not stored",
                       channel, len(text), limit)
        return None
    return text
