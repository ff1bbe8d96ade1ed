"""The shape of config.toml: every section and key with its type, default and rules (config-and-ops.md §3).

Field-level messages are fragments (``must be > 0``) that :func:`describe_errors` prefixes with the
key's full path; section rules that span several keys raise whole sentences naming their keys.
"""
from __future__ import annotations

import difflib
import ipaddress
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validates_schema
from marshmallow.error_store import SCHEMA

NOT_A_TABLE = "must be a table"

# --- keys: fields that read a TOML value and parse an ORION_* override ------------------------


class EnvParseError(ValueError):
    """An environment value does not parse; ``str()`` is what was expected."""


def _describe_value(value: Any) -> str:
    kinds = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
    return f"{kinds.get(type(value), type(value).__name__)} {value!r}"


class Key(fields.Field):
    """A scalar or list key; an ``ORION_*`` variable can set it (``parse_env``)."""

    expected = "a value"

    def __init__(self, default: Any, **kwargs: Any) -> None:
        super().__init__(load_default=default, **kwargs)

    def wrong_type(self, value: Any) -> ValidationError:
        return ValidationError(f"must be {self.expected}, got {_describe_value(value)}")

    def parse_env(self, raw: str) -> Any:
        return raw


class Str(Key):
    expected = "a string"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.wrong_type(value)
        return value


