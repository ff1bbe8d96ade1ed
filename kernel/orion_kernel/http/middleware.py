"""The one request middleware: request id, security headers, errors in the envelope, access log."""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import hdrs, web

from ..errors import ApiError
from ..ids import uuid4_str
from ..storage import StorageConflict, StorageError
from .admin_auth import GUARDED_PREFIXES, AdminAuth
from .common import json_response
from .cors import CorsPolicy, is_preflight
from .keys import KERNEL

logger = logging.getLogger("orion.http")
access_logger = logging.getLogger("orion.access")

REQUEST_ID = web.RequestKey("request_id", str)
#: a handler whose page needs another Content-Security-Policy sets it here (only the Swagger UI, api-data.md §9)
CONTENT_SECURITY_POLICY = web.RequestKey("content_security_policy", str)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

HSTS = "max-age=63072000; includeSubDomains"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id_of(request: web.Request) -> str:
    return request.get(REQUEST_ID) or request.headers.get("x-request-id") or ""


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> ApiError:
    status = exc.status
    if status == 404:
        return ApiError("NOT_FOUND", f"No route matches {request.method} {request.path}")
    if status == 405:
        return ApiError("METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed on {request.path}")
    if status == 413:
        return ApiError("PAYLOAD_TOO_LARGE", f"Request body exceeds the limit of {request.app[KERNEL].config['ingest']['max_payload_size']} bytes")
    if status == 415:
        return ApiError("UNSUPPORTED_MEDIA_TYPE", exc.text or "Unsupported media type")
    if status < 500:
        return ApiError("BAD_REQUEST", exc.reason or "Bad request", status=status)
    return ApiError("INTERNAL_ERROR", "Internal server error", status=status)


@web.middleware
async def kernel_middleware(
    request: web.Request, handler: Handler, auth: AdminAuth | None = None, cors: CorsPolicy | None = None
) -> web.StreamResponse:
    """Adopt or create ``x-request-id``; answer CORS preflights and add CORS headers (``cors``);
    check admin credentials (``auth``); answer every failure in the error envelope; log the request.

    One middleware on purpose: each aiohttp middleware layer costs a coroutine per request.
    """
    started = time.perf_counter()
    request_id = request.headers.get("x-request-id") or uuid4_str()
    request[REQUEST_ID] = request_id
    origin = request.headers.get(hdrs.ORIGIN)
    try:
        if origin is not None and cors is not None and is_preflight(request):
            response: web.StreamResponse = cors.preflight(request, origin)  # before auth: browsers send no credentials
        else:
            if auth is not None and request.path.startswith(GUARDED_PREFIXES):
                auth.authenticate(request)
            response = await handler(request)
    except ApiError as exc:
        response = json_response(exc.body(request_id), exc.status, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err = _from_http_exception(request, exc)
        response = json_response(err.body(request_id), err.status)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    except StorageConflict as exc:
        # a concurrent writer won a race the handler had checked for (one draft, active rows)
        err = ApiError("CONFLICT", str(exc))
        response = json_response(err.body(request_id), err.status)
    except StorageError:
        logger.exception("storage failure on %s %s", request.method, request.path, extra={"request_id": request_id})
        err = ApiError("STORAGE_ERROR", "An internal storage error occurred")
        response = json_response(err.body(request_id), err.status)
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path, extra={"request_id": request_id})
        err = ApiError("INTERNAL_ERROR", "Internal server error")
        response = json_response(err.body(request_id), err.status)
    headers = response.headers
    headers["x-request-id"] = request_id
    headers.update(SECURITY_HEADERS)
    if CONTENT_SECURITY_POLICY in request:
        headers["Content-Security-Policy"] = request[CONTENT_SECURITY_POLICY]
    if request.secure:  # only the TLS listener (server.tls) answers over HTTPS
        headers["Strict-Transport-Security"] = HSTS
    if cors is not None and (origin is not None or not cors.permissive):
        cors.decorate(response, origin)
    if access_logger.isEnabledFor(logging.INFO):
        log_access(request, response, request_id, started)
    return response


def middleware_for(
    auth: AdminAuth | None, cors: CorsPolicy | None = None
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """:func:`kernel_middleware` with admin credentials checked by ``auth`` and ``[cors]`` applied."""
    if auth is None and cors is None:
        return kernel_middleware
    return web.middleware(partial(kernel_middleware, auth=auth, cors=cors))


def log_access(request: web.Request, response: web.StreamResponse, request_id: str, started: float) -> None:
    """One access-log event per request (config-and-ops.md §3.12), logger ``orion.access``."""
    resource = request.match_info.route.resource
    access_logger.info(
        "%s %s %d", request.method, request.path, response.status,
        extra={
            "request_id": request_id,
            "method": request.method,
            "route": resource.canonical if resource is not None else request.path,
            "status": response.status,
            "content_length": response.content_length,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
