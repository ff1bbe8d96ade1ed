"""Count and report state-store failures of a policy that fails open, without flooding the log."""
from __future__ import annotations

import logging
import time

WARN_EVERY_SECS = 10.0


class StoreFailures:
    """``count`` of StoreUnavailable seen by one bound policy; a warning at most every 10 seconds.

    While a shared store is down every request fails over; one warning per interval (with the
    number of failures since the previous one) says so without writing a line per request.
    """

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.count = 0
        self._reported = 0
        self._last_warning = -WARN_EVERY_SECS

    def record(self, action: str, exc: Exception) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECS:
            self._last_warning = now
            unreported, self._reported = self.count - self._reported, self.count
            self.logger.warning("%s: state store unavailable, %s (%d failure(s) since the last warning): %s",
                                self.what, action, unreported, exc)
