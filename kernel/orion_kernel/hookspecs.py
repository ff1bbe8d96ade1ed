"""Every hook the kernel calls; reference in docs/plugins/hooks.md.

Hooks are synchronous and cheap: the kernel calls them at start-up and turns their results into
plain registries, so nothing on the request path calls a hook.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .expressions import ExpressionEngine
    from .governance import ChannelPolicy, StateStore
    from .storage import StorageBackend
    from .types import TaskFunction

hookspec = pluggy.HookspecMarker("orion_kernel")

# --- registration: called once at start-up ------------------------------------------------------


@hookspec
def orion_task_functions() -> Iterable[TaskFunction]:
    """Yield the task functions this plugin provides.

    Names (and aliases) are unique across plugins; a clash stops start-up and names both plugins.
    """


@hookspec(firstresult=True)
def orion_storage_backend_for_url(url: str, options: dict[str, Any]) -> StorageBackend | None:
    """Return a (not yet opened) backend for ``url``, or None if the scheme isn't yours.

    ``options`` is the ``[storage]`` config section as a dict.
    """


@hookspec(firstresult=True)
def orion_expression_engine() -> ExpressionEngine | None:
    """Return the JSONLogic engine every expression is compiled with (first result wins)."""


@hookspec
def orion_channel_policies() -> Iterable[ChannelPolicy]:
    """Yield the governance policies this plugin provides (channels.md §4).

    Each owns one block of a channel's ``config`` (``config_key``, unique across plugins) and is
    bound per channel when the engine snapshot is built; a clash stops start-up.
    """


@hookspec(firstresult=True)
def orion_state_store_for_url(url: str, options: dict[str, Any]) -> StateStore | None:
    """Return a (not yet opened) state store for ``url`` (``[governance] store``), or None if the
    scheme isn't yours. ``options`` is the ``[governance]`` config section as a dict.
    """
