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
