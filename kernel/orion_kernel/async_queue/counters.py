"""What the async queue counts, per process: plain numbers a metrics exporter can read."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class QueueCounters:
    """Totals since this process started; ``depth`` and ``running`` are read from the queue itself."""

    accepted: int = 0  # submissions answered 202
    rejected: int = 0  # submissions answered 503 (queue full)
    completed: int = 0
    failed: int = 0
    duration_ms_total: float = 0.0  # over completed and failed runs
    duration_ms_max: float = 0.0
    dead_lettered: int = 0  # failures filed in the dead-letter queue
    dlq_retries: int = 0  # entries put back on the queue by the retry task
    dlq_requeued: int = 0  # entries put back by an operator
    dlq_exhausted: int = 0  # failures that used up their retries
    resumed: int = 0  # pending jobs of a stopped process taken over here
    interrupted: int = 0  # running jobs of a stopped process marked failed here
    lost_claims: int = 0  # jobs another process took over before this one finished them
    retention_deleted: int = 0  # traces the retention sweep deleted

    def ran(self, duration_ms: float, ok: bool) -> None:
        if ok:
            self.completed += 1
        else:
            self.failed += 1
        self.duration_ms_total += duration_ms
        self.duration_ms_max = max(self.duration_ms_max, duration_ms)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["duration_ms_total"] = round(self.duration_ms_total, 3)
        return out
