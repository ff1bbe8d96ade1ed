"""The channel ``config`` object (channels.md §4): shape check with marshmallow, then JSONLogic compile.

Known blocks are checked strictly (types, ranges, no unknown keys inside a block); unknown
top-level keys are left alone because governance plugins may own further blocks.
"""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from ..errors import FieldError, field_error
from ..expressions import ExpressionEngine
from ..fields import AnyJson
from .common import check_logic, json_type

PATH = "channel.config"
SHAPE_MESSAGE = "channel.config does not match the ChannelConfig shape"
TRACE_MODES = ("sync", "async", "batch", "off")


class StrictBoolean(fields.Boolean):
    """A JSON boolean only (marshmallow's Boolean also takes ``"yes"``, ``1``, ...)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictNumber(fields.Float):
    """A JSON number only (marshmallow's Float also parses strings)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return float(value)


def _int(minimum: int, **kwargs: Any) -> fields.Integer:
    kwargs.setdefault("allow_none", not kwargs.get("required", False))
    return fields.Integer(strict=True, validate=validate.Range(min=minimum), **kwargs)


def _strings() -> fields.List:
    return fields.List(fields.String(), allow_none=True)


class Block(Schema):
    class Meta:
        unknown = RAISE


class RateLimitBlock(Block):
    requests_per_second = _int(0, required=True)
    burst = _int(1)
    key_logic = AnyJson()


class BackpressureBlock(Block):
    max_concurrent = _int(0, required=True)
    queue_depth = _int(0)


class CorsBlock(Block):
    allowed_origins = _strings()
    allowed_methods = _strings()
    allowed_headers = _strings()


class DeduplicationBlock(Block):
    header = fields.String(required=True, validate=validate.Length(min=1))
    window_secs = _int(0)
    retention_secs = _int(0)  # the Orion docs' spelling of window_secs
    connector = fields.String(allow_none=True)


class CacheBlock(Block):
    enabled = StrictBoolean(required=True)
    ttl_secs = _int(0)
    cache_key_fields = _strings()
    connector = fields.String(allow_none=True)


class TracingBlock(Block):
    per_task = StrictBoolean(allow_none=True)
    task_details = StrictBoolean(allow_none=True)  # alias of per_task used by v0.2 clients
    mode = fields.String(allow_none=True, validate=validate.OneOf(TRACE_MODES))
    sample_rate = StrictNumber(allow_none=True, validate=validate.Range(min=0.0, max=1.0))
    errors_only = StrictBoolean(allow_none=True)


class ChannelConfigSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    rate_limit = fields.Nested(RateLimitBlock, allow_none=True)
    timeout_ms = _int(0)
    validation_logic = AnyJson()
    backpressure = fields.Nested(BackpressureBlock, allow_none=True)
    cors = fields.Nested(CorsBlock, allow_none=True)
    deduplication = fields.Nested(DeduplicationBlock, allow_none=True)
    cache = fields.Nested(CacheBlock, allow_none=True)
    tracing = fields.Nested(TracingBlock, allow_none=True)


_SCHEMA = ChannelConfigSchema()


def _flatten(messages: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    if isinstance(messages, dict):
        for key, sub in messages.items():
            path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            _flatten(sub, path, out)
    else:
        for text in messages if isinstance(messages, list) else [messages]:
            out.append((prefix, str(text)))


def check_channel_config(config: Any, engine: ExpressionEngine) -> list[FieldError]:
    """FieldErrors for a channel ``config`` value (channels.md §3.2); ``{}`` is always valid."""
    if not isinstance(config, dict):
        return [field_error(PATH, "INVALID", f"{SHAPE_MESSAGE}: expected an object, got {json_type(config)}", expected="object")]
    try:
        _SCHEMA.load(config)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        _flatten(exc.messages, "", problems)
        return [field_error(PATH, "INVALID", f"{SHAPE_MESSAGE}: {where}: {text}") for where, text in problems]
    errors: list[FieldError] = []
    dedup = config.get("deduplication") or {}
    if dedup.get("window_secs") is not None and dedup.get("retention_secs") is not None and dedup["window_secs"] != dedup["retention_secs"]:
        errors.append(field_error(PATH, "INVALID", f"{SHAPE_MESSAGE}: deduplication: window_secs and its alias retention_secs differ; send only one"))
    if config.get("validation_logic") is not None:
        errors += check_logic(engine, config["validation_logic"], f"{PATH}.validation_logic", "channel.config.validation_logic")
    key_logic = (config.get("rate_limit") or {}).get("key_logic")
    if key_logic is not None:
        errors += check_logic(engine, key_logic, f"{PATH}.rate_limit.key_logic", "channel.config.rate_limit.key_logic")
    return errors
