"""Load a task's ``function.input`` against its function's schema and compile its expressions.

Used once per task when the engine is built, and by validation to report FieldErrors whose
paths point into the submitted JSON.
"""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, ValidationError, fields

from .errors import ExpressionError, FieldError, field_error
from .expressions import ExpressionEngine, compile_expression
from .fields import LogicSource
from .types import TaskFunction

_TYPE_NAMES: list[tuple[type, str]] = [
    (fields.Boolean, "boolean"),
    (fields.Integer, "integer"),
    (fields.Float, "number"),
    (fields.Number, "number"),
    (fields.String, "string"),
    (fields.List, "array"),
    (fields.Dict, "object"),
    (fields.Nested, "object"),
]


def _expected_type(schema_field: fields.Field | None) -> str | None:
    for cls, name in _TYPE_NAMES:
        if isinstance(schema_field, cls):
            if isinstance(schema_field, fields.Nested) and schema_field.many:
                return "array"
            return name
    return None


def _join(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key == "_schema" or key == "":
        return prefix
    return f"{prefix}.{key}" if prefix else str(key)


def _field_for(schema: Any, key: Any) -> fields.Field | None:
    declared = getattr(schema, "fields", None)
    if isinstance(declared, dict) and isinstance(key, str):
        return declared.get(key)
    return None


def _lookup(value: Any, key: Any) -> tuple[bool, Any]:
    if isinstance(value, dict) and key in value:
        return True, value[key]
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return True, value[key]
    return False, None


def _flatten(messages: Any, raw: Any, schema: Any, prefix: str, fn_name: str, out: list[FieldError]) -> None:
    """Turn marshmallow's nested error dict into FieldErrors with codes."""
    if isinstance(messages, dict):
        for key, sub in messages.items():
            path = _join(prefix, key)
            present, value = _lookup(raw, key)
            schema_field = _field_for(schema, key)
            inner_schema: Any = None
            if isinstance(schema_field, fields.Nested):
                inner_schema = schema_field.schema
            elif isinstance(schema_field, fields.List) and isinstance(schema_field.inner, fields.Nested):
                inner_schema = schema_field.inner.schema
            if isinstance(sub, dict) and key != "_schema":
                nested_schema = inner_schema if not isinstance(key, int) else schema
                _flatten(sub, value if present else None, nested_schema, path, fn_name, out)
                continue
            for text in sub if isinstance(sub, list) else [sub]:
                if isinstance(text, dict):
                    _flatten(text, value, inner_schema, path, fn_name, out)
                    continue
                out.append(_classify(str(text), path, key, present, value, schema_field, fn_name))
    elif isinstance(messages, list):
        for text in messages:
            out.append(field_error(prefix, "INVALID", f"config for function '{fn_name}': {text}"))


def _classify(text: str, path: str, key: Any, present: bool, value: Any, schema_field: Any, fn_name: str) -> FieldError:
    if text.startswith("Missing data for required field"):
        return field_error(path, "REQUIRED", f"config for function '{fn_name}': missing field '{key}'")
    if text.startswith("Unknown field"):
        return field_error(path, "INVALID", f"config for function '{fn_name}': unknown field '{key}'", got=value)
    if text.startswith("Must be one of"):
        return field_error(path, "ENUM_MISMATCH", f"config for function '{fn_name}': invalid value {value!r} for '{key}': {text}", got=value)
    if text.startswith("Not a valid") or text.startswith("Field may not be null"):
        expected = _expected_type(schema_field)
        article = "an" if expected and expected[0] in "aeiou" else "a"
        msg = f"config for function '{fn_name}': field '{key}' must be {f'{article} {expected}' if expected else 'valid'}"
        return field_error(path, "TYPE_MISMATCH", msg, expected=expected, got=value)
    return field_error(path, "INVALID", f"config for function '{fn_name}': {key}: {text}", got=value if present else None)


def _compile_logic(node: Any, engine: ExpressionEngine, prefix: str, fn_name: str, errors: list[FieldError]) -> Any:
    """Replace every LogicSource in loaded params with a compiled expression."""
    if isinstance(node, LogicSource):
        try:
            return compile_expression(engine, node.rule, templating=True)
        except ExpressionError as exc:
            errors.append(field_error(prefix, "INVALID", f"Invalid JSONLogic in function '{fn_name}' input: {exc}"))
            return None
    if isinstance(node, dict):
        return {k: _compile_logic(v, engine, _join(prefix, k), fn_name, errors) for k, v in node.items()}
    if isinstance(node, list):
        return [_compile_logic(v, engine, _join(prefix, i), fn_name, errors) for i, v in enumerate(node)]
    return node


def prepare_params(
    fn: TaskFunction, raw_input: Any, engine: ExpressionEngine, path: str = "function.input"
) -> tuple[dict[str, Any], list[FieldError]]:
    """Load ``raw_input`` for ``fn``; return ``(params, errors)``. ``params`` is usable only when
    ``errors`` is empty. Error paths start with ``path``."""
    if not isinstance(raw_input, dict):
        return {}, [field_error(path, "TYPE_MISMATCH", f"config for function '{fn.name}': input must be an object", expected="object", got=raw_input)]
    errors: list[FieldError] = []
    if fn.input_schema is None:
        params: dict[str, Any] = dict(raw_input)
    else:
        schema = fn.input_schema(unknown=RAISE if fn.strict_input else EXCLUDE)
        try:
            params = schema.load(raw_input)
        except ValidationError as exc:
            _flatten(exc.messages, raw_input, schema, path, fn.name, errors)
            return {}, errors
    if fn.check_input is not None:
        for err in fn.check_input(params):
            err.path = _join(path, err.path) if err.path else path
            errors.append(err)
    params = _compile_logic(params, engine, path, fn.name, errors)
    return params, errors
