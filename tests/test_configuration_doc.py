"""docs/configuration.md documents every configuration key (type, default, variable) and its
complete example loads."""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields

from orion_kernel.config import apply_env_overrides, is_production, load_config, substitute
from orion_kernel.config_schema import Bool, Choice, ConfigSchema, Float, Int, Str, StrList, iter_keys

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "configuration.md").read_text()
SCHEMA = ConfigSchema()
KEY_TABLE_HEADER = ["Key", "Type", "Default", "Env", "Meaning"]
NO_VARIABLE = "—"
CELL_SPLIT = re.compile(r"(?<!\\)\|")
# Defaults computed on the running machine: documented text, and the value it stands for.
COMPUTED = {"server.workers": ("number of CPU cores", os.cpu_count() or 1)}
# Variables the complete example references without a fallback.
EXAMPLE_ENV = {"ADMIN_API_KEY": "example-admin-key"}


def schema_keys(schema: Schema, prefix: str = "") -> Iterator[tuple[str, fields.Field]]:
    """Every documented key: scalars and lists, plus ``name[].key`` inside arrays of tables."""
    for name, field in schema.fields.items():
        path = prefix + name
        if isinstance(field, fields.Nested):
            yield from schema_keys(field.schema, path + ".")
        elif isinstance(field, fields.List):
            yield path, field
            yield from schema_keys(field.inner.schema, path + "[].")  # type: ignore[attr-defined]
        else:
            yield path, field


KEYS = dict(schema_keys(SCHEMA))


def key_rows() -> dict[str, dict[str, str]]:
    """Rows of every ``| Key | Type | Default | Env | Meaning |`` table, by key."""
    rows: dict[str, dict[str, str]] = {}
    in_table = False
    for line in DOC.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in CELL_SPLIT.split(line.strip().strip("|"))]
        if cells == KEY_TABLE_HEADER:
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            key = cells[0].strip("`")
            assert key not in rows, f"key '{key}' has two rows in docs/configuration.md"
            rows[key] = dict(zip(KEY_TABLE_HEADER, cells))
    return rows


ROWS = key_rows()


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    raise AssertionError(f"no TOML rendering for {value!r}")


def default_text(path: str, field: fields.Field) -> str:
    """The Default cell: the TOML literal in backticks, ``unset`` for None, or COMPUTED's text."""
    default = field.load_default
    if path in COMPUTED:
        text, value = COMPUTED[path]
        assert default() == value, f"{path}: default is no longer {text}; update COMPUTED and the doc"
        return text
    value = default() if callable(default) else default
    if callable(default) and not isinstance(value, list):
        raise AssertionError(f"{path}: default is computed ({value!r}); describe it in the doc and in COMPUTED")
    return "unset" if value is None else f"`{toml_literal(value)}`"


def type_text(field: fields.Field) -> str:
    """The Type cell for every kind of key except ``Choice`` (checked by its names)."""
    if isinstance(field, Int):
        return f"integer {field.minimum}–{field.maximum}" if field.maximum is not None else f"integer ≥ {field.minimum}"
    if isinstance(field, Float):
        return f"number {field.bounds[0]!r}–{field.bounds[1]!r}" if field.bounds else "number"
    kinds = {Bool: "boolean", Str: "string", StrList: "array of strings", fields.List: "array of tables"}
    for cls, text in kinds.items():
        if isinstance(field, cls):
            return text
    raise AssertionError(f"no documented type for {type(field).__name__}; add it to type_text")


def env_sample(field: fields.Field) -> str:
    """A raw environment value the key accepts."""
    if isinstance(field, Choice):
        return field.choices[-1]
    samples = {Bool: "true", Int: "7", Float: "0.5", StrList: "a, b", Str: "x"}
    return next(raw for cls, raw in samples.items() if isinstance(field, cls))


def nested(path: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


def complete_example() -> str:
    section = DOC.split("\n## Complete example\n", 1)
    assert len(section) == 2, "docs/configuration.md has no '## Complete example' section"
    blocks = re.findall(r"```toml\n(.*?)```", section[1], re.S)
    assert len(blocks) == 1, "the complete example section should hold exactly one toml block"
    return blocks[0]


def explicit_keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted keys set in a parsed TOML document (``name[].key`` inside arrays of tables)."""
    found = set()
    for name, value in table.items():
        path = prefix + name
        if isinstance(value, dict):
            found |= explicit_keys(value, path + ".")
        else:
            found.add(path)
            if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
                for item in value:
                    found |= explicit_keys(item, path + "[].")
    return found


def test_the_walk_covers_every_settable_key():
    assert {".".join(path) for path, _ in iter_keys(SCHEMA)} <= set(KEYS)
    assert {"server.port", "tracing.storage.mode", "kafka.topics[].channel"} <= set(KEYS)


@pytest.mark.parametrize("key", list(KEYS))
def test_key_row_matches_the_schema(key):
    field = KEYS[key]
    row = ROWS.get(key)
    assert row, f"docs/configuration.md has no table row for `{key}`"
    expected_default = default_text(key, field)
    assert row["Default"] == expected_default or row["Default"].startswith(expected_default + " "), (
        f"{key}: Default cell should be {expected_default}, not {row['Default']}"
    )
    if isinstance(field, Choice):
        assert row["Type"].startswith("one of:"), f"{key}: Type should start with 'one of:'"
        for name in (*field.choices, *field.aliases):
            assert f'`"{name}"`' in row["Type"], f"{key}: value '{name}' is not listed in the Type cell"
    else:
        assert row["Type"] == type_text(field), f"{key}: Type should be '{type_text(field)}', not '{row['Type']}'"
    assert row["Meaning"], f"{key}: Meaning is empty"


@pytest.mark.parametrize("key", list(KEYS))
def test_env_cell_names_the_variable_that_sets_the_key(key):
    field = KEYS[key]
    assert key in ROWS, f"docs/configuration.md has no table row for `{key}`"
    env_cell = ROWS[key]["Env"]
    if "[]" in key or isinstance(field, fields.List):
        assert env_cell == NO_VARIABLE, f"{key}: arrays of tables cannot come from the environment; Env should be {NO_VARIABLE}"
        return
    variable = env_cell.strip("`")
    raw = env_sample(field)
    data: dict[str, Any] = {}
    apply_env_overrides(data, {variable: raw})
    assert data == nested(key, field.parse_env(raw)), f"{key}: {variable}={raw!r} did not set the key"


def test_no_row_documents_an_unknown_key():
    assert sorted(set(ROWS) - set(KEYS)) == []


def test_complete_example_loads(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(complete_example())
    cfg = load_config(str(path), env=EXAMPLE_ENV)
    assert is_production(cfg)
    assert cfg["admin_auth"]["api_key"] == EXAMPLE_ENV["ADMIN_API_KEY"]
    assert cfg["storage"]["url"] == "sqlite:///var/lib/orion/orion.db"  # the ${DATABASE_URL:-…} fallback


def test_complete_example_sets_every_key():
    parsed = tomllib.loads(substitute(complete_example(), EXAMPLE_ENV, "the complete example"))
    assert sorted(set(KEYS) - explicit_keys(parsed)) == []
