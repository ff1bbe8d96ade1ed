"""``parse_xml``: parse an XML string into JSON at ``data.{target}`` (functions.md §3).

The parser is expat without namespace processing, so element and attribute names stay exactly
as written (``ns:item``, ``@xmlns:ns``) even when a prefix is undeclared, as in the reference.
It never fetches anything (no external DTD or entity is loaded) and rejects entity
declarations outright, which rules out entity-expansion attacks.
"""
from __future__ import annotations

from typing import Any
from xml.parsers import expat

from marshmallow import Schema, fields

from orion_kernel import TaskContext, TaskFunction, ValidationFailure, hookimpl

from .sources import read_parse_source

_XML_SPACE = " \t\r\n"


class ParseXmlInput(Schema):
    source = fields.String(
        required=True,
        metadata={"description": "Where to read the XML text; same forms as parse_json. Must resolve to a string."},
    )
    target = fields.String(
        required=True,
        metadata={"description": "Destination inside data: the value is written at data.<target>."},
    )


class _Element:
    """An element being read: its attributes, children grouped by name, and text pieces."""

    __slots__ = ("attributes", "children", "text")

    def __init__(self, attributes: dict[str, str]) -> None:
        self.attributes = attributes
        self.children: dict[str, Any] = {}
        self.text: list[str] = []

    def add_child(self, name: str, value: Any) -> None:
        # An element's value is a string or an object, never a list: a list marks repeats.
        if name not in self.children:
            self.children[name] = value
        elif isinstance(self.children[name], list):
            self.children[name].append(value)
        else:
            self.children[name] = [self.children[name], value]

    def value(self) -> Any:
        text = "".join(self.text).strip(_XML_SPACE)
        if not self.attributes and not self.children:
            return text
        out: dict[str, Any] = {f"@{name}": v for name, v in self.attributes.items()}
        out.update(self.children)
        if text:
            out["$text"] = text
        return out


def _reject_entity(*_args: Any) -> None:
    raise ValidationFailure("Failed to parse XML: entity declarations are not allowed")


def xml_to_json(text: str) -> Any:
    """Convert an XML document to JSON; raise ValidationFailure when it is malformed."""
    parser = expat.ParserCreate(encoding="UTF-8")  # the text is already decoded: ignore the declaration
    parser.buffer_text = True
    parser.EntityDeclHandler = _reject_entity
    stack: list[_Element] = []
    result: list[Any] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        stack.append(_Element(attributes))

    def end(name: str) -> None:
        value = stack.pop().value()
        if stack:
            stack[-1].add_child(name, value)
        else:
            result.append(value)

    def characters(data: str) -> None:
        if stack:
            stack[-1].text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(text, True)
    except (expat.ExpatError, UnicodeError) as exc:
        raise ValidationFailure(f"Failed to parse XML: {exc}") from None
    return result[0]


async def run(ctx: TaskContext, params: dict[str, Any]) -> None:
    """Parse the source string and set ``data.{target}``."""
    source = params["source"]
    text = read_parse_source(ctx, source)
    if not isinstance(text, str):
        raise ValidationFailure(f"ParseXml: Source '{source}' is not a string")
    ctx.write(f"data.{params['target']}", xml_to_json(text))


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="parse_xml",
        run=run,
        input_schema=ParseXmlInput,
        description="Parse an XML string into JSON in data",
        category="parse",
    )
