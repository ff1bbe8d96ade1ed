"""The ``orion-kernel`` subcommands; each takes the loaded configuration and the parsed arguments."""
from __future__ import annotations

import importlib
import sys
from typing import Any

from ..errors import PluginError
from ..plugins import PluginSet, load_plugins


def fail(message: str) -> int:
    """Print ``Error: <message>`` to stderr and return exit status 1."""
    print(f"Error: {message}", file=sys.stderr)
    return 1


def load_plugin_set(cfg: dict[str, Any]) -> PluginSet:
    """Load the entry-point plugins plus ``plugins.modules``, minus ``plugins.disabled``.

    Raises PluginError, also when a configured module cannot be imported.
    """
    section = cfg["plugins"]
    for name in section["modules"]:  # imported first so a typo is an error message, not a traceback
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise PluginError(
                f"plugin module '{name}' (plugins.modules) failed to import: {type(exc).__name__}: {exc}; "
                "check the name, install its distribution, or remove it from plugins.modules"
            ) from exc
    return load_plugins(disabled=section["disabled"], modules=section["modules"])
