"""Global CORS (``[cors]``, api-data.md §9): CORS headers on every response, preflights answered.

``allowed_origins = ["*"]`` is fully permissive (any origin, method and header). Any other list
is an allow-list: a listed origin gets ``Access-Control-Allow-Origin`` with its own value, the
methods in :data:`ALLOWED_METHODS` and the headers in :data:`ALLOWED_HEADERS`; any other origin
gets no CORS headers, so the browser withholds the answer. A preflight (``OPTIONS`` with
``Origin`` and ``Access-Control-Request-Method``) is answered by the kernel middleware for every
path and never reaches admin authentication or a channel. A request without ``Origin`` costs one
header lookup.
Channel-level ``config.cors`` (channels.md §4.5) refuses disallowed origins on top of this.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from urllib.parse import urlsplit

from aiohttp import hdrs, web


logger = logging.getLogger("orion.http.cors")

ANY_ORIGIN = "*"
#: the spec's GET, POST, PUT, DELETE plus PATCH, which the admin API uses (status changes, rollouts)
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = "content-type, authorization, accept, x-api-key, idempotency-key, x-request-id, x-orion-profile"
#: response headers browser code may read besides the CORS-safelisted ones
EXPOSED_HEADERS = "x-request-id, retry-after, ratelimit, ratelimit-policy, idempotent-replayed, x-cache"
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may reuse a preflight answer

def origin_problem(origin: str) -> str | None:
    """Why ``origin`` cannot match a browser's ``Origin`` header (``scheme://host[:port]``), or None."""
    if origin == ANY_ORIGIN:
        return "'*' allows every origin only as the whole list (allowed_origins = [\"*\"])"
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return str(exc)
    if not parts.scheme or not parts.netloc or any(c.isspace() for c in origin):
        return "an origin is scheme://host[:port], e.g. https://app.example.com"
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return f"an origin has no path, query or user; did you mean '{parts.scheme}://{parts.netloc.rpartition('@')[2]}'?"
    return None


class CorsPolicy:
    """The resolved ``[cors]`` settings: permissive, or the set of allowed origins."""

    def __init__(self, origins: Iterable[str]) -> None:
        origins = list(origins)
        self.permissive = origins == [ANY_ORIGIN]
        allowed: set[str] = set()
        if not self.permissive:
            for origin in origins:
                problem = origin_problem(origin)
                if problem:
                    logger.warning("cors.allowed_origins: '%s' is ignored: %s", origin, problem)
                else:
                    allowed.add(origin.lower())  # browsers send scheme and host in lower case
        self.allowed = frozenset(allowed)

    def allows(self, origin: str) -> bool:
        return self.permissive or origin in self.allowed

    def preflight(self, request: web.Request, origin: str) -> web.Response:
        """204 with the allowed methods and headers; without them for an origin not allowed."""
        response = web.Response(status=204)
        headers = response.headers
        headers[hdrs.VARY] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        if not self.allows(origin):
            return response
        if self.permissive:
            headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = ANY_ORIGIN
            headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = request.headers[hdrs.ACCESS_CONTROL_REQUEST_METHOD]
            requested = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS)
            if requested:
                headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = requested
        else:
            headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = ALLOWED_METHODS
            headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = ALLOWED_HEADERS
        headers[hdrs.ACCESS_CONTROL_MAX_AGE] = PREFLIGHT_MAX_AGE
        return response

    def decorate(self, response: web.StreamResponse, origin: str | None) -> None:
        """Add the CORS headers of an actual request's answer."""
        if response.prepared:  # a streamed answer has sent its headers already
            return
        headers = response.headers
        if not self.permissive:
            _add_vary(headers, "Origin")
        if origin is None or not self.allows(origin):
            return
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = ANY_ORIGIN if self.permissive else origin
        headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = EXPOSED_HEADERS


def _add_vary(headers: MutableMapping[str, str], value: str) -> None:
    current = headers.get(hdrs.VARY)
    if not current:
        headers[hdrs.VARY] = value
    elif value.lower() not in (v.strip().lower() for v in current.split(",")):
        headers[hdrs.VARY] = f"{current}, {value}"


def is_preflight(request: web.Request) -> bool:
    """A CORS preflight: ``OPTIONS`` with ``Access-Control-Request-Method`` (the caller checked ``Origin``)."""
    return request.method == hdrs.METH_OPTIONS and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers
