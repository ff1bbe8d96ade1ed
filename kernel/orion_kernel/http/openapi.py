"""The OpenAPI document: each handler is described beside its code, the document walks ``app.router``.

A handler carries its description as an attribute set by :func:`describe` (or :func:`undocumented`
for a route that is not part of the API, such as the Swagger UI's assets), so ``functools.wraps``
keeps it. :func:`build_openapi` turns every described route of an application into an OpenAPI 3.1
operation with apispec's marshmallow plugin; :func:`undescribed_routes` lists what a test must
refuse. config-and-ops.md §6.5.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from aiohttp import web
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from .. import __version__
from .admin_auth import GUARDED_PREFIXES
from .api_schemas import ErrorEnvelope
from .keys import KERNEL

OPENAPI_VERSION = "3.1.0"
TITLE = "Orion — Declarative Services Runtime API"
TAGS = {
    "Workflows": "Versioned task pipelines: create, edit drafts, activate, roll out, archive.",
    "Channels": "HTTP and Kafka entry points bound to workflows.",
    "Connectors": "Named connections to external systems.",
    "Engine": "The running engine: status and reload.",
    "Functions": "Task functions the installed plugins provide.",
    "Data": "The data plane: send messages to channels, read traces.",
    "Operational": "Health probes, metrics and this documentation.",
}
JSON = "application/json"
#: what a route registered for any method (``*``) is documented as
ANY_METHOD = ("get", "post", "put", "patch", "delete")
ERROR_DESCRIPTIONS = {
    400: "Invalid input: `VALIDATION_ERROR` (with `details` when fields are known) or `BAD_REQUEST`",
    401: "`UNAUTHORIZED`: admin credential missing or wrong",
    403: "`FORBIDDEN`",
    404: "`NOT_FOUND`",
    405: "`METHOD_NOT_ALLOWED`",
    409: "`CONFLICT`",
    413: "`PAYLOAD_TOO_LARGE`: body over `ingest.max_payload_size`",
    415: "`UNSUPPORTED_MEDIA_TYPE`: a body without a JSON content type",
    429: "`RATE_LIMITED`",
    500: "`ENGINE_ERROR`, `STORAGE_ERROR` or `INTERNAL_ERROR`",
    502: "`RESPONSE_TOO_LARGE`",
    503: "`SERVICE_UNAVAILABLE` or `CIRCUIT_OPEN`",
    504: "`TIMEOUT` or `TIMEOUT_ERROR`",
}
SECURITY_SCHEME = "adminApiKey"
_ATTRIBUTE = "__orion_openapi__"
_PATH_PARAM = re.compile(r"\{([^}]+)\}")

SchemaRef = type[Schema] | Schema
#: a request body: a schema, or a JSON Schema dict whose ``items`` / ``properties`` may hold schemas
RequestBody = SchemaRef | dict[str, Any]
#: a response: a schema (JSON body), a media type (a body of that type, e.g. ``text/html``), or None (no body)
ResponseBody = SchemaRef | str | None
H = TypeVar("H", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one handler."""

    summary: str
    tag: str
    description: str = ""
    body: RequestBody | None = None
    body_required: bool = True
    query: type[Schema] | None = None
    path: type[Schema] | None = None
    responses: Mapping[int, ResponseBody] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    operation_id: str = ""


@dataclass(frozen=True)
class Undocumented:
    """A route deliberately left out of the document, and why."""

    reason: str


def describe(
    summary: str,
    *,
    tag: str,
    description: str = "",
    body: RequestBody | None = None,
    body_required: bool = True,
    query: type[Schema] | None = None,
    path: type[Schema] | None = None,
    responses: Mapping[int, ResponseBody] | None = None,
    errors: tuple[int, ...] = (),
    operation_id: str = "",
) -> Callable[[H], H]:
    """Describe a handler for the OpenAPI document.

    ``body`` is the JSON request body's schema, ``query`` / ``path`` schemas of the query string
    and path parameters (path parameters without one are plain strings), ``responses`` the success
    responses by status (default ``{200: None}``), ``errors`` the error statuses the handler answers
    in the error envelope, ``operation_id`` the operation's id when it is not ``<module>_<handler name>``
    (a handler built per kind by a factory). Raises ValueError for a tag outside :data:`TAGS`.
    """
    if tag not in TAGS:
        raise ValueError(f"OpenAPI tag '{tag}' (handler '{summary}') is not one of {', '.join(TAGS)}; add it to TAGS first")
    operation = Operation(summary, tag, description, body, body_required, query, path,
                          dict(responses) if responses is not None else {200: None}, tuple(errors), operation_id)

    def attach(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, operation)
        return handler

    return attach


