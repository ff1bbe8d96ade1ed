"""``cache``: answer a repeated sync request from the stored response (channels.md §4.7).

Responses live in the ``[governance] store`` as ``cache:<channel>:<16 hex digits>``, the 64-bit
FNV-1a hash of what identifies the request (:meth:`ResponseCache.key_material`). Only a 200 whose
``errors`` is empty is stored; a hit answers the stored body with ``X-Cache: HIT`` and skips every
later step. The ``connector`` key is accepted and ignored (there are no cache connectors yet).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from marshmallow import RAISE, Schema, fields, validate

from orion_kernel import Message, hookimpl
from orion_kernel.governance import (
    INGRESS_SYNC,
    ChannelPolicy,
    ChannelRequest,
    PolicySetup,
    Proceed,
    Reply,
    StateStore,
    StoreFailures,
    StoreUnavailable,
    load_block,
)


logger = logging.getLogger("orion.governance.response_cache")

DEFAULT_TTL_SECS = 300
CACHE_HEADER = "X-Cache"
DATA_PREFIX = "data."
FIELD_PATH = r"^[^.]+(\.[^.]+)*$"
FIELD_PATH_ERROR = 'Not a field path: names separated by dots, e.g. "data.user_id".'

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK_64 = 0xFFFFFFFFFFFFFFFF
_ABSENT = object()


class StrictBoolean(fields.Boolean):
    """A JSON boolean only (marshmallow's Boolean also takes ``"true"``, ``1``, ...)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class CacheBlock(Schema):
    class Meta:
        unknown = RAISE

    enabled = StrictBoolean(required=True)
    ttl_secs = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=2_147_483_647))
    cache_key_fields = fields.List(
        fields.String(validate=validate.Regexp(FIELD_PATH, error=FIELD_PATH_ERROR)), allow_none=True)
    connector = fields.String(allow_none=True)


_SCHEMA = CacheBlock()


def canonical_json(value: Any) -> bytes:
    """Compact JSON with sorted object keys: the same value always gives the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def fnv1a_64(chunks: Iterable[bytes]) -> int:
    """64-bit FNV-1a over the concatenation of ``chunks``."""
    value = FNV_OFFSET
    for chunk in chunks:
        for byte in chunk:
            value = ((value ^ byte) * FNV_PRIME) & MASK_64
    return value


def field_path(name: str) -> tuple[str, ...]:
    """``"data.user.id"`` and ``"user.id"`` both name ``data["user"]["id"]``."""
    return tuple((name[len(DATA_PREFIX):] if name.startswith(DATA_PREFIX) else name).split("."))


def lookup(data: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in ``data`` (object keys; list indexes as digits), else ``_ABSENT``."""
    for part in path:
        if isinstance(data, dict):
            data = data.get(part, _ABSENT)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _ABSENT
        if data is _ABSENT:
            return _ABSENT
    return data


class ResponseCache:
    """The bound ``cache`` block of one channel; ``hits``/``misses`` count lookups."""

    def __init__(self, channel: str, ttl_secs: int, key_fields: list[str] | None, store: StateStore) -> None:
        self.prefix = f"cache:{channel}:"
        self.ttl_secs = ttl_secs
        # (name bytes fed to the hash, path into data): the name as looked up, without "data."
        self.fields = None if not key_fields else [(".".join(p).encode(), p) for p in map(field_path, key_fields)]
        self.store = store
        self.hits = 0
        self.misses = 0
        self.store_failures = StoreFailures(logger, f"channel '{channel}' response cache")

    def key_material(self, message: Message) -> list[bytes] | None:
        """The bytes hashed into the key, or None when the request is not cacheable.

        First, as channels.md §4.7 (so a plain POST keys like Orion's): the compact JSON of
        ``data``, or for each configured field present in ``data``, in list order, its name then the
        compact JSON of its value (None when no field is present). Then, each only when it says
        something: ``\\0method=`` and the method unless POST, ``\\0params=`` and the route params,
        ``\\0query=`` and the query parameters, both as compact JSON with sorted keys.
        """
        data = message.payload
        if self.fields is None:
            chunks = [canonical_json(data)]
        else:
            chunks = []
            for name, path in self.fields:
                value = lookup(data, path)
                if value is not _ABSENT:
                    chunks += (name, canonical_json(value))
            if not chunks:
                return None
        metadata = message.context["metadata"]
        method = metadata.get("http_method")
        if method and method != "POST":
            chunks += (b"\0method=", str(method).encode())
        if params := metadata.get("params"):
            chunks += (b"\0params=", canonical_json(params))
        if query := metadata.get("query"):
            chunks += (b"\0query=", canonical_json(query))
        return chunks

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        material = self.key_material(request.message)
        if material is None:
            return await proceed(request)
        key = f"{self.prefix}{fnv1a_64(material):016x}"
        try:
            cached = await self.store.get(key)
        except StoreUnavailable as exc:
            self.store_failures.record("request answered without the cache", exc)
            return await proceed(request)
        if cached is not None:
            self.hits += 1
            request.response_headers[CACHE_HEADER] = "HIT"
            return Reply(200, cached)
        self.misses += 1
        request.response_headers[CACHE_HEADER] = "MISS"
        reply = await proceed(request)
        # a profiled answer carries this run's _orion debug output: not an answer for others
        if reply.status == 200 and reply.message is not None and not reply.message.errors and not request.profile:
            try:
                await self.store.set(key, reply.body, self.ttl_secs)
            except StoreUnavailable as exc:
                self.store_failures.record("response not cached", exc)
        return reply


def bind(block: Any, setup: PolicySetup, channel: str) -> ResponseCache | None:
    config = load_block(_SCHEMA, block)
    if not config["enabled"]:
        return None
    ttl = config.get("ttl_secs") or DEFAULT_TTL_SECS
    return ResponseCache(channel, ttl, config.get("cache_key_fields"), setup.store)


@hookimpl
def orion_channel_policies():
    yield ChannelPolicy(
        name="response_cache", config_key="cache", order=500, bind=bind, ingress=frozenset({INGRESS_SYNC}),
        description="Answer repeated sync requests from a stored 200 response for ttl_secs",
    )
