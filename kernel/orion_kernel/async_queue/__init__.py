"""Asynchronous processing (api-data.md §7): submissions become persisted jobs, queue workers run
them, failures go to the dead-letter queue and are retried with backoff (docs/async.md)."""
from .service import AsyncQueue
from .submit import AsyncSubmit

__all__ = ["AsyncQueue", "AsyncSubmit"]
