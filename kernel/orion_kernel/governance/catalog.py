"""The registered policies: check a channel's config blocks, bind them, compose the chains."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from ..errors import FieldError, field_error
from .policy import ALL_INGRESS, ChannelPolicy, Policy, PolicyConfigError, PolicySetup, Proceed

logger = logging.getLogger("orion.governance")

CONFIG_PATH = "channel.config"
SHAPE_MESSAGE = "channel.config does not match the ChannelConfig shape"


class PolicyCatalog:
    """Every :class:`ChannelPolicy` the plugins registered, in chain order, with their setup."""

    def __init__(self, policies: Iterable[ChannelPolicy], setup: PolicySetup) -> None:
        self.policies = tuple(sorted(policies, key=lambda p: p.order))
        self.setup = setup
        self.keys = frozenset(p.config_key for p in self.policies)

    def check(self, config: Mapping[str, Any]) -> list[FieldError]:
        """FieldErrors for the blocks of a channel ``config`` that a policy cannot bind."""
        errors: list[FieldError] = []
        for policy in self.policies:
            block = config.get(policy.config_key)
            if block is None:
                continue
            try:
                policy.bind(block, self.setup, "<check>")
            except PolicyConfigError as exc:
                errors += _field_errors(policy.config_key, exc)
        return errors

    def bind(self, channel: str, config: Mapping[str, Any]) -> dict[str, tuple[Policy, ...]]:
        """The bound policies of one channel per ingress path, in order; empty when it has none.

        A block that no longer binds (stored by an older version) is left out with a warning: the
        channel keeps serving without that policy rather than not at all.
        """
        chains: dict[str, list[Policy]] = {ingress: [] for ingress in ALL_INGRESS}
        for policy in self.policies:
            block = config.get(policy.config_key)
            if block is None and not policy.binds_without_block:
                continue
            try:
                bound = policy.bind(block, self.setup, channel)
            except PolicyConfigError as exc:
                logger.warning("channel '%s': config.%s is ignored: %s", channel, policy.config_key, exc)
                continue
            if bound is None:
                continue
            for ingress in policy.ingress:
                chains[ingress].append(bound)
        return {ingress: tuple(bound) for ingress, bound in chains.items() if bound}


def compose(policies: tuple[Policy, ...], terminal: Proceed) -> Proceed:
    """One callable running ``policies`` in order around ``terminal``; ``terminal`` itself when empty."""
    handler = terminal
    for policy in reversed(policies):
        handler = partial(policy, proceed=handler)
    return handler


def _field_errors(key: str, exc: PolicyConfigError) -> list[FieldError]:
    errors = []
    for sub, text in exc.problems:
        where = f"{key}.{sub}" if sub else key
        if exc.at_path:
            errors.append(field_error(f"{CONFIG_PATH}.{where}", "INVALID", text))
        else:
            errors.append(field_error(CONFIG_PATH, "INVALID", f"{SHAPE_MESSAGE}: {where}: {text}"))
    return errors
