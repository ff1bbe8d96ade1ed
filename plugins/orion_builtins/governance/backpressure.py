"""Governance policy ``backpressure`` (channels.md §4.4): at most ``max_concurrent`` runs of a channel at once.

A request that finds every slot taken is refused at once with 503 (no queue, so nothing grows
while the channel is saturated). The counter lives in this worker process: with
``server.workers = N`` the channel runs at most N × ``max_concurrent`` requests in all. A reload
binds fresh counters; requests still running on the old snapshot release the old ones.
"""
from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from orion_kernel import ApiError, hookimpl
from orion_kernel.governance import (
    INGRESS_CALL,
    INGRESS_KAFKA,
    INGRESS_SYNC,
    ChannelPolicy,
    ChannelRequest,
    PolicySetup,
    Proceed,
    Reply,
    load_block,
)

CONFIG_KEY = "backpressure"
ORDER = 600


class BackpressureBlock(Schema):
    class Meta:
        unknown = RAISE

    max_concurrent = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2_147_483_647))
    queue_depth = fields.Integer(strict=True, allow_none=True)  # accepted and ignored: there is no queue


_SCHEMA = BackpressureBlock()


class ConcurrencyLimit:
    """The bound policy: a slot per running request, released on every way out of the run."""

    __slots__ = ("limit", "active", "message")

    def __init__(self, channel: str, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.message = f"Channel '{channel}' is at capacity"

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        # one event loop per process: the check and the increment cannot interleave with another request
        if self.active >= self.limit:
            raise ApiError("SERVICE_UNAVAILABLE", self.message)
        self.active += 1
        try:
            return await proceed(request)
        finally:
            self.active -= 1


def bind(block: Any, setup: PolicySetup, channel: str) -> ConcurrencyLimit:
    loaded = load_block(_SCHEMA, block)
    return ConcurrencyLimit(channel, loaded["max_concurrent"])


@hookimpl
def orion_channel_policies():
    yield ChannelPolicy(
        name="backpressure",
        config_key=CONFIG_KEY,
        order=ORDER,
        bind=bind,
        ingress=frozenset({INGRESS_SYNC, INGRESS_CALL, INGRESS_KAFKA}),
        description="Refuse with 503 when max_concurrent runs of the channel are already in progress",
    )
