"""Count a policy's state-store failures and warn about them without writing a line per request."""
from __future__ import annotations

import logging
import time


class StoreFailures:
    """How often one policy found its state store unavailable, and a warning at most once per ``every``.

    ``count`` only grows (a metrics exporter reads it). While a shared store is down every request
    fails over; one warning per interval, naming the failures since the previous one, says so.
    """

    def __init__(self, logger: logging.Logger, what: str, every: float = 10.0) -> None:
        self.logger = logger
        self.what = what
        self.every = every
        self.count = 0
        self._reported = 0
        self._warned_at: float | None = None

    def record(self, action: str, exc: Exception) -> None:
        """One more failure, handled by ``action`` (e.g. "request let through without deduplication")."""
        self.count += 1
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= self.every:
            self._warned_at = now
            unreported, self._reported = self.count - self._reported, self.count
            self.warn(unreported, action, exc)

    def warn(self, unreported: int, action: str, exc: Exception) -> None:
        self.logger.warning("%s: state store unavailable, %s (%d failure(s) since the last warning): %s",
                            self.what, action, unreported, exc)
