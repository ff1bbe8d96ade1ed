"""Dead-letter entries: what a failed job leaves behind, when it is retried, and the job a retry runs.

The attempt count travels with the item (api-data.md §7.3): a job run from an entry with
``retry_count = n`` is attempt ``n + 1``; when it fails again its entry comes back (same id) with
``retry_count = n + 1`` and the next retry ``2^(n+1)`` seconds later. An entry whose
``retry_count`` reached ``max_retries`` is *exhausted*: it stays for an operator, never retried
by itself, so a poison message stops.
"""
from __future__ import annotations

from typing import Any

from ..ids import uuid7_str
from ..trace_policy import RECORD_FULL
from .jobs import Job, stamp

#: longest wait between two automatic retries (2^n seconds grows past a day at n = 17)
MAX_BACKOFF_SECS = 86_400


def backoff_secs(retry_count: int) -> int:
    """Seconds before retry number ``retry_count + 1``: 1, 2, 4, 8, … (capped at a day)."""
    return min(2 ** max(0, retry_count), MAX_BACKOFF_SECS)


def is_exhausted(entry: dict[str, Any]) -> bool:
    return int(entry["retry_count"]) >= int(entry["max_retries"])


def dead_letter(job: Job, error: str, max_retries: int) -> dict[str, Any]:
    """The ``trace_dlq`` row of a job that failed with ``error`` (its ``attempt`` is its retry count)."""
    now = stamp()
    return {
        "id": job.dlq_id or uuid7_str(), "trace_id": job.id, "channel": job.channel, "payload_json": job.payload_json,
        "metadata_json": job.metadata_json, "error_message": error, "retry_count": job.attempt,
        "max_retries": max_retries, "next_retry_at": stamp(backoff_secs(job.attempt)), "created_at": now, "updated_at": now,
    }


def retry_job(entry: dict[str, Any], *, attempt: int, record: str = RECORD_FULL, steps: bool = False,
              channel_id: str | None = None) -> Job:
    """A new job (new trace id) for a dead-letter entry, counted as ``attempt``."""
    return Job.new(entry["channel"], entry["payload_json"], entry["metadata_json"], record=record, steps=steps,
                   attempt=attempt, dlq_id=entry["id"], channel_id=channel_id)
