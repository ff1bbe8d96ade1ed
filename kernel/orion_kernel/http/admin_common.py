"""Helpers shared by the admin handlers: the registry, path ids, small PATCH bodies, list envelopes."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError, fields

from ..errors import ApiError, FieldError, field_error, not_found
from ..registry import ANONYMOUS, LABELS, Registry
from ..validation.common import json_type
from ..validation.ids import is_valid_id, shorten
from .api_schemas import Choice
from .common import json_response
from .keys import KERNEL

#: request key under which admin authentication stores the principal for audit entries
PRINCIPAL = web.RequestKey("principal", str)


def registry_of(request: web.Request) -> Registry:
    return Registry.for_kernel(request.app[KERNEL])


def principal_of(request: web.Request) -> str:
    """Who is acting, for audit entries: set by admin auth when enabled, else ``anonymous``."""
    return request.get(PRINCIPAL) or ANONYMOUS


def path_id(request: web.Request, kind: str) -> str:
    """The ``{id}`` of the path; an id that breaks the id rule cannot exist, so it is a 404."""
    entity_id = request.match_info["id"]
    if not is_valid_id(entity_id):
        raise not_found(f"{LABELS[kind]} '{shorten(entity_id)}' not found")
    return entity_id


def page(rows: list[dict[str, Any]], total: int, limit: int, offset: int) -> web.Response:
    """The list envelope ``{"data", "total", "limit", "offset"}`` (api-admin.md §1.3)."""
    return json_response({"data": rows, "total": total, "limit": limit, "offset": offset})


def parse_error(details: list[FieldError]) -> ApiError:
    """A body that does not parse into the expected shape (api-admin.md §1.6)."""
    return ApiError("VALIDATION_ERROR", "Invalid request body: " + "; ".join(d.message for d in details), details=details)


def load_body(body: Any, schema: Schema) -> dict[str, Any]:
    """A small admin body (status, rollout, ...) loaded with ``schema``.

    Raises the §1.6 parse error: FieldErrors at ``body.<field>`` for unknown, missing (or null) and
    mistyped fields, at ``body`` when it is not an object.
    """
    if not isinstance(body, dict):
        raise parse_error([field_error("body", "INVALID", f"invalid type: {json_type(body)}, expected a JSON object")])
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise parse_error(_body_errors(schema, body, exc.normalized_messages())) from None


def _body_errors(schema: Schema, body: dict[str, Any], messages: dict[str, Any]) -> list[FieldError]:
    expected = ", ".join(f"`{key}`" for key in schema.fields)
    details = [field_error(f"body.{key}", "INVALID", f"unknown field `{shorten(key)}`, expected one of {expected}")
               for key in body if key not in schema.fields]
    for key, schema_field in schema.fields.items():
        if key not in messages:
            continue
        if body.get(key) is None:
            details.append(field_error(f"body.{key}", "INVALID", f"missing field `{key}`"))
        else:
            text = "; ".join(messages[key]) if isinstance(messages[key], list) else str(messages[key])
            details.append(field_error(f"body.{key}", "INVALID", text, expected=_expected(schema_field), got=body[key]))
    return details


def _expected(schema_field: fields.Field) -> Any:
    if isinstance(schema_field, Choice):
        return list(schema_field.choices)
    if isinstance(schema_field, fields.Integer):
        return "integer"
    return None
