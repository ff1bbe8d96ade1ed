"""The workflow message (workflows.md §4) and the helpers that record audit and errors on it."""
from __future__ import annotations

import time
from typing import Any

from .ids import uuid4_str
from .paths import ROOTS

_second_text: tuple[int, str] = (-1, "")  # (Unix second, its "YYYY-MM-DDTHH:MM:SS"), swapped as one


def _utc_now() -> tuple[str, int]:
    """``("YYYY-MM-DDTHH:MM:SS", microseconds)`` for now, UTC; the text is formatted once a second."""
    global _second_text
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached = _second_text
    if cached[0] != second:
        cached = _second_text = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return cached[1], nanos // 1000


def rfc3339_now() -> str:
    """Current UTC time as RFC 3339 with a ``Z`` suffix and microseconds."""
    text, micros = _utc_now()
    return f"{text}.{micros:06d}Z"


def storage_now() -> str:
    """Current UTC time as stored and returned by the admin API (no zone suffix)."""
    text, micros = _utc_now()
    return f"{text}.{micros:06d}"


class Message:
    """One unit of work: an immutable payload and the mutable context tasks read and write."""

    __slots__ = ("id", "payload", "context", "audit_trail", "errors")

    def __init__(self, payload: Any, metadata: dict[str, Any] | None = None, message_id: str | None = None) -> None:
        self.id = message_id or uuid4_str()
        self.payload = payload
        self.context: dict[str, Any] = {"data": {}, "metadata": metadata if metadata is not None else {}, "temp_data": {}}
        self.audit_trail: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []

    @property
    def data(self) -> Any:
        return self.context["data"]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.context["metadata"]

    def add_error(
        self,
        code: str,
        message: str,
        *,
        workflow_id: str | None = None,
        task_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Append an ErrorInfo entry; ``workflow_id``/``task_id`` are omitted when unknown."""
        entry: dict[str, Any] = {"code": code, "message": message, "path": path}
        if workflow_id is not None:
            entry["workflow_id"] = workflow_id
        if task_id is not None:
            entry["task_id"] = task_id
        entry["timestamp"] = rfc3339_now()
        self.errors.append(entry)

    def snapshot(self) -> dict[str, Any]:
        """The whole message as a JSON-ready dict (context keys beyond the roots included)."""
        context = {root: self.context.get(root) for root in ROOTS}
        for key, value in self.context.items():
            if key not in context:
                context[key] = value
        return {
            "id": self.id,
            "payload": self.payload,
            "context": context,
            "audit_trail": self.audit_trail,
            "errors": self.errors,
        }
