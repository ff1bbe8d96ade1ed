"""Load the configuration: file text → ``${VAR}`` substitution → TOML → ``ORION_*`` overrides → validation.

The steps and messages are config-and-ops.md §1–§4; the keys and rules live in :mod:`config_schema`.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from marshmallow import ValidationError, fields

from .config_schema import ConfigSchema, EnvParseError, Key, describe_errors, is_production_name, iter_keys, unknown_key_message
from .errors import ConfigError

ENV_PREFIX = "ORION_"
_NAME = re.compile(r"[A-Za-z0-9_]+")
_SCHEMA = ConfigSchema()


def _env_name(path: tuple[str, ...]) -> str:
    """``ORION_<SECTION>__<KEY>`` (nested sections joined by ``__``); ``environment`` is ``ORION_ENV``."""
    return "ORION_ENV" if path == ("environment",) else ENV_PREFIX + "__".join(path).upper()


_ENV_KEYS: dict[str, tuple[tuple[str, ...], Key]] = {_env_name(path): (path, field) for path, field in iter_keys(_SCHEMA)}


def load_config(path: str | None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the complete configuration (every default filled) as nested plain dicts.

    ``path`` None means defaults + environment only; ``env`` None means ``os.environ``.
    Raises :class:`ConfigError` with a message naming the key (or variable, file, line) and the fix.
    """
    env = os.environ if env is None else env
    data = {} if path is None else _parse_toml(substitute(_read(path), env, path), path)
    apply_env_overrides(data, env)
    try:
        return _SCHEMA.load(data)
    except ValidationError as exc:
        problems = describe_errors(exc.normalized_messages(), _SCHEMA)
        raise ConfigError(problems[0] if len(problems) == 1 else _bulleted(problems)) from None


def _bulleted(problems: list[str]) -> str:
    return f"{len(problems)} problems:" + "".join(f"\n  - {problem}" for problem in problems)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid UTF-8 (byte {exc.start})") from None


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends with "(at line L, column C)"
        raise ConfigError(f"invalid TOML in '{path}': {exc}") from None


def substitute(text: str, env: Mapping[str, str], source: str) -> str:
    """Replace ``${NAME}``, ``${NAME:-default}`` and ``$$`` in one pass (§2.1); ``source`` names the file."""
    out: list[str] = []
    pos = 0
    while (dollar := text.find("$", pos)) >= 0:
        out.append(text[pos:dollar])
        following = text[dollar + 1 : dollar + 2]
        if following == "$":
            out.append("$")
            pos = dollar + 2
        elif following == "{":
            end = text.find("}", dollar + 2)
            if end < 0:
                raise ConfigError("Unterminated ${...} expression")
            out.append(_resolve(text[dollar + 2 : end], env, source))
            pos = end + 1
        else:
            out.append("$")
            pos = dollar + 1
    out.append(text[pos:])
    return "".join(out)


def _resolve(expression: str, env: Mapping[str, str], source: str) -> str:
    name, has_default, default = expression.partition(":-")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"Invalid env var name '{name}'")
    value = env.get(name)
    if value is not None:
        return value
    if has_default:
        return default
    raise ConfigError(
        f"Required environment variable '{name}' is not set (referenced in {source}). "
        f"Set the variable or use '${{{name}:-default}}' to provide a fallback."
    )


def apply_env_overrides(data: dict[str, Any], env: Mapping[str, str]) -> None:
    """Set every key named by an ``ORION_*`` variable in ``data`` (parsed to the key's type)."""
    for var in sorted(env):
        if var in _ENV_KEYS:
            path, field = _ENV_KEYS[var]
            try:
                value = field.parse_env(env[var])
            except EnvParseError as exc:
                raise ConfigError(f"{var}: invalid value '{env[var]}', expected {exc}") from None
            _set(data, path, value)
        elif var.startswith(ENV_PREFIX) and "__" in var:
            _check_unknown_variable(var)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return  # the file has a non-table here; validation reports it
    node[path[-1]] = value


