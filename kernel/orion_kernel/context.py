"""What a task function sees while it runs: the message, where it is, and the kernel's services."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from .paths import get_path, set_path, write_output

if TYPE_CHECKING:
    from .message import Message
    from .services import Services


def _copy(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.loads(orjson.dumps(value))
    return value


class RunInfo:
    """Facts about one message run shared by all of its tasks."""

    __slots__ = ("channel", "request_id", "services", "copy_changes")

    def __init__(
        self, services: Services, channel: str | None = None, request_id: str | None = None, *, copy_changes: bool = False
    ) -> None:
        self.services = services
        self.channel = channel
        self.request_id = request_id
        # Audit changes hold references to the values written; later writes inside those values
        # would show through. Runs whose audit trail is returned (dry-run, async results, per-task
        # traces) copy containers when recording; the sync hot path, which never returns it, doesn't.
        self.copy_changes = copy_changes


class TaskContext:
    """The message a task works on, plus the identity of the task and the kernel services.

    Writes made through :meth:`write` / :meth:`write_output` are recorded as audit changes.
    """

    __slots__ = ("message", "run", "workflow_id", "task_id", "changes")

    def __init__(self, message: Message, run: RunInfo) -> None:
        self.message = message
        self.run = run
        self.workflow_id: str | None = None
        self.task_id: str | None = None
        self.changes: list[dict[str, Any]] = []

    # --- the message ---------------------------------------------------------------------------

    @property
    def context(self) -> dict[str, Any]:
        """The live evaluation context ``{data, metadata, temp_data, ...}``."""
        return self.message.context

    @property
    def payload(self) -> Any:
        return self.message.payload

    @property
    def data(self) -> Any:
        return self.message.context["data"]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.message.context["metadata"]

    @property
    def services(self) -> Services:
        return self.run.services

    @property
    def channel(self) -> str | None:
        return self.run.channel

    @property
    def request_id(self) -> str | None:
        return self.run.request_id

    def read(self, path: str, default: Any = None) -> Any:
        """Read a context path (``data.order.id``, ``metadata.headers``)."""
        return get_path(self.message.context, path, default)

    def write(self, path: str, value: Any) -> None:
        """Set ``value`` at a context path (plain set, no root merge) and record the change."""
        written, old = set_path(self.message.context, path, value)
        if written:
            self._record(path, old, value)

    def write_output(self, path: str, value: Any) -> None:
        """Write a function output (functions.md §1.5: a bare root merges objects) and record it."""
        written, old = write_output(self.message.context, path, value)
        if written:
            self._record(path, old, value)

    def _record(self, path: str, old: Any, new: Any) -> None:
        if self.run.copy_changes:
            old, new = _copy(old), _copy(new)
        self.changes.append({"path": path, "old_value": old, "new_value": new})

    def add_error(self, code: str, message: str, *, with_location: bool = False, path: str | None = None) -> None:
        """Append an ErrorInfo to the message; ``with_location`` adds this workflow and task id,
        ``path`` the context path the error is about (``null`` when omitted)."""
        if with_location:
            self.message.add_error(code, message, workflow_id=self.workflow_id, task_id=self.task_id, path=path)
        else:
            self.message.add_error(code, message, path=path)
