"""Descriptor types plugins hand to the kernel: task functions, storage backends, outcomes."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from marshmallow import Schema

if TYPE_CHECKING:
    from .context import TaskContext
    from .errors import FieldError


class Outcome:
    """A non-status task result: ``SKIP`` (as if not run) or ``HALT`` (stop this workflow)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


SKIP = Outcome("SKIP")
HALT = Outcome("HALT")
HALT_STATUS = 299

TaskResult = Union[None, int, Outcome]
"""What ``run`` returns: ``None`` (success, 200), an HTTP-like status (400 continues, ≥500 fails),
``SKIP`` or ``HALT``. Failures are raised as :class:`orion_kernel.TaskError`."""

RunFunction = Callable[["TaskContext", dict[str, Any]], Awaitable[TaskResult]]
InputCheck = Callable[[dict[str, Any]], "list[FieldError]"]


@dataclass(frozen=True)
class TaskFunction:
    """A task function a plugin provides.

    ``input_schema`` (marshmallow) is loaded once when the engine is built; fields declared with
    :class:`orion_kernel.fields.Logic` arrive in ``params`` as compiled expressions. Unknown
    input keys are ignored unless ``strict_input``. ``check_input`` adds cross-field rules and
    returns FieldErrors with paths relative to the input (``""`` = the input itself).
    """

    name: str
    run: RunFunction
    input_schema: type[Schema] | None = None
    description: str = ""
    category: str = "custom"
    aliases: tuple[str, ...] = ()
    strict_input: bool = False
    check_input: InputCheck | None = None
    connector_kinds: tuple[str, ...] = field(default=())
