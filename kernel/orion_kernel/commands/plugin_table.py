"""``plugins``: list the loaded plugins, where they come from, their hooks and task functions."""
from __future__ import annotations

import argparse
from typing import Any

from ..errors import PluginError
from ..plugins import PluginSet, disabled_from_env
from . import fail, load_plugin_set

HEADER = ("NAME", "DISTRIBUTION", "VERSION", "HOOKS", "FUNCTIONS")


def run(cfg: dict[str, Any], args: argparse.Namespace) -> int:
    """Print one row per loaded plugin, then the disabled plugin names."""
    try:
        plugin_set = load_plugin_set(cfg)
    except PluginError as exc:
        return fail(str(exc))
    for line in format_table([HEADER, *plugin_rows(plugin_set)]):
        print(line)
    disabled = sorted(set(cfg["plugins"]["disabled"]) | disabled_from_env())
    print(f"\n{len(plugin_set.plugins)} plugin(s) loaded (* = essential, cannot be disabled)")
    print(f"disabled: {', '.join(disabled) or '(none)'}")
    return 0


def _functions_of(plugin_set: PluginSet, owner: str) -> str:
    """``name (alias, ...)`` for each task function ``owner`` provides."""
    names = sorted({plugin_set.functions[key].name for key, who in plugin_set.function_owners.items() if who == owner})
    labels = []
    for name in names:
        aliases = plugin_set.functions[name].aliases
        labels.append(f"{name} ({', '.join(aliases)})" if aliases else name)
    return ", ".join(labels) or "-"


def plugin_rows(plugin_set: PluginSet) -> list[tuple[str, ...]]:
    """Table rows: name (``*`` = essential), distribution, version, hooks, task functions."""
    return [
        (
            plugin.name + (" *" if plugin.essential else ""),
            plugin.distribution,
            plugin.version,
            ", ".join(plugin.hooks) or "-",
            _functions_of(plugin_set, plugin.name),
        )
        for plugin in plugin_set.plugins
    ]


def format_table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
