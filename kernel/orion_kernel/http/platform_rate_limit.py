"""``[rate_limit]`` for the routes that are not a channel: admin, traces, health, metrics, API docs.

Installed only when ``[rate_limit] enabled``. Per client IP (``server.trusted_proxies`` decides
whether a forwarded address counts): ``/api/v1/admin/*`` uses the admin limiter, the trace routes
the data limiter, everything outside ``/api/v1/data/`` the default one (config-and-ops.md §3.8).
Any other data route reaches a channel and passes through: the channel's own chain limits it,
with its ``rate_limit`` or the platform data limiter (checking here too would count it twice).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..errors import ApiError
from ..governance.rate_limiter import RateLimiter, platform_key, platform_limiter, refusal
from ..kernel import Kernel
from .data import get_trace, list_traces

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

ADMIN_PREFIX = "/api/v1/admin"
DATA_PREFIX = "/api/v1/data/"
TRACE_HANDLERS = (list_traces, get_trace)  # every other data route reaches a channel, whose chain limits it


def middlewares(kernel: Kernel) -> tuple[Middleware, ...]:
    """The platform limiter middleware, or nothing when platform rate limiting is off."""
    config, store, local = kernel.config, kernel.store, kernel.local_store
    default = platform_limiter("default", config, store, local)
    admin = platform_limiter("admin", config, store, local)
    data = platform_limiter("data", config, store, local)
    if default is None or admin is None or data is None:
        return ()
    clients = kernel.clients

    def limiter_for(request: web.Request) -> RateLimiter | None:
        path = request.path
        if path.startswith(DATA_PREFIX):
            return data if request.match_info.handler in TRACE_HANDLERS else None
        if path.startswith(ADMIN_PREFIX):
            return admin
        return default

    @web.middleware
    async def platform_rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        limiter = limiter_for(request)
        if limiter is None:
            return await handler(request)
        decision = await limiter.take(platform_key(limiter, clients.resolve(request.remote, request.headers)))
        headers = limiter.headers(decision)
        if not decision.allowed:
            raise refusal(headers, decision)
        try:
            response = await handler(request)
        except ApiError as exc:
            exc.headers = {**headers, **(exc.headers or {})}
            raise
        if not response.prepared:
            response.headers.update(headers)
        return response

    return (platform_rate_limit,)