def undocumented(reason: str) -> Callable[[H], H]:
    """Leave a handler's routes out of the document on purpose (``reason`` says why)."""

    def attach(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, Undocumented(reason))
        return handler

    return attach


def description_of(handler: Any) -> Operation | Undocumented | None:
    """The handler's description, or None when it has none."""
    return getattr(handler, _ATTRIBUTE, None)


def _routes(app: web.Application) -> Iterator[tuple[str, str, Any]]:
    """``(method, path, handler)`` per route; HEAD is skipped where aiohttp added it beside a GET."""
    for resource in app.router.resources():
        routes = list(resource)
        methods = {route.method for route in routes}
        for route in routes:
            if route.method == "HEAD" and "GET" in methods:
                continue
            yield route.method, resource.canonical, route.handler


def undescribed_routes(app: web.Application) -> list[str]:
    """``"METHOD /path"`` for every route whose handler has neither :func:`describe` nor :func:`undocumented`."""
    return [f"{method} {path}" for method, path, handler in _routes(app) if description_of(handler) is None]


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described route of ``app``."""
    spec = APISpec(
        title=TITLE,
        version=__version__,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Declare services as JSON workflows bound to channels and manage them over HTTP.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        tags=[{"name": name, "description": text} for name, text in TAGS.items()],
    )
    spec.components.schema("ErrorEnvelope", schema=ErrorEnvelope)
    security = _security(app, spec)
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for method, path, handler in _routes(app):
        operation = description_of(handler)
        if not isinstance(operation, Operation):
            continue
        for verb in ANY_METHOD if method == "*" else (method.lower(),):
            body = _operation(operation, path, handler, verb if method == "*" else "")
            body["operationId"] = _unique(body["operationId"], operation_ids)
            if security and path.startswith(GUARDED_PREFIXES):
                body["security"] = security
            paths.setdefault(path, {})[verb] = body
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _unique(operation_id: str, used: set[str]) -> str:
    """``operation_id``, numbered when one handler serves several paths (``/docs`` and ``/docs/``)."""
    candidate, number = operation_id, 1
    while candidate in used:
        number += 1
        candidate = f"{operation_id}_{number}"
    used.add(candidate)
    return candidate


def _security(app: web.Application, spec: APISpec) -> list[dict[str, list[str]]]:
    """Declare the admin credential when admin authentication is on (api-admin.md §2)."""
    auth = app[KERNEL].config["admin_auth"]
    if not auth["enabled"]:
        return []
    header = auth["header"]
    if header.lower() == "authorization":
        scheme = {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <admin API key>`"}
    else:
        scheme = {"type": "apiKey", "in": "header", "name": header, "description": "the admin API key"}
    spec.components.security_scheme(SECURITY_SCHEME, scheme)
    return [{SECURITY_SCHEME: []}]


def _operation(operation: Operation, path: str, handler: Any, verb: str) -> dict[str, Any]:
    module = getattr(handler, "__module__", "").rsplit(".", 1)[-1]
    name = operation.operation_id or "_".join(part for part in (module, getattr(handler, "__name__", "handler")) if part)
    out: dict[str, Any] = {
        "summary": operation.summary,
        "tags": [operation.tag],
        "operationId": "_".join(part for part in (name, verb) if part),
        "parameters": _parameters(operation, path),
        "responses": _responses(operation),
    }
    if operation.description:
        out["description"] = operation.description
    if operation.body is not None:
        out["requestBody"] = {"required": operation.body_required, "content": {JSON: {"schema": operation.body}}}
    return out


def _parameters(operation: Operation, path: str) -> list[dict[str, Any]]:
    """Path parameters (from ``operation.path`` or plain strings), then the query schema."""
    names = _PATH_PARAM.findall(path)
    params: list[dict[str, Any]] = []
    declared: set[str] = set()
    if operation.path is not None:
        params.append({"in": "path", "schema": operation.path})
        declared = set(operation.path._declared_fields)
    params += [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
               for name in names if name not in declared]
    if operation.query is not None:
        params.append({"in": "query", "schema": operation.query})
    return params


def _responses(operation: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, body in operation.responses.items():
        response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if isinstance(body, str):
            response["content"] = {body: {}}
        elif body is not None:
            response["content"] = {JSON: {"schema": body}}
        out[str(status)] = response
    for status in operation.errors:
        out[str(status)] = _error(ERROR_DESCRIPTIONS.get(status, HTTPStatus(status).phrase))
    out["default"] = _error("Any other error, in the error envelope")
    return out


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": "ErrorEnvelope"}}}
