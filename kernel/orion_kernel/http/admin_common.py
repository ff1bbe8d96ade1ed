"""Helpers shared by the admin handlers: the registry, path ids, small PATCH bodies, list envelopes."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import ApiError, FieldError, field_error, not_found
from ..registry import ANONYMOUS, LABELS, Registry
from ..validation.common import is_int, json_type
from ..validation.ids import is_valid_id, shorten
from .common import json_response
from .keys import KERNEL

#: request key under which admin authentication stores the principal for audit entries
PRINCIPAL = web.RequestKey("principal", str)
STATUSES = ("draft", "active", "archived")


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


def _unknown(body: dict[str, Any], allowed: tuple[str, ...]) -> list[FieldError]:
    expected = ", ".join(f"`{key}`" for key in allowed)
    return [field_error(f"body.{key}", "INVALID", f"unknown field `{shorten(key)}`, expected one of {expected}")
            for key in body if key not in allowed]


def parse_status_body(body: Any, *, with_rollout: bool) -> tuple[str, int | None]:
    """``{"status": ..., "rollout_percentage": ...}`` → ``(status, rollout or None)``."""
    allowed = ("status", "rollout_percentage") if with_rollout else ("status",)
    if not isinstance(body, dict):
        raise parse_error([field_error("body", "INVALID", f"invalid type: {json_type(body)}, expected a JSON object")])
    details = _unknown(body, allowed)
    status = body.get("status")
    if status is None:
        details.append(field_error("body.status", "INVALID", "missing field `status`"))
    elif status not in STATUSES:
        shown = f"'{shorten(status)}'" if isinstance(status, str) else json_type(status)
        details.append(field_error("body.status", "INVALID", f"invalid status {shown}, expected one of: {', '.join(STATUSES)}",
                                   expected=list(STATUSES), got=status))
    rollout = body.get("rollout_percentage") if with_rollout else None
    if rollout is not None and not is_int(rollout):
        details.append(_not_integer("rollout_percentage", rollout))
    if details:
        raise parse_error(details)
    return status, rollout


def parse_rollout_body(body: Any) -> int:
    """``{"rollout_percentage": <integer>}`` → the integer."""
    if not isinstance(body, dict):
        raise parse_error([field_error("body", "INVALID", f"invalid type: {json_type(body)}, expected a JSON object")])
    details = _unknown(body, ("rollout_percentage",))
    rollout = body.get("rollout_percentage")
    if rollout is None:
        details.append(field_error("body.rollout_percentage", "INVALID", "missing field `rollout_percentage`"))
    elif not is_int(rollout):
        details.append(_not_integer("rollout_percentage", rollout))
    if details:
        raise parse_error(details)
    return rollout


def _not_integer(key: str, value: Any) -> FieldError:
    return field_error(f"body.{key}", "INVALID", f"invalid type: {json_type(value)}, expected an integer for `{key}`",
                       expected="integer", got=value)
