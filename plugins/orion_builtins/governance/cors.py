"""Governance policy ``cors`` (channels.md §4.5): which browser origins may call a channel.

A request carrying an ``Origin`` header that is not in ``allowed_origins`` (and no entry is
``"*"``) is refused with 403. Requests without ``Origin`` (server to server, curl) always pass.
An absent or empty ``allowed_origins`` restricts nothing. ``allowed_methods`` and
``allowed_headers`` are accepted and not used. The CORS response headers and preflight answers
come from the global ``[cors]`` layer of the HTTP server, not from this policy.
"""
from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields

from orion_kernel import ApiError, hookimpl
from orion_kernel.governance import ChannelPolicy, ChannelRequest, PolicySetup, Proceed, Reply, load_block

CONFIG_KEY = "cors"
ORDER = 200
ANY_ORIGIN = "*"


class CorsBlock(Schema):
    class Meta:
        unknown = RAISE

    allowed_origins = fields.List(fields.String(), allow_none=True)
    allowed_methods = fields.List(fields.String(), allow_none=True)  # accepted, not used (Unspecified)
    allowed_headers = fields.List(fields.String(), allow_none=True)  # accepted, not used (Unspecified)


_SCHEMA = CorsBlock()


class OriginCheck:
    """The bound policy: refuse an ``Origin`` that is not exactly one of the allowed origins."""

    __slots__ = ("channel", "allowed")

    def __init__(self, channel: str, allowed: frozenset[str]) -> None:
        self.channel = channel
        self.allowed = allowed

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        origin = request.headers.get("origin")
        if origin is not None and origin not in self.allowed:
            raise ApiError("FORBIDDEN", f"Origin '{origin}' is not allowed for channel '{self.channel}'")
        return await proceed(request)


def bind(block: Any, setup: PolicySetup, channel: str) -> OriginCheck | None:
    """Nothing to bind when the origins are absent, empty or include ``"*"``."""
    origins = load_block(_SCHEMA, block).get("allowed_origins")
    if not origins or ANY_ORIGIN in origins:
        return None
    return OriginCheck(channel, frozenset(origins))


@hookimpl
def orion_channel_policies():
    yield ChannelPolicy(
        name="cors",
        config_key=CONFIG_KEY,
        order=ORDER,
        bind=bind,
        description="Refuse requests whose Origin header is not one of the channel's allowed origins",
    )
