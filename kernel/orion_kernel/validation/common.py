"""Field checks shared by the workflow and channel validators; each returns FieldErrors."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import ExpressionError, FieldError, field_error
from ..expressions import ExpressionEngine, compile_expression

MAX_NAME_BYTES = 255
MAX_DESCRIPTION_BYTES = 2048
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value (``boolean``, ``integer``, ``array``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def is_int(value: Any) -> bool:
    """A JSON integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def body_object_error(body: Any, what: str) -> FieldError | None:
    """``body`` must be a JSON object (api-admin.md §1.6)."""
    if isinstance(body, dict):
        return None
    return field_error("body", "INVALID", f"invalid type: {json_type(body)}, expected a JSON object ({what})",
                       expected="object")


def unknown_keys(obj: dict[str, Any], allowed: Iterable[str], prefix: str = "") -> list[FieldError]:
    """One INVALID FieldError per key of ``obj`` not in ``allowed`` (typos are never ignored)."""
    allowed_set = set(allowed)
    return [
        field_error(f"{prefix}{key}", "INVALID", f"unknown field '{key}'")
        for key in obj
        if key not in allowed_set
    ]


def type_error(path: str, expected: str, value: Any) -> FieldError:
    name = path.rsplit(".", 1)[-1]
    return field_error(path, "TYPE_MISMATCH", f"{name} must be {_article(expected)} {expected}, got {json_type(value)}",
                       expected=expected, got=value)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def check_name(value: Any, path: str) -> list[FieldError]:
    """Required, non-blank string of at most 255 UTF-8 bytes."""
    if value is None:
        return [field_error(path, "REQUIRED", "Name cannot be empty")]
    if not isinstance(value, str):
        return [type_error(path, "string", value)]
    if not value.strip():
        return [field_error(path, "INVALID", "Name cannot be empty", got=value)]
    size = len(value.encode())
    if size > MAX_NAME_BYTES:
        return [field_error(path, "INVALID", f"Name exceeds maximum length of {MAX_NAME_BYTES} bytes (got {size})")]
    return []


def check_description(value: Any, path: str) -> list[FieldError]:
    """Null or a string of at most 2048 UTF-8 bytes."""
    if value is None:
        return []
    if not isinstance(value, str):
        return [type_error(path, "string", value)]
    size = len(value.encode())
    if size > MAX_DESCRIPTION_BYTES:
        return [field_error(path, "INVALID", f"Description exceeds maximum length of {MAX_DESCRIPTION_BYTES} bytes (got {size})")]
    return []


def check_int32(value: Any, path: str) -> list[FieldError]:
    """A JSON integer within the signed 32-bit range."""
    if not is_int(value):
        return [type_error(path, "integer", value)]
    if not INT32_MIN <= value <= INT32_MAX:
        return [field_error(path, "INVALID", f"{path.rsplit('.', 1)[-1]} must be between {INT32_MIN} and {INT32_MAX}", got=value)]
    return []


def check_bool(value: Any, path: str) -> list[FieldError]:
    return [] if isinstance(value, bool) else [type_error(path, "boolean", value)]


def check_object(value: Any, path: str) -> list[FieldError]:
    return [] if isinstance(value, dict) else [type_error(path, "object", value)]


def check_optional_string(value: Any, path: str) -> list[FieldError]:
    return [] if value is None or isinstance(value, str) else [type_error(path, "string", value)]


def check_string_list(value: Any, path: str) -> list[FieldError]:
    """An array whose items are all strings."""
    if not isinstance(value, list):
        return [type_error(path, "array", value)]
    return [type_error(f"{path}[{i}]", "string", item) for i, item in enumerate(value) if not isinstance(item, str)]


def check_logic(engine: ExpressionEngine, rule: Any, path: str, what: str) -> list[FieldError]:
    """Compile ``rule`` with templating off (workflows.md §10.1); literals are valid."""
    try:
        compile_expression(engine, rule, templating=False)
    except ExpressionError as exc:
        return [field_error(path, "INVALID", f"Invalid JSONLogic in {what}: {exc}")]
    return []


def summarize(subject: str, errors: list[FieldError]) -> str:
    """The top-level ``error.message`` for a list of FieldErrors."""
    if len(errors) == 1:
        return f"{subject}: {errors[0].message}"
    shown = "; ".join(f"{e.path}: {e.message}" for e in errors[:3])
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    return f"{subject} has {len(errors)} errors: {shown}{more}"
