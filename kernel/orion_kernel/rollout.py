"""Sticky rollouts: a workflow's ``rollout_key`` and the stable bucket it gives each caller.

``rollout_key`` is ``{"header": "<name>"}`` (the value of that request header) or
``{"client": "address"}`` (the TCP peer address); null or ``{}`` means none. The bucket is
``crc32("<workflow_id>:<key value>") % 100``, so one caller always lands in the same bucket of a
workflow while different workflows split callers independently. A request without the key
(header absent or empty) gets a random bucket, as without a ``rollout_key``.
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import FieldError, field_error

HEADER = "header"
CLIENT = "client"
CLIENT_ADDRESS = "address"
MAX_HEADER_LENGTH = 128
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP header name (RFC 9110 token)
EXAMPLES = '{"header": "x-user-id"} or {"client": "address"}'


@dataclass(frozen=True, slots=True)
class RolloutKey:
    """Where one workflow's sticky rollout reads the caller key, and the hash seed for it."""

    source: str  # HEADER or CLIENT
    name: str  # the header name, or CLIENT_ADDRESS
    seed: int  # crc32 of "<workflow_id>:"

    @classmethod
    def from_definition(cls, definition: Any, workflow_id: str) -> RolloutKey | None:
        """The key of a stored (already validated) ``rollout_key``; None when there is none."""
        if not isinstance(definition, dict) or len(definition) != 1:
            return None
        source, name = next(iter(definition.items()))
        if source not in (HEADER, CLIENT) or not isinstance(name, str):
            return None
        if source == HEADER:
            name = name.lower()  # requests reach the key with their header names lower-cased
        return cls(source, name, zlib.crc32(f"{workflow_id}:".encode()))

    def bucket(self, headers: Mapping[str, str], remote: str | None) -> int | None:
        """The caller's bucket 0–99, or None when the request carries no key."""
        value = headers.get(self.name) if self.source == HEADER else remote
        if not value:
            return None
        return zlib.crc32(value.encode("utf-8", "surrogateescape"), self.seed) % 100


def check_rollout_key(value: Any, path: str = "rollout_key") -> list[FieldError]:
    """FieldErrors for a ``rollout_key`` definition; null and ``{}`` (no sticky rollout) are valid
    (``{}`` is how a PUT clears it: null there keeps the stored value)."""
    if value is None or value == {}:
        return []
    if not isinstance(value, dict):
        return [field_error(path, "TYPE_MISMATCH", f"rollout_key must be an object: {EXAMPLES}", expected="object", got=value)]
    if len(value) != 1:
        return [field_error(path, "INVALID", f"rollout_key must have one key, 'header' or 'client': {EXAMPLES}", got=value)]
    source, name = next(iter(value.items()))
    where = f"{path}.{source}"
    if source == HEADER:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name) or len(name) > MAX_HEADER_LENGTH:
            return [field_error(where, "INVALID", f"rollout_key.header must be an HTTP header name (letters, digits and "
                                                  f"!#$%&'*+-.^_`|~, at most {MAX_HEADER_LENGTH} characters), e.g. \"x-user-id\"",
                                expected="header name", got=name)]
        return []
    if source == CLIENT:
        if name != CLIENT_ADDRESS:
            return [field_error(where, "INVALID", f"rollout_key.client must be \"{CLIENT_ADDRESS}\" (the TCP peer address)",
                                expected=CLIENT_ADDRESS, got=name)]
        return []
    return [field_error(where, "INVALID", f"unknown rollout_key source '{source}'; expected 'header' or 'client': {EXAMPLES}",
                        expected=[HEADER, CLIENT])]
