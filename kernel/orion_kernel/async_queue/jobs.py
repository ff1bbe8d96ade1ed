"""One accepted async job as the queue carries it, and the rows it is stored as."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..ids import uuid7_str
from ..message import storage_now
from ..sql import TIMESTAMP_FORMAT
from ..trace_policy import RECORD_FULL

PENDING = "pending"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
ASYNC = "async"
#: ``lease_until`` of a released claim: already expired, so any process takes the job at once
RELEASED = "1970-01-01T00:00:00.000000"


def stamp(offset_secs: float = 0.0) -> str:
    """The storage timestamp (UTC, ``YYYY-MM-DDTHH:MM:SS.ffffff``) ``offset_secs`` from now."""
    if not offset_secs:
        return storage_now()
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_secs)).strftime(TIMESTAMP_FORMAT)


@dataclass(slots=True)
class Job:
    """A message waiting for (or running on) a queue worker.

    Payload and metadata stay serialized while queued: that is what the memory bound counts and
    what storage holds, and the worker parses them once when it runs the job. ``attempt`` is how
    many dead-letter retries came before this run (0 = the original submission); ``dlq_id``
    names the dead-letter entry it came from, so a failure files it under the same entry.
    """

    id: str
    channel: str
    payload_json: str
    metadata_json: str
    record: str = RECORD_FULL  # trace_policy.RECORD_*: what the trace row of this job stores
    steps: bool = False  # capture per-task steps (config.tracing.per_task)
    profile: bool = False  # the submission asked for a profile (X-Orion-Profile, when allowed)
    attempt: int = 0
    dlq_id: str | None = None
    bucket: int | None = None  # the caller's sticky rollout bucket, drawn at submission
    channel_id: str | None = None
    created_at: str = field(default_factory=storage_now)

    @classmethod
    def new(cls, channel: str, payload_json: str, metadata_json: str, **fields: Any) -> Job:
        return cls(uuid7_str(), channel, payload_json, metadata_json, **fields)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        """The job of an ``async_jobs`` row (a claim taken over from another process)."""
        return cls(row["id"], row["channel"], row["payload_json"], row["metadata_json"], row["trace_record"],
                   bool(row["trace_steps"]), bool(row["profile"]), int(row["attempt"]), row["dlq_id"], row["bucket"],
                   created_at=row["created_at"])

    @property
    def size(self) -> int:
        """Bytes it holds while queued (what ``queue.max_queue_memory_bytes`` bounds)."""
        return len(self.payload_json) + len(self.metadata_json)

    @property
    def trace_id(self) -> str | None:
        """The id a caller can poll: only a job whose whole trace is stored has one."""
        return self.id if self.record == RECORD_FULL else None

    def row(self, owner: str, lease_until: str) -> dict[str, Any]:
        """Its ``async_jobs`` row, claimed by ``owner`` until ``lease_until``."""
        return {
            "id": self.id, "channel": self.channel, "trace_record": self.record, "trace_steps": self.steps,
            "profile": self.profile,
            "payload_json": self.payload_json, "metadata_json": self.metadata_json, "attempt": self.attempt,
            "dlq_id": self.dlq_id, "bucket": self.bucket, "status": PENDING, "owner": owner,
            "lease_until": lease_until, "created_at": self.created_at, "updated_at": self.created_at,
        }

    def trace_row(self, status: str, **fields: Any) -> dict[str, Any]:
        """A ``traces`` row for this job in ``status`` (api-data.md §8)."""
        row = {"id": self.id, "channel": self.channel, "channel_id": self.channel_id, "mode": ASYNC, "status": status,
               "input_json": self.payload_json, "created_at": self.created_at, "updated_at": storage_now()}
        row.update(fields)
        return row
