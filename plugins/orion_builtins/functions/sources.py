"""Resolve the ``source`` field of the parse and publish functions (functions.md §2, §7)."""
from __future__ import annotations

from typing import Any

from orion_kernel import TaskContext, get_path

_ABSENT = object()


def read_parse_source(ctx: TaskContext, source: str) -> Any:
    """Return an independent copy of what ``parse_json``/``parse_xml`` read at ``source``.

    ``payload`` is the whole payload, ``payload.<path>`` a path inside it, anything else a path
    from the context root (so ``data.<path>`` reads inside ``data``). Unresolvable → ``None``.
    The copy keeps later writes into ``data`` from reaching the immutable payload.
    """
    if source == "payload":
        value = ctx.payload
    elif source.startswith("payload."):
        value = get_path(ctx.payload, source[len("payload."):])
    else:
        value = get_path(ctx.context, source)
    return copy_json(value)


def read_publish_source(data: Any, source: str) -> Any:
    """Return what ``publish_json``/``publish_xml`` serialise, or ``None`` when absent.

    First match wins: a key of ``data`` literally named ``source`` (it may contain dots), then
    ``source`` as a path inside ``data``, then — for ``data.<path>`` — ``<path>`` inside ``data``.
    """
    if isinstance(data, dict) and source in data:
        return data[source]
    value = get_path(data, source, _ABSENT)
    if value is _ABSENT and source.startswith("data."):
        value = get_path(data, source[len("data."):], _ABSENT)
    return None if value is _ABSENT else value


def copy_json(value: Any) -> Any:
    """Deep-copy a JSON value iteratively, so nesting depth is not bounded by the stack."""
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    pending = [(value, root)]
    while pending:
        src, dst = pending.pop()
        items = src.items() if isinstance(src, dict) else enumerate(src)
        for key, item in items:
            if isinstance(item, (dict, list)):
                child: Any = {} if isinstance(item, dict) else []
                pending.append((item, child))
            else:
                child = item
            if isinstance(dst, dict):
                dst[key] = child
            else:
                dst.append(child)
    return root
