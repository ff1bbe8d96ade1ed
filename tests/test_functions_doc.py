"""docs/functions.md documents every built-in task function: its input table matches the schema
and its example task loads."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields, missing, validate

from orion_kernel import fields as orion_fields
from orion_kernel.plugins import load_plugins
from orion_kernel.task_inputs import prepare_params
from orion_kernel.types import TaskFunction

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "functions.md").read_text()
BUILTIN_DISTRIBUTION = "orion-kernel"
PLUGINS = load_plugins()

# The Type column starts with this word; checked in order, so subclasses come before their bases.
KINDS: list[tuple[type[fields.Field], str]] = [
    (orion_fields.Logic, "JSONLogic"),
    (orion_fields.AnyJson, "any JSON"),
    (fields.Boolean, "boolean"),
    (fields.Integer, "integer"),
    (fields.Number, "number"),
    (fields.String, "string"),
    (fields.List, "array"),
    (fields.Dict, "object"),
    (fields.Nested, "object"),
]
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def builtin_functions() -> dict[str, TaskFunction]:
    """Canonical name → function, for functions owned by a plugin of the orion-kernel distribution."""
    distribution = {plugin.name: _normalise(plugin.distribution) for plugin in PLUGINS.plugins}
    found = {}
    for key, fn in PLUGINS.functions.items():
        if distribution[PLUGINS.function_owners[key]] == BUILTIN_DISTRIBUTION:
            found[fn.name] = fn
    return dict(sorted(found.items()))


BUILTINS = builtin_functions()
NAMES = list(BUILTINS)


def section(name: str) -> tuple[str, str]:
    """The heading line and body of the ``## `name` `` section (empty strings when absent)."""
    match = re.search(rf"^(## `{re.escape(name)}`[^\n]*)$(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    return (match.group(1), match.group(2)) if match else ("", "")


def input_table(body: str) -> dict[str, list[str]]:
    """Rows of the first table whose header starts with ``Field``: field name → remaining cells."""
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in body.splitlines():
        if not line.startswith("|"):
            if in_table:
                break
            continue
        cells = [cell.strip() for cell in CELL_SPLIT.split(line.strip().strip("|"))]
        if cells[0] == "Field":
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def schema_fields(schema: Schema, prefix: str = "") -> Iterator[tuple[str, fields.Field]]:
    """Every input field as documented: ``name``, and ``name[].inner`` for lists of objects."""
    for attr, field in schema.fields.items():
        name = prefix + (field.data_key or attr)
        yield name, field
        if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            yield from schema_fields(field.inner.schema, f"{name}[].")
        elif isinstance(field, fields.Nested):
            yield from schema_fields(field.schema, f"{name}.")


def kind_of(field: fields.Field) -> str:
    for cls, kind in KINDS:
        if isinstance(field, cls):
            return "array" if isinstance(field, fields.Nested) and field.many else kind
    raise AssertionError(f"no documented kind for {type(field).__name__}; add it to KINDS")


def default_text(field: fields.Field) -> str:
    default = field.load_default
    if default is missing:
        return "—"
    if callable(default):
        default = default()
    return f"`{json.dumps(default)}`"


def examples(body: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", body, re.S)]


def test_the_builtins_are_found():
    assert {"parse_json", "map", "validation", "channel_call"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_function_has_a_section(name):
    heading, _ = section(name)
    assert heading, f"docs/functions.md has no '## `{name}`' heading"
    for alias in BUILTINS[name].aliases:
        assert f"`{alias}`" in heading, f"alias '{alias}' of '{name}' is not named in its heading"


@pytest.mark.parametrize("name", NAMES)
def test_input_table_matches_the_schema(name):
    fn = BUILTINS[name]
    rows = input_table(section(name)[1])
    documented = dict(schema_fields(fn.input_schema())) if fn.input_schema else {}
    assert sorted(rows) == sorted(documented), f"input table of '{name}' lists other fields than its schema"
    for field_name, field in documented.items():
        type_cell, required_cell, default_cell, meaning = rows[field_name]
        where = f"'{name}' field '{field_name}'"
        assert type_cell.startswith(kind_of(field)), f"{where}: type should be {kind_of(field)}, not {type_cell}"
        for validator in field.validators:
            if isinstance(validator, validate.OneOf):
                for choice in validator.choices:
                    assert f"`{json.dumps(choice)}`" in type_cell, f"{where}: choice {choice!r} not listed"
        assert required_cell.startswith("yes" if field.required else "no"), f"{where}: required is {field.required}"
        assert default_cell.startswith(default_text(field)), f"{where}: default should be {default_text(field)}"
        assert meaning, f"{where}: meaning is empty"


@pytest.mark.parametrize("name", NAMES)
def test_example_task_loads(name):
    fn = BUILTINS[name]
    tasks = [block for block in examples(section(name)[1]) if isinstance(block, dict) and "function" in block]
    assert tasks, f"'{name}' has no example task"
    for task in tasks:
        assert {"id", "name", "function"} <= set(task)
        assert task["function"]["name"] in (fn.name, *fn.aliases)
        _, errors = prepare_params(fn, task["function"]["input"], PLUGINS.expression_engine)
        assert errors == [], [error.message for error in errors]


@pytest.mark.parametrize("name", NAMES)
def test_unknown_input_keys_are_ignored_as_documented(name):
    assert not BUILTINS[name].strict_input, f"'{name}' rejects unknown keys; say so in docs/functions.md and here"


def test_every_documented_function_is_registered():
    headings = re.findall(r"^## `([^`]+)`", DOC, re.M)
    assert sorted(headings) == NAMES
