"""``deduplication``: refuse, or replay the answer to, a repeated idempotency key (channels.md §4.6).

Keys live in the ``[governance] store`` as ``dedup:<channel>:<key>``. ``mode = "reject"`` (the
default, as Orion) answers a repeated key inside the window with 409. ``mode = "replay"`` follows
the IETF Idempotency-Key draft: a completed key replays its stored answer (marked
``Idempotent-Replayed: true``), a key still in flight gets 409, the same key with another request
gets 422. Only successful (2xx) answers are kept for replay; an error releases the key so the
sender's retry runs again. The ``connector`` key is accepted and ignored (there are no cache
connectors yet): the shared store is chosen by ``[governance] store``.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from orion_kernel import ApiError, hookimpl
from orion_kernel.governance import (
    ALL_INGRESS,
    INGRESS_CALL,
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


logger = logging.getLogger("orion.governance.deduplication")

DEFAULT_WINDOW_SECS = 300
MODES = ("reject", "replay")
REPLAYED_HEADER = "Idempotent-Replayed"
HEADER_NAME = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$"  # an RFC 9110 token (emptiness is Length's message)

SEEN = b"1"  # mode "reject": the Redis semantics of the spec, SET <key> 1 NX EX <window>
PENDING = b"P"  # mode "replay": P<fingerprint> while the first request runs,
DONE = b"D"  # then D<fingerprint><3-digit status><body>
FINGERPRINT_LEN = 32
_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


class DeduplicationBlock(Schema):
    class Meta:
        unknown = RAISE

    header = fields.String(required=True, validate=[validate.Length(min=1),
                                                    validate.Regexp(HEADER_NAME, error="Not a valid HTTP header name.")])
    window_secs = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=2_147_483_647))
    retention_secs = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=2_147_483_647))  # Orion docs' alias
    connector = fields.String(allow_none=True)
    mode = fields.String(allow_none=True, validate=validate.OneOf(MODES))

    @validates_schema
    def _alias_agrees(self, data: dict[str, Any], **kwargs: Any) -> None:
        window, retention = data.get("window_secs"), data.get("retention_secs")
        if window is not None and retention is not None and window != retention:
            raise ValidationError(
                f"window_secs and its alias retention_secs differ ({window} and {retention}); set one of them")


_SCHEMA = DeduplicationBlock()


def idempotency_key(headers: Mapping[str, Any], header: str) -> str | None:
    """The key the request carries in ``header`` (lower-case name), or None: absent, empty or not text."""
    value = headers.get(header)
    if not isinstance(value, str) or not value:
        return None
    try:
        value.encode("utf-8")  # aiohttp keeps bytes that are not UTF-8 as lone surrogates
    except UnicodeEncodeError:
        return None
    return value


def request_fingerprint(request: ChannelRequest) -> bytes:
    """What makes two requests "the same" for replay: ingress path, method, route params, query, ``data``.

    The ingress path is part of it because the answers differ in kind (a sync envelope, an async
    receipt, a ``channel_call`` result): a key reused across paths is a different request.
    """
    message = request.message
    metadata = message.context["metadata"]
    material = orjson.dumps([request.ingress, metadata.get("http_method"), metadata.get("params"), metadata.get("query"),
                             message.payload], option=_JSON_OPTIONS, default=str)
    return hashlib.blake2b(material, digest_size=FINGERPRINT_LEN // 2).hexdigest().encode()


def duplicate(key: str) -> ApiError:
    return ApiError("CONFLICT", f"Duplicate request: idempotency key '{key}' already seen")


class Deduplication:
    """``mode = "reject"``: the first request with a key passes; any other inside the window gets 409.

    The key is recorded when the request passes, even if a later step fails (channels.md §4.6).
    """

    def __init__(self, channel: str, header: str, window_secs: int, store: StateStore) -> None:
        self.prefix = f"dedup:{channel}:"
        self.header = header
        self.window_secs = window_secs
        self.store = store
        self.rejected = 0
        self.store_failures = StoreFailures(logger, f"channel '{channel}' deduplication")

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        key = idempotency_key(request.headers, self.header)
        if key is None:
            return await proceed(request)
        try:
            first = await self.store.add(self.prefix + key, SEEN, self.window_secs)
        except StoreUnavailable as exc:
            self.store_failures.record("request let through without deduplication", exc)
            return await proceed(request)
        if not first:
            self.rejected += 1
            raise duplicate(key)
        return await proceed(request)


class ReplayDeduplication(Deduplication):
    """``mode = "replay"`` (IETF Idempotency-Key draft): replay a completed key's answer.

    The first request claims the key (in flight) and runs; a 2xx answer is then stored for
    ``window_secs``, anything else (an error status or an exception) releases the key.
    """

    def __init__(self, channel: str, header: str, window_secs: int, store: StateStore) -> None:
        super().__init__(channel, header, window_secs, store)
        self.replayed = 0

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        key = idempotency_key(request.headers, self.header)
        if key is None:
            return await proceed(request)
        store_key = self.prefix + key
        fingerprint = request_fingerprint(request)
        try:
            record = await self._claim(store_key, fingerprint)
        except StoreUnavailable as exc:
            self.store_failures.record("request let through without deduplication", exc)
            return await proceed(request)
        if record is not None:
            return self._repeat(request, key, fingerprint, record)
        try:
            reply = await proceed(request)
        except BaseException:
            await self._release(store_key)
            raise
        if 200 <= reply.status < 300:
            await self._keep(store_key, fingerprint, request, reply)
        else:
            await self._release(store_key)
        return reply

    async def _claim(self, store_key: str, fingerprint: bytes) -> bytes | None:
        """None when this request now owns the key, else the record of the request that does."""
        for _ in range(2):
            if await self.store.add(store_key, PENDING + fingerprint, self.window_secs):
                return None
            record = await self.store.get(store_key)
            if record is not None:
                return record
            # the record expired between add and get: claim again
        return None  # it keeps expiring under us: run the request, as without a key

    def _repeat(self, request: ChannelRequest, key: str, fingerprint: bytes, record: bytes) -> Reply:
        state, stored = record[:1], record[1:1 + FINGERPRINT_LEN]
        if state not in (PENDING, DONE) or len(stored) != FINGERPRINT_LEN:
            self.rejected += 1  # written while the channel was in mode "reject": nothing to replay
            raise duplicate(key)
        if stored != fingerprint:
            self.rejected += 1
            raise ApiError("UNPROCESSABLE", f"Idempotency key '{key}' was already used for a different request; "
                                            "use a new key for a new request")
        if state == PENDING:
            self.rejected += 1
            raise ApiError("CONFLICT", f"A request with idempotency key '{key}' is still being processed; retry later")
        start = 1 + FINGERPRINT_LEN
        status, body = int(record[start:start + 3]), record[start + 3:]
        self.replayed += 1
        request.response_headers[REPLAYED_HEADER] = "true"
        if request.ingress == INGRESS_CALL:  # channel_call reads the child's data, not a body
            request.message.context["data"] = orjson.loads(body)
            return Reply(status, b"", message=request.message)
        return Reply(status, body)

    async def _keep(self, store_key: str, fingerprint: bytes, request: ChannelRequest, reply: Reply) -> None:
        body = reply.body
        if request.ingress == INGRESS_CALL and reply.message is not None:
            body = orjson.dumps(reply.message.context["data"], option=orjson.OPT_NON_STR_KEYS, default=str)
        try:
            await self.store.set(store_key, DONE + fingerprint + b"%03d" % reply.status + body, self.window_secs)
        except StoreUnavailable as exc:
            self.store_failures.record("the answer is not kept for replay", exc)

    async def _release(self, store_key: str) -> None:
        try:
            await self.store.delete(store_key)
        except StoreUnavailable as exc:
            self.store_failures.record("the key stays in flight until the window ends", exc)


def bind(block: Any, setup: PolicySetup, channel: str) -> Deduplication:
    config = load_block(_SCHEMA, block)
    window = config.get("window_secs") or config.get("retention_secs") or DEFAULT_WINDOW_SECS
    policy = ReplayDeduplication if config.get("mode") == "replay" else Deduplication
    return policy(channel, config["header"].lower(), window, setup.store)


@hookimpl
def orion_channel_policies():
    yield ChannelPolicy(
        name="deduplication", config_key="deduplication", order=400, bind=bind, ingress=ALL_INGRESS,
        description="Idempotency key per request: 409 for a repeat (mode reject), or replay of the first answer",
    )
