"""Governance policy ``timeout_ms`` (channels.md §4.2): bound a channel's workflow run, cancel it, answer 504.

The policy sets the time limit on the request; the ingress terminal runs the workflows inside
``asyncio.timeout`` with it, so only the run is bounded (not the envelope, not the trace write)
and a run that overstays is really cancelled. ``0`` means no limit, like an absent key.
"""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from orion_kernel import ApiError, hookimpl
from orion_kernel.governance import (
    INGRESS_CALL,
    INGRESS_KAFKA,
    INGRESS_SYNC,
    ChannelPolicy,
    ChannelRequest,
    PolicyConfigError,
    PolicySetup,
    Proceed,
    Reply,
)

CONFIG_KEY = "timeout_ms"
ORDER = 700
_MILLISECONDS = fields.Integer(strict=True, validate=validate.Range(min=0, max=2_147_483_647))  # ~24.8 days


class RunTimeout:
    """The bound policy: the request's run gets ``ms`` milliseconds; overstaying → 504 ``TIMEOUT``."""

    __slots__ = ("seconds", "message")

    def __init__(self, channel: str, ms: int) -> None:
        self.seconds = ms / 1000.0
        self.message = f"Workflow execution on channel '{channel}' exceeded {ms}ms timeout"

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        request.run_timeout = self.seconds
        try:
            return await proceed(request)
        except TimeoutError:
            # only the terminal's deadline raises it here: a task's own TimeoutError becomes a task error
            raise ApiError("TIMEOUT", self.message) from None


def bind(block: Any, setup: PolicySetup, channel: str) -> RunTimeout | None:
    """``timeout_ms``: an integer ≥ 0; 0 binds nothing (no limit)."""
    try:
        ms = _MILLISECONDS.deserialize(block)
    except ValidationError as exc:
        raise PolicyConfigError([("", text) for text in exc.messages]) from None
    return RunTimeout(channel, ms) if ms else None


@hookimpl
def orion_channel_policies():
    yield ChannelPolicy(
        name="timeout",
        config_key=CONFIG_KEY,
        order=ORDER,
        bind=bind,
        ingress=frozenset({INGRESS_SYNC, INGRESS_CALL, INGRESS_KAFKA}),
        description="Bound the workflow run; cancel it and answer 504 TIMEOUT when it overstays",
    )
