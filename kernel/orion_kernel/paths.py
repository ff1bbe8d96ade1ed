"""Context paths (workflows.md §5): dotted read/write with ``#`` escapes and root merges."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

ROOTS = ("data", "metadata", "temp_data")

_ABSENT = object()


def _as_index(segment: str) -> int | None:
    if segment and segment.isdigit():
        return int(segment)
    return None


def _key(segment: str) -> str:
    return segment[1:] if segment.startswith("#") else segment


@lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[tuple[str, int | None], ...]:
    """Each segment of ``path`` as ``(dict key, list index or None)``; parsed once per path."""
    return tuple((_key(segment), _as_index(segment)) for segment in path.split("."))


def get_path(root: Any, path: str, default: Any = None) -> Any:
    """Read ``path`` from ``root``; missing keys, bad indexes and scalars yield ``default``."""
    node = root
    if path == "":
        return node
    for key, index in _steps(path):
        if isinstance(node, dict):
            if key not in node:
                return default
            node = node[key]
        elif isinstance(node, list):
            if index is None or index >= len(node):
                return default
            node = node[index]
        else:
            return default
    return node


def set_path(root: dict, path: str, value: Any) -> tuple[bool, Any]:
    """Write ``value`` at ``path`` inside ``root``, creating intermediates.

    Returns ``(written, old_value)``. Writing through a scalar or with a non-integer segment on
    an array silently does nothing (``written`` is False).
    """
    steps = _steps(path)
    node: Any = root
    last = len(steps) - 1
    for i in range(last):
        key, index = steps[i]
        if isinstance(node, dict):
            child = node.get(key, _ABSENT)
            if child is _ABSENT or child is None:
                child = [] if steps[i + 1][1] is not None else {}
                node[key] = child
            node = child
        elif isinstance(node, list):
            if index is None:
                return False, None
            if index >= len(node):
                node.extend([None] * (index + 1 - len(node)))
            child = node[index]
            if child is None:
                child = [] if steps[i + 1][1] is not None else {}
                node[index] = child
            node = child
        else:
            return False, None
        if not isinstance(node, (dict, list)):
            return False, None
    key, index = steps[last]
    if isinstance(node, dict):
        old = node.get(key)
        node[key] = value
        return True, old
    if isinstance(node, list):
        if index is None:
            return False, None
        if index >= len(node):
            node.extend([None] * (index + 1 - len(node)))
        old = node[index]
        node[index] = value
        return True, old
    return False, None


def write_output(context: dict, path: str, value: Any, *, replace_root_with_null: bool = False) -> tuple[bool, Any]:
    """Write a function output or map result at a context path (functions.md §1.5).

    A bare root (``data``, ``metadata``, ``temp_data``) receives a shallow merge when both sides
    are objects; ``None`` at a bare root is a no-op unless ``replace_root_with_null``; any other
    value replaces the root. Returns ``(written, old_value)``.
    """
    if path in ROOTS:
        old = context.get(path)
        if isinstance(value, dict) and isinstance(old, dict):
            before = dict(old)
            old.update(value)
            return True, before
        if value is None and not replace_root_with_null:
            return False, None
        context[path] = value
        return True, old
    return set_path(context, path, value)
