"""Governance policy ``validation_logic`` (channels.md §4.3): a JSONLogic rule the request must satisfy.

The rule is compiled once when the channel is bound and evaluated against::

    {"data": <payload>, "metadata": {... "headers", "query", "params"},
     "headers": ..., "query": ..., "path": <params>}

(the top-level ``headers`` / ``query`` / ``path`` are aliases of the metadata entries, the
spelling of the Orion security guide). The context holds references only; the expression engine
converts just the roots the rule reads. A falsy result (``false``, ``null``, ``0``, ``""``,
``[]``) refuses the request with 400; ``{}`` passes.
"""
from __future__ import annotations

import logging
from typing import Any

from orion_kernel import ApiError, Expr, ExpressionError, compile_expression, hookimpl
from orion_kernel.governance import ChannelPolicy, ChannelRequest, PolicyConfigError, PolicySetup, Proceed, Reply

logger = logging.getLogger("orion.governance.validation_logic")

CONFIG_KEY = "validation_logic"
ORDER = 300
FAILED = "Input validation failed"
_EMPTY: dict[str, Any] = {}


def passes(result: Any) -> bool:
    """channels.md §4.3 truthiness: ``false``, ``null``, ``0``, ``""`` and ``[]`` fail; the rest passes."""
    if result is None or result is False or result == "" or result == []:
        return False
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return result != 0
    return True


def validation_context(request: ChannelRequest) -> dict[str, Any]:
    """What the rule sees: the payload, the message metadata and the three aliases."""
    metadata = request.message.context["metadata"]
    return {
        "data": request.message.payload,
        "metadata": metadata,
        "headers": metadata.get("headers", _EMPTY),
        "query": metadata.get("query", _EMPTY),
        "path": metadata.get("params", _EMPTY),
    }


class InputValidation:
    """The bound policy: evaluate the compiled rule, refuse with 400 unless it holds."""

    __slots__ = ("rule", "channel")

    def __init__(self, channel: str, rule: Expr) -> None:
        self.channel = channel
        self.rule = rule

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        try:
            result = self.rule.evaluate(validation_context(request))
        except ExpressionError as exc:
            logger.warning("channel '%s': validation_logic failed to evaluate: %s", self.channel, exc,
                           extra={"request_id": request.request_id})
            raise ApiError("BAD_REQUEST", f"Input validation error: {exc}") from None
        if not passes(result):
            raise ApiError("BAD_REQUEST", FAILED)
        return await proceed(request)


def bind(block: Any, setup: PolicySetup, channel: str) -> InputValidation | None:
    """Compile the rule strictly (an object whose key is not an operator is an error); a constant
    that passes binds nothing."""
    try:
        rule = compile_expression(setup.expressions, block, templating=False)
    except ExpressionError as exc:
        raise PolicyConfigError([("", f"validation_logic does not compile: {exc}")], at_path=True) from None
    if rule.is_literal and passes(rule.source):
        return None
    return InputValidation(channel, rule)


@hookimpl
def orion_channel_policies():
    yield ChannelPolicy(
        name="validation_logic",
        config_key=CONFIG_KEY,
        order=ORDER,
        bind=bind,
        description="Refuse requests whose data, headers, query or path parameters fail a JSONLogic rule",
    )
