"""Admin authentication (api-admin.md §2): an API key in ``Authorization: Bearer`` or a custom header.

The middleware calls :meth:`AdminAuth.authenticate` for paths under :data:`GUARDED_PREFIXES`
only, and only when ``admin_auth.enabled``; the data API never pays for it.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from ..errors import ApiError
from .admin_common import PRINCIPAL

GUARDED_PREFIXES = ("/api/v1/admin", "/metrics")
AUTHORIZATION = "authorization"
BEARER = "bearer"
PRINCIPAL_CHARS = 8


class AdminAuth:
    """The accepted admin keys and the header that carries one."""

    def __init__(self, keys: Iterable[str], header: str = "Authorization") -> None:
        self.keys = tuple(dict.fromkeys(key.encode() for key in keys if key.strip()))
        if not self.keys:
            raise ValueError("admin authentication needs at least one non-empty key (admin_auth.api_key / api_keys)")
        self.header = header
        self.bearer = header.lower() == AUTHORIZATION
        self._challenge = {"WWW-Authenticate": 'Bearer realm="orion-admin"'} if self.bearer else None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> AdminAuth | None:
        """The checker for the ``[admin_auth]`` config section; None when authentication is off."""
        if not section["enabled"]:
            return None
        return cls([section["api_key"], *section["api_keys"]], section["header"])

    def authenticate(self, request: web.Request) -> None:
        """Accept the request (recording its principal for audit entries) or raise 401 ``UNAUTHORIZED``."""
        value = request.headers.get(self.header)
        if value is None:
            raise self._unauthorized(f"Missing {self.header} header")
        if self.bearer:
            scheme, _, value = value.partition(" ")
            if scheme.lower() != BEARER:
                raise self._unauthorized("Authorization header must use 'Bearer <token>' format")
            value = value.strip()
        presented = value.encode("utf-8", "surrogateescape")
        matched = False
        for key in self.keys:  # compare with every key: the time does not tell which one matched
            matched |= hmac.compare_digest(presented, key)
        if not matched:
            raise self._unauthorized("Invalid API key")
        request[PRINCIPAL] = value[:PRINCIPAL_CHARS] + "..."

    def _unauthorized(self, message: str) -> ApiError:
        return ApiError("UNAUTHORIZED", message, headers=self._challenge)
