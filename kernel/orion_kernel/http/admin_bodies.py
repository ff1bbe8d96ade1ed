"""Request bodies and query strings of the admin tooling endpoints: new version, rollback,
dry-run, import (loaded with :func:`admin_common.load_body`; the OpenAPI document reuses them)."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema

from ..errors import ApiError, field_error
from ..fields import AnyJson
from ..validation.channel_config import StrictBoolean
from .api_schemas import StrictInteger

TRUE_FALSE = {"true": True, "false": False}


def _doc(text: str) -> dict[str, Any]:
    return {"description": text}


class NewVersionBody(Schema):
    """Optional body of ``POST .../versions``."""

    from_version = StrictInteger(allow_none=True, metadata=_doc("Version to copy into the new draft (default: the latest)"))


class RollbackBody(Schema):
    """Body of ``POST .../rollback``."""

    version = StrictInteger(required=True, metadata=_doc("The earlier version whose content goes back into service"))
    discard_draft = StrictBoolean(allow_none=True, metadata=_doc(
        "Overwrite a pending draft with the restored content (default false: a pending draft is a 409)"))


class DryRunBody(Schema):
    """Body of ``POST /workflows/{id}/test``."""

    data = AnyJson(required=True, metadata=_doc("The sample message's payload"))
    metadata = AnyJson(metadata=_doc("Object merged into the message metadata; other values are ignored"))


def dry_run_flag(request: web.Request) -> bool:
    """The ``dry_run`` query parameter: ``true`` or ``false`` (default), any case."""
    raw = request.query.get("dry_run")
    if raw is None or raw == "":
        return False
    flag = TRUE_FALSE.get(raw.lower())
    if flag is None:
        raise ApiError("VALIDATION_ERROR", f"Invalid query string: dry_run: expected true or false, got '{raw[:32]}'",
                       details=[field_error("query.dry_run", "TYPE_MISMATCH", "'dry_run' must be true or false",
                                            expected="boolean", got=raw)])
    return flag
