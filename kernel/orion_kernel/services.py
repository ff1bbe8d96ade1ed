"""Kernel services a task function may use while it runs."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .expressions import ExpressionEngine
    from .message import Message


class ChannelNotFound(Exception):
    """No active channel of that name has loaded workflows."""


class ChannelRunner(Protocol):
    async def run_channel(self, name: str, message: Message, *, request_id: str | None) -> None:
        """Run the workflows of channel ``name`` on ``message``.

        Raises :class:`ChannelNotFound`, or ``RunAborted`` when a failure stopped the run.
        """


class Services:
    """Configuration, the expression engine and in-process channel calls."""

    def __init__(self, config: dict[str, Any], expressions: ExpressionEngine, runner: ChannelRunner | None = None) -> None:
        self.config = config
        self.expressions = expressions
        self.runner = runner

    async def run_channel(self, name: str, message: Message, *, request_id: str | None = None) -> None:
        """Run another channel's workflows on ``message`` in-process (used by ``channel_call``)."""
        if self.runner is None:
            raise ChannelNotFound(name)
        await self.runner.run_channel(name, message, request_id=request_id)