class Int(Key):
    """An integer, at least ``minimum`` (0 unless told; 1 renders as ``must be > 0``)."""

    expected = "an integer"

    def __init__(self, default: Any, *, minimum: int = 0, maximum: int | None = None, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong_type(value)
        if value < self.minimum:
            raise ValidationError("must be > 0" if self.minimum == 1 else f"must be >= {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(f"must be <= {self.maximum}")
        return value

    def parse_env(self, raw: str) -> int:
        try:
            return int(raw.strip())
        except ValueError:
            raise EnvParseError("integer") from None


class Float(Key):
    """A number; ``bounds`` = inclusive (low, high)."""

    expected = "a number"

    def __init__(self, default: float, *, bounds: tuple[float, float] | None = None, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.bounds = bounds

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.wrong_type(value)
        if self.bounds and not self.bounds[0] <= value <= self.bounds[1]:
            raise ValidationError(f"must be between {self.bounds[0]} and {self.bounds[1]}, got {value}")
        return float(value)

    def parse_env(self, raw: str) -> float:
        try:
            return float(raw.strip())
        except ValueError:
            raise EnvParseError("number") from None


class Bool(Key):
    expected = "a boolean (true or false)"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.wrong_type(value)
        return value

    def parse_env(self, raw: str) -> bool:
        text = raw.strip().lower()
        if text not in ("true", "false"):
            raise EnvParseError("boolean (true or false)")
        return text == "true"


class Choice(Key):
    """One of ``choices`` (case-insensitive); ``aliases`` map other names onto a choice."""

    def __init__(self, default: str, choices: tuple[str, ...], aliases: dict[str, str] | None = None) -> None:
        super().__init__(default)
        self.choices = choices
        self.aliases = aliases or {}
        self.names = ", ".join((*choices, *self.aliases))
        self.expected = f"one of: {self.names}"

    def _canonical(self, text: str) -> str | None:
        text = text.strip().lower()
        text = self.aliases.get(text, text)
        return text if text in self.choices else None

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.wrong_type(value)
        canonical = self._canonical(value)
        if canonical is None:
            raise ValidationError(f"'{value}' is invalid. Must be one of: {self.names}")
        return canonical

    def parse_env(self, raw: str) -> str:
        canonical = self._canonical(raw)
        if canonical is None:
            raise EnvParseError(self.expected)
        return canonical


class StrList(Key):
    """An array of strings; from the environment a comma-separated list (items trimmed, empties dropped)."""

    expected = "an array of strings"

    def __init__(self, default: list[str]) -> None:
        super().__init__(lambda: list(default))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.wrong_type(value)
        return list(value)

    def parse_env(self, raw: str) -> list[str]:
        return [item.strip() for item in raw.split(",") if item.strip()]


# --- sections -----------------------------------------------------------------------------------


class Table(Schema):
    """A TOML table: unknown keys are errors; missing sub-tables get their defaults."""

    class Meta:
        unknown = RAISE

    error_messages = {"type": NOT_A_TABLE}

    @pre_load
    def _fill_subtables(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        missing = {name: {} for name, f in self.fields.items() if isinstance(f, fields.Nested) and name not in data}
        return {**data, **missing} if missing else data


def _sentences(problems: list[str]) -> None:
    if problems:
        raise ValidationError({SCHEMA: problems})


def _positive(section: str, data: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [f"{section}.{key} must be > 0" for key in keys if data[key] <= 0]


class TlsSection(Table):
    enabled = Bool(False)
    cert_path = Str("")
    key_path = Str("")

    @validates_schema
    def _files(self, data: dict[str, Any], **_: Any) -> None:
        if not data["enabled"]:
            return
        problems = []
        for key, label in (("cert_path", "certificate"), ("key_path", "private key")):
            path = data[key]
            if not path:
                problems.append(f"server.tls.{key} must not be empty when server.tls.enabled is true")
            elif not Path(path).is_file():
                problems.append(f"TLS {label} file not found: '{path}'")
        _sentences(problems)


class ServerSection(Table):
    host = Str("0.0.0.0")
    port = Int(8080, minimum=0, maximum=65535)  # 0: the OS picks a free port (tests; printed at start-up)
    workers = Int(lambda: os.cpu_count() or 1, minimum=1)
    shutdown_drain_secs = Int(30)
    trusted_proxies = StrList([])
    tls = fields.Nested(TlsSection)

    @validates_schema
    def _proxies(self, data: dict[str, Any], **_: Any) -> None:
        problems = []
        for index, proxy in enumerate(data["trusted_proxies"]):
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                problems.append(
                    f"server.trusted_proxies[{index}] '{proxy}' is not an IP address or network (e.g. '10.0.0.0/8')"
                )
        _sentences(problems)


class StorageSection(Table):
    url = Str("sqlite:orion.db")
    max_connections = Int(50, minimum=1)
    min_connections = Int(5)
    busy_timeout_ms = Int(5000, minimum=1)
    acquire_timeout_secs = Int(3, minimum=1)
    idle_timeout_secs = Int(300)
    backup_dir = Str("./backups")

    @validates_schema
    def _pool(self, data: dict[str, Any], **_: Any) -> None:
        problems = []
        if not data["url"].strip():
            problems.append("storage.url must not be empty")
        if data["min_connections"] > data["max_connections"]:
            problems.append(
                f"storage.min_connections ({data['min_connections']}) must be <= "
                f"storage.max_connections ({data['max_connections']})"
            )
        _sentences(problems)


class IngestSection(Table):
    max_payload_size = Int(1048576, minimum=1)


class CircuitBreakerSection(Table):
    enabled = Bool(True)
    failure_threshold = Int(5, minimum=1)
    recovery_timeout_secs = Int(30, minimum=1)
    max_breakers = Int(10000, minimum=1)


class EngineSection(Table):
    health_check_timeout_secs = Int(2, minimum=1)
    reload_timeout_secs = Int(10, minimum=1)
    max_channel_call_depth = Int(10, minimum=1)
    default_channel_call_timeout_ms = Int(30000, minimum=1)
    global_http_timeout_secs = Int(30, minimum=1)
    max_pool_cache_entries = Int(100, minimum=1)
    cache_cleanup_interval_secs = Int(60, minimum=1)
    circuit_breaker = fields.Nested(CircuitBreakerSection)


class QueueSection(Table):
    workers = Int(4, minimum=1)
    buffer_size = Int(1000, minimum=1)
    shutdown_timeout_secs = Int(30, minimum=1)
    trace_retention_hours = Int(72)
    trace_cleanup_interval_secs = Int(3600, minimum=1)
    processing_timeout_ms = Int(60000, minimum=1)
    max_result_size_bytes = Int(1048576)
    max_queue_memory_bytes = Int(104857600)
    dlq_retry_enabled = Bool(True)
    dlq_max_retries = Int(5)
    dlq_poll_interval_secs = Int(30, minimum=1)
    job_lease_secs = Int(30, minimum=1)  # how long a claimed async job stays claimed without renewal


class KafkaTopic(Table):
    topic = Str("")
    channel = Str("")


class KafkaDlqSection(Table):
    enabled = Bool(False)
    topic = Str("orion-dlq")


def _broker_problem(index: int, broker: str) -> str | None:
    host, sep, port = broker.rpartition(":")
    if not sep or not host:
        return f"kafka.brokers[{index}] '{broker}' must be in host:port format"
    if not port.isdigit() or not 0 < int(port) <= 65535:
        return f"kafka.brokers[{index}] '{broker}' has an invalid port number (1-65535)"
    return None


def _duplicates(values: list[str]) -> list[str]:
    return [value for value, count in Counter(values).items() if count > 1]


class KafkaSection(Table):
    enabled = Bool(False)
    brokers = StrList(["localhost:9092"])
    group_id = Str("orion")
    processing_timeout_ms = Int(60000, minimum=1)
    max_inflight = Int(100)
    lag_poll_interval_secs = Int(30)
    topics = fields.List(fields.Nested(KafkaTopic), load_default=list, error_messages={"invalid": "must be an array of tables"})
    dlq = fields.Nested(KafkaDlqSection)

    @validates_schema
    def _enabled(self, data: dict[str, Any], **_: Any) -> None:
        if not data["enabled"]:
            return
        problems = [] if data["brokers"] else ["kafka.brokers must not be empty when kafka.enabled is true"]
        problems += filter(None, (_broker_problem(i, b) for i, b in enumerate(data["brokers"])))
        if not data["group_id"]:
            problems.append("kafka.group_id must not be empty when kafka.enabled is true")
        problems += _positive("kafka", data, ("max_inflight",))
        for index, entry in enumerate(data["topics"]):
            problems += [f"kafka.topics[{index}].{key} must not be empty" for key in ("topic", "channel") if not entry[key]]
        for key in ("topic", "channel"):
            for value in _duplicates([entry[key] for entry in data["topics"] if entry[key]]):
                problems.append(f"kafka.topics: {key} '{value}' appears more than once")
        _sentences(problems)


class RateLimitEndpoints(Table):
    admin_rps = Int(None, minimum=1)
    data_rps = Int(None, minimum=1)


class RateLimitSection(Table):
    enabled = Bool(False)
    default_rps = Int(100)
    default_burst = Int(50)
    endpoints = fields.Nested(RateLimitEndpoints)

    @validates_schema
    def _enabled(self, data: dict[str, Any], **_: Any) -> None:
        if data["enabled"]:
            _sentences(_positive("rate_limit", data, ("default_rps", "default_burst")))


class AdminAuthSection(Table):
    enabled = Bool(False)
    api_key = Str("")
    api_keys = StrList([])
    header = Str("Authorization")

    @validates_schema
    def _keys(self, data: dict[str, Any], **_: Any) -> None:
        if data["enabled"] and not any(k.strip() for k in (data["api_key"], *data["api_keys"])):
            _sentences([
                "At least one admin API key must be configured when admin auth is enabled. "
                "Set admin_auth.api_key or admin_auth.api_keys (env ORION_ADMIN_AUTH__API_KEY), "
                "or set admin_auth.enabled = false."
            ])


class TraceStorageSection(Table):
    mode = Choice("batch", ("sync", "async", "batch", "off"))  # batch keeps sync requests off the write path
    sample_rate = Float(1.0, bounds=(0.0, 1.0))
    errors_only = Bool(False)
    max_pending = Int(10000, minimum=1)
    async_on_overflow = Choice("drop", ("drop", "block"))
    overflow_block_timeout_ms = Int(100)
    async_workers = Int(4)
    batch_size = Int(100)
    batch_flush_interval_ms = Int(100)
    batch_workers = Int(4)

    @validates_schema
    def _mode(self, data: dict[str, Any], **_: Any) -> None:
        needed = {"async": ("async_workers",), "batch": ("batch_size", "batch_flush_interval_ms", "batch_workers")}
        keys = needed.get(data["mode"], ())
        _sentences([f"{p} in '{data['mode']}' mode" for p in _positive("tracing.storage", data, keys)])


class TracingSection(Table):
    enabled = Bool(False)
    otlp_endpoint = Str("http://localhost:4317")
    service_name = Str("orion")
    sample_rate = Float(1.0)
    debug_profile_enabled = Bool(False)
    storage = fields.Nested(TraceStorageSection)

    @validates_schema
    def _enabled(self, data: dict[str, Any], **_: Any) -> None:
        if not data["enabled"]:
            return
        problems = []
        if not data["otlp_endpoint"].strip():
            problems.append("tracing.otlp_endpoint must not be empty when tracing.enabled is true")
        if not 0.0 <= data["sample_rate"] <= 1.0:
            problems.append(f"tracing.sample_rate must be between 0.0 and 1.0, got {data['sample_rate']}")
        _sentences(problems)


class CorsSection(Table):
    allowed_origins = StrList(["*"])


class LoggingSection(Table):
    level = Choice("info", ("trace", "debug", "info", "warn", "error"))
    format = Choice("pretty", ("pretty", "json"), aliases={"text": "pretty"})
    access_log = Bool(False)  # one event per request costs throughput; opt in


class MetricsSection(Table):
    enabled = Bool(False)


class GovernanceSection(Table):
    store = Str("memory://")  # where rate limits, idempotency keys and cached responses live
    key_prefix = Str("orion:")  # prepended to every key in a shared store
    memory_max_keys = Int(100000, minimum=1)  # per process; the oldest entries go first beyond it


class ChannelsSection(Table):
    include = StrList([])
    exclude = StrList([])


class PluginsSection(Table):
    disabled = StrList([])
    modules = StrList([])


def is_production_name(environment: str) -> bool:
    """Whether a deployment environment name is a production one (starts with ``prod``, any case)."""
    return environment.lower().startswith("prod")


class ConfigSchema(Table):
    """The whole file."""

    environment = Str("development")
    server = fields.Nested(ServerSection)
    storage = fields.Nested(StorageSection)
    ingest = fields.Nested(IngestSection)
    engine = fields.Nested(EngineSection)
    queue = fields.Nested(QueueSection)
    kafka = fields.Nested(KafkaSection)
    rate_limit = fields.Nested(RateLimitSection)
    admin_auth = fields.Nested(AdminAuthSection)
    tracing = fields.Nested(TracingSection)
    cors = fields.Nested(CorsSection)
    logging = fields.Nested(LoggingSection)
    metrics = fields.Nested(MetricsSection)
    channels = fields.Nested(ChannelsSection)
    plugins = fields.Nested(PluginsSection)
    governance = fields.Nested(GovernanceSection)

    @validates_schema
    def _production(self, data: dict[str, Any], **_: Any) -> None:
        if not is_production_name(data["environment"]):
            return
        problems = []
        if not data["admin_auth"]["enabled"]:
            problems.append(
                "admin_auth must be enabled when environment starts with 'prod'. "
                "Set admin_auth.enabled = true and an admin_auth.api_key (env ORION_ADMIN_AUTH__ENABLED, "
                "ORION_ADMIN_AUTH__API_KEY)."
            )
        if data["cors"]["allowed_origins"] == ["*"]:
            problems.append(
                "CORS wildcard '*' is not allowed when environment starts with 'prod'. "
                "Set cors.allowed_origins to the origins that may call the API (env ORION_CORS__ALLOWED_ORIGINS)."
            )
        _sentences(problems)


# --- introspection used by the loader -----------------------------------------------------------


def iter_keys(schema: Schema, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Key]]:
    """Every settable key below ``schema`` as ``(path, field)``; arrays of tables are skipped."""
    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested):
            yield from iter_keys(field.schema, (*prefix, name))
        elif isinstance(field, Key):
            yield (*prefix, name), field


def unknown_key_message(schema: Schema, prefix: tuple[str, ...], key: str) -> str:
    """``unknown key 'a.b'`` plus the closest valid key, or the valid keys when none is close."""
    full = ".".join((*prefix, key))
    names = list(schema.fields)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"unknown key '{full}' (did you mean '{'.'.join((*prefix, close[0]))}'?)"
    where = f"[{'.'.join(prefix)}]" if prefix else "the top level"
    return f"unknown key '{full}'; valid keys in {where}: {', '.join(names)}"


def describe_errors(messages: dict[Any, Any], schema: Schema, prefix: tuple[str, ...] = ()) -> list[str]:
    """Turn marshmallow's nested error dict into one readable message per problem."""
    out: list[str] = []
    path = ".".join(prefix)
    for key, sub in messages.items():
        if key == SCHEMA:
            out += [f"{path} {m}" if m == NOT_A_TABLE else m for m in sub]
            continue
        field = schema.fields.get(key)
        if field is None:
            out.append(unknown_key_message(schema, prefix, key))
        elif isinstance(field, fields.Nested) and isinstance(sub, dict):
            out += describe_errors(sub, field.schema, (*prefix, key))
        elif isinstance(field, fields.List) and isinstance(sub, dict):
            inner = field.inner.schema  # type: ignore[attr-defined]  # arrays of tables only
            for index, item in sub.items():
                out += describe_errors(item, inner, (*prefix, f"{key}[{index}]"))
        else:
            out += [f"{'.'.join((*prefix, key))} {m}" for m in sub]
    return out
