"""``publish_xml``: serialise part of ``data`` to an XML string at ``data.{target}`` (functions.md §8)."""
from __future__ import annotations

from typing import Any

import orjson
from marshmallow import Schema, fields

from orion_kernel import TaskContext, TaskFunction, ValidationFailure, hookimpl

from .sources import read_publish_source

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_DIGITS = frozenset("0123456789")
_NAME_CHARS = _ASCII_LETTERS | _ASCII_DIGITS | frozenset("-_.")


class PublishXmlInput(Schema):
    source = fields.String(
        required=True,
        metadata={"description": "What to serialise, relative to data (a key, a path, or data.<path>)."},
    )
    target = fields.String(
        required=True,
        metadata={"description": "The XML string is written at data.<target>."},
    )
    root_element = fields.String(
        load_default="root",
        metadata={"description": "Name of the outer element, used verbatim."},
    )
    pretty = fields.Boolean(
        load_default=False,
        metadata={"description": "Accepted and ignored: the output is never indented."},
    )


def sanitize_name(key: str) -> str:
    """Turn an object key into an element name (``123field`` → ``_123field``, ``@id`` → ``_id``)."""
    if not key:
        return "_element"
    first = key[0]
    if first in _ASCII_LETTERS or first == "_":
        head = first
    else:
        head = "_" + first if first in _ASCII_DIGITS else "_"
    return head + "".join(c if c in _NAME_CHARS else "_" for c in key[1:])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode()  # numbers in their JSON form


def to_xml_text(value: Any, root_element: str = "root") -> str:
    """Serialise a JSON value as XML under ``root_element``: no declaration, no whitespace."""
    out: list[str] = []
    # Iterative, so nesting depth is not bounded by the stack; a str entry is a closing tag.
    pending: list[Any] = [(root_element, value)]
    while pending:
        entry = pending.pop()
        if isinstance(entry, str):
            out.append(entry)
            continue
        name, item = entry
        if isinstance(item, dict):
            children = [(sanitize_name(key), child) for key, child in item.items()]
        elif isinstance(item, list):
            children = [("item", child) for child in item]
        else:
            out.append(f"<{name}>{_text(item)}</{name}>")
            continue
        out.append(f"<{name}>")
        pending.append(f"</{name}>")
        pending.extend(reversed(children))
    return "".join(out)


async def run(ctx: TaskContext, params: dict[str, Any]) -> None:
    """Serialise the source; a missing or null source is a validation failure."""
    source = params["source"]
    value = read_publish_source(ctx.data, source)
    if value is None:
        raise ValidationFailure(f"PublishXml: Source 'data.{source}' not found or is null")
    ctx.write(f"data.{params['target']}", to_xml_text(value, params["root_element"]))


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="publish_xml",
        run=run,
        input_schema=PublishXmlInput,
        description="Serialise part of data to an XML string",
        category="output",
    )