def _check_unknown_variable(var: str) -> None:
    """Reject ``ORION_<SECTION>__<X>`` when SECTION is a config section but X is no settable key."""
    parts = var[len(ENV_PREFIX) :].lower().split("__")
    if parts[0] not in _SCHEMA.fields:
        return  # not one of our sections: some other tool's variable
    schema, prefix = _SCHEMA, ()
    for part in parts:
        field = schema.fields.get(part)
        path = ".".join((*prefix, part))
        if field is None:
            raise ConfigError(f"{var}: {unknown_key_message(schema, prefix, part)}")
        if isinstance(field, Key):
            raise ConfigError(f"{var}: {path} is a single key, not a table; set it with {_env_name((*prefix, part))}")
        if isinstance(field, fields.List):
            raise ConfigError(f"{var}: {path} is an array of tables; set it in the config file")
        schema, prefix = field.schema, (*prefix, part)
    example = _env_name((*prefix, next(iter(schema.fields))))
    raise ConfigError(f"{var}: [{'.'.join(prefix)}] is a table; set one of its keys, e.g. {example}")


# --- reading a loaded configuration ---------------------------------------------------------------


def is_production(cfg: Mapping[str, Any]) -> bool:
    """Whether ``environment`` starts with ``prod`` (case-insensitive), which tightens validation."""
    return is_production_name(cfg["environment"])


def config_warnings(cfg: Mapping[str, Any]) -> list[str]:
    """Outside production, the settings production would reject (log them at start-up)."""
    if is_production(cfg):
        return []
    warnings = []
    if not cfg["admin_auth"]["enabled"]:
        warnings.append("admin_auth is disabled: anyone can call the admin API; enable it before going to production")
    if cfg["cors"]["allowed_origins"] == ["*"]:
        warnings.append("CORS allows every origin ('*'); set cors.allowed_origins before going to production")
    return warnings


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (safe to print or log)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _on_off(enabled: bool, detail: str = "") -> str:
    return f"enabled{f' ({detail})' if detail else ''}" if enabled else "disabled"


def summarize_config(cfg: Mapping[str, Any]) -> list[str]:
    """One ``Label: value`` line per area, as ``validate-config`` prints them (no secrets)."""
    server, tls, auth = cfg["server"], cfg["server"]["tls"], cfg["admin_auth"]
    rate, queue, tracing, kafka = cfg["rate_limit"], cfg["queue"], cfg["tracing"], cfg["kafka"]
    key_count = sum(1 for key in (auth["api_key"], *auth["api_keys"]) if key.strip())
    auth_detail = f"{key_count} key(s), header {auth['header']}"
    rate_detail = f"{rate['default_rps']} rps, burst {rate['default_burst']}"
    return [
        f"Environment: {cfg['environment']}{' (production)' if is_production(cfg) else ''}",
        f"Listen: {server['host']}:{server['port']} ({server['workers']} worker process(es))",
        f"TLS: {_on_off(tls['enabled'], 'cert ' + tls['cert_path'])}",
        f"Storage: {redact_url(cfg['storage']['url'])}",
        f"Logging: level {cfg['logging']['level']}, format {cfg['logging']['format']}",
        f"Admin auth: {_on_off(auth['enabled'], auth_detail)}",
        f"CORS origins: {', '.join(cfg['cors']['allowed_origins']) or '(none)'}",
        f"Rate limiting: {_on_off(rate['enabled'], rate_detail)}",
        f"Queue: {queue['workers']} workers, buffer {queue['buffer_size']}",
        f"Metrics: {_on_off(cfg['metrics']['enabled'])}",
        f"OpenTelemetry: {_on_off(tracing['enabled'], tracing['otlp_endpoint'])}",
        f"Kafka: {_on_off(kafka['enabled'], 'brokers ' + ', '.join(kafka['brokers']))}",
        f"Trace storage: {tracing['storage']['mode']}",
        f"Plugins disabled: {', '.join(cfg['plugins']['disabled']) or '(none)'}",
    ]
