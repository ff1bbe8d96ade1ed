"""Helpers shared by HTTP handlers: JSON responses, body parsing, paging parameters."""
from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from marshmallow import Schema, ValidationError

from ..errors import ApiError, field_error
from .api_schemas import PagingQuery

JSON_CONTENT_TYPE = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Serialize ``body`` once with orjson."""
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON_CONTENT_TYPE, headers=headers)


def no_content() -> web.Response:
    return web.Response(status=204)


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json*`` or any media type containing ``+json``."""
    if not content_type:
        return False
    lowered = content_type.lower()
    return lowered.startswith("application/json") or "+json" in lowered.split(";", 1)[0]


async def read_json_body(request: web.Request, *, required: bool = True) -> Any:
    """Parse an admin request body (api-admin.md §1.6): 415 without a JSON content type,
    400 ``VALIDATION_ERROR`` ``Invalid JSON: ...`` when it does not parse."""
    raw = await request.read()
    if not raw:
        if not required:
            return None
        if not is_json_content_type(request.headers.get("Content-Type")):
            raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Expected `content-type: application/json`")
        raise ApiError("VALIDATION_ERROR", "Invalid JSON: EOF while parsing a value",
                       details=[field_error("body", "INVALID", "request body is empty; a JSON object is required")])
    if not is_json_content_type(request.headers.get("Content-Type")):
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Expected `content-type: application/json`")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError("VALIDATION_ERROR", f"Invalid JSON: {exc}",
                       details=[field_error("body", "INVALID", f"body is not valid JSON: {exc}")]) from None


_PAGING = PagingQuery()


def load_query(request: web.Request, schema: Schema) -> dict[str, Any]:
    """The query string loaded with ``schema``; a value that does not parse is 400 ``VALIDATION_ERROR``
    ``Invalid query string: ...`` (api-admin.md §1.4) with one FieldError per parameter (the
    parameters that can fail to parse are integers; the others are free text)."""
    try:
        return schema.load(request.query)
    except ValidationError as exc:
        problems = [(str(name), messages[0] if isinstance(messages, list) else str(messages))
                    for name, messages in exc.normalized_messages().items()]
    details = [field_error(f"query.{name}", "TYPE_MISMATCH", f"'{name}' must be an integer", expected="integer", got=request.query.get(name))
               for name, _ in problems]
    name, message = problems[0]
    raise ApiError("VALIDATION_ERROR", f"Invalid query string: {name}: {message}", details=details)


def paging(request: web.Request) -> tuple[int, int]:
    """``(limit, offset)`` per api-admin.md §1.4: limit default 50 clamped to [1, 1000], offset ≥ 0."""
    query = load_query(request, _PAGING)
    return query["limit"], query["offset"]


def sorting(request: web.Request, allowed: tuple[str, ...], default: str) -> tuple[str, bool]:
    """``(sort_by, descending)``: unknown columns fall back to ``default``; only ``asc`` ascends."""
    sort_by = request.query.get("sort_by", default)
    if sort_by not in allowed:
        sort_by = default
    return sort_by, request.query.get("sort_order") != "asc"
