"""Channel definitions (channels.md §2–§3): request bodies → normalized rows plus FieldErrors.

Field paths are ``channel.<field>``; an unknown top-level key is reported at its own name and a
bad ``channel_type``/``protocol`` as a body parse error at ``body.<field>`` (api-admin.md §1.6).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import FieldError, field_error
from ..governance import PolicyCatalog
from .channel_config import check_channel_config
from .common import (
    body_object_error,
    check_description,
    check_int32,
    check_name,
    check_object,
    check_optional_string,
    check_string_list,
    json_type,
    summarize,
    unknown_keys,
)
from .ids import check_id, shorten

CHANNEL_TYPES = ("sync", "async")
PROTOCOLS = ("rest", "http", "kafka")
HTTP_PROTOCOLS = ("rest", "http")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

UPDATABLE_FIELDS = (
    "name", "description", "methods", "route_pattern", "topic", "consumer_group", "transport_config",
    "workflow_id", "config", "priority",
)
CONTENT_FIELDS = ("channel_type", "protocol", *UPDATABLE_FIELDS)
SERVER_MANAGED = ("version", "status", "created_at", "updated_at")
BODY_KEYS = ("channel_id", *CONTENT_FIELDS, *SERVER_MANAGED)
DEFAULTS: dict[str, Any] = {"transport_config": {}, "config": {}, "priority": 0}
REQUIRED_FOR_PROTOCOL = "REQUIRED_FOR_PROTOCOL"

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FORBIDDEN = re.compile(r"[\s?#%]")


def validate_create(
    body: Any, policies: PolicyCatalog | None
) -> tuple[dict[str, Any], list[FieldError]]:
    """A create body → ``{"channel_id": <id or None>, **content}`` with the §3.3 defaults, and its errors."""
    problem = body_object_error(body, "a channel definition")
    if problem:
        return {}, [problem]
    errors = unknown_keys(body, BODY_KEYS)
    channel_id = body.get("channel_id")
    if channel_id is not None and (id_problem := check_id(channel_id, "channel.channel_id")):
        errors.append(id_problem)
        channel_id = None
    content = {key: body.get(key) for key in CONTENT_FIELDS}
    for key, default in DEFAULTS.items():
        if content[key] is None:
            content[key] = default
    content["channel_type"], enum_errors = _enum(body, "channel_type", CHANNEL_TYPES, "sync")
    errors += enum_errors
    content["protocol"], enum_errors = _enum(body, "protocol", PROTOCOLS, "http")
    errors += enum_errors
    minimal = body.get("protocol") is None and content["methods"] is None and content["route_pattern"] is None
    if minimal:  # minimal channel (§3.3): POST /<name>
        content["methods"] = ["POST"]
        if isinstance(content["name"], str) and content["name"].strip():
            content["route_pattern"] = "/" + content["name"]
    definition_errors = check_definition(content, policies)
    if minimal:
        definition_errors = _explain_derived_route(content, definition_errors)
    errors += definition_errors
    content["methods"] = _upper(content["methods"])
    return {"channel_id": channel_id, **content}, errors


def validate_update(
    body: Any, entity_id: str, draft: Mapping[str, Any], policies: PolicyCatalog | None
) -> tuple[dict[str, Any], list[FieldError]]:
    """A PUT body applied to the stored ``draft`` → the merged content, checked like a create.

    Omitted and ``null`` fields keep their stored value; ``channel_type``/``protocol`` are fixed at
    creation and ignored here.
    """
    problem = body_object_error(body, "a channel update")
    if problem:
        return {}, [problem]
    errors = unknown_keys(body, BODY_KEYS)
    if body.get("channel_id") is not None and body["channel_id"] != entity_id:
        errors.append(field_error("channel.channel_id", "INVALID", f"channel_id cannot change: the path names '{shorten(entity_id)}'", got=body["channel_id"]))
    merged = {key: draft.get(key) for key in CONTENT_FIELDS}
    merged.update({key: body[key] for key in UPDATABLE_FIELDS if body.get(key) is not None})
    errors += check_definition(merged, policies)
    merged["methods"] = _upper(merged["methods"])
    return merged, errors


def _explain_derived_route(content: Mapping[str, Any], errors: list[FieldError]) -> list[FieldError]:
    """Errors about a route_pattern the client never sent: a missing one is covered by the name
    error (it derives from the name); a bad one says where it came from."""
    kept = []
    for err in errors:
        if err.path == "channel.route_pattern":
            if err.code == REQUIRED_FOR_PROTOCOL:
                continue
            err.message = (f"route_pattern was omitted and the default derived from the name "
                           f"('{shorten(content['route_pattern'])}') is not usable: {err.message}; send route_pattern explicitly")
        kept.append(err)
    return kept


def _enum(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> tuple[str | None, list[FieldError]]:
    """The value of an enumerated field, its default when omitted, None (no further checks) when invalid."""
    value = body.get(key)
    if value is None:
        return default, []
    if value in allowed:
        return value, []
    shown = f"'{shorten(value)}'" if isinstance(value, str) else f"{json_type(value)} {shorten(repr(value))}"
    return None, [field_error(f"body.{key}", "INVALID", f"invalid {key} {shown}; expected one of: {', '.join(allowed)}",
                                 expected=list(allowed), got=value)]


def _upper(methods: Any) -> Any:
    if isinstance(methods, list) and all(isinstance(m, str) for m in methods):
        return [m.upper() for m in methods]
    return methods


def check_definition(content: Mapping[str, Any], policies: PolicyCatalog | None) -> list[FieldError]:
    """The rules of channels.md §3.1–§3.2 (recommended checks included) on the content fields."""
    errors = check_name(content.get("name"), "channel.name")
    errors += check_description(content.get("description"), "channel.description")
    errors += _check_methods(content.get("methods"))
    errors += _check_route_pattern(content.get("route_pattern"))
    errors += check_optional_string(content.get("topic"), "channel.topic")
    errors += check_optional_string(content.get("consumer_group"), "channel.consumer_group")
    errors += check_object(content.get("transport_config"), "channel.transport_config")
    workflow_id = content.get("workflow_id")
    if workflow_id is not None and (problem := check_id(workflow_id, "channel.workflow_id")):
        errors.append(problem)
    errors += check_channel_config(content.get("config"), policies)
    errors += check_int32(content.get("priority"), "channel.priority")
    errors += _missing_for_protocol(content)
    return errors


def _check_methods(methods: Any) -> list[FieldError]:
    if methods is None:
        return []
    errors = check_string_list(methods, "channel.methods")
    if errors:
        return errors
    seen: set[str] = set()
    for method in methods:
        upper = method.upper()
        if upper not in HTTP_METHODS:
            errors.append(field_error("channel.methods", "INVALID", f"unknown HTTP method '{shorten(method)}'; expected one of: {', '.join(HTTP_METHODS)}",
                                      expected=list(HTTP_METHODS), got=method))
        elif upper in seen:
            errors.append(field_error("channel.methods", "INVALID", f"HTTP method '{upper}' is listed more than once", got=method))
        seen.add(upper)
    return errors


def _check_route_pattern(pattern: Any) -> list[FieldError]:
    if pattern is None:
        return []
    if not isinstance(pattern, str):
        return check_optional_string(pattern, "channel.route_pattern")
    if not pattern.strip():
        return []  # blank: reported as missing when the protocol needs it

    def invalid(message: str) -> list[FieldError]:
        return [field_error("channel.route_pattern", "INVALID", message, expected='URL path pattern (e.g. "/orders/{id}")', got=shorten(pattern))]

    if not pattern.startswith("/"):
        return invalid("route_pattern must start with '/'")
    if _FORBIDDEN.search(pattern):
        return invalid("route_pattern must not contain whitespace, '?', '#' or '%'")
    params: set[str] = set()
    for segment in pattern[1:].split("/"):
        if not segment:
            return invalid("route_pattern must not contain an empty segment ('//' or a trailing '/')")
        if "{" not in segment and "}" not in segment:
            continue
        match = _PARAM.fullmatch(segment)
        if match is None:
            return invalid(f"route_pattern segment '{shorten(segment)}' is not a parameter: a parameter fills a whole segment "
                           "and is an identifier, e.g. '{order_id}'")
        if match.group(1) in params:
            return invalid(f"route_pattern repeats the parameter '{match.group(1)}'")
        params.add(match.group(1))
    return []


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _missing_for_protocol(content: Mapping[str, Any]) -> list[FieldError]:
    protocol = content.get("protocol")
    errors: list[FieldError] = []
    if protocol in HTTP_PROTOCOLS:
        if _blank(content.get("methods")):
            errors.append(field_error("channel.methods", REQUIRED_FOR_PROTOCOL,
                                      f'REST/HTTP channels must specify at least one HTTP method (protocol="{protocol}")',
                                      expected='non-empty array of HTTP methods (e.g. ["POST"])'))
        if _blank(content.get("route_pattern")):
            errors.append(field_error("channel.route_pattern", REQUIRED_FOR_PROTOCOL,
                                      f'REST/HTTP channels must specify a route_pattern (protocol="{protocol}")',
                                      expected='URL path pattern (e.g. "/orders/{id}")'))
    elif protocol == "kafka" and _blank(content.get("topic")):
        errors.append(field_error("channel.topic", REQUIRED_FOR_PROTOCOL,
                                  f'Kafka channels must specify a topic (protocol="{protocol}")', expected="Kafka topic name"))
    return errors


def error_message(content: Mapping[str, Any], errors: list[FieldError]) -> str:
    """``error.message`` for a failed channel validation (the §1.5 wording for missing fields)."""
    if errors and all(e.code == REQUIRED_FOR_PROTOCOL for e in errors):
        return f'Channel with protocol="{content.get("protocol")}" is missing {len(errors)} required field(s)'
    return summarize("Invalid channel", errors)
