"""The channel ``config`` object (channels.md §4): its governance blocks and its ``tracing`` block.

Each governance block belongs to the policy plugin that claims its key and is checked by binding
it (:meth:`PolicyCatalog.check`); ``tracing`` is the kernel's own. Unknown top-level keys are left
alone (channels.md §4: a block whose plugin is not installed is ignored, not an error).
"""
from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from ..errors import FieldError, field_error
from ..governance import PolicyCatalog, PolicyConfigError, load_block
from ..governance.catalog import SHAPE_MESSAGE
from .common import json_type

PATH = "channel.config"
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


class TracingBlock(Schema):
    class Meta:
        unknown = RAISE

    per_task = StrictBoolean(allow_none=True)
    task_details = StrictBoolean(allow_none=True)  # alias of per_task used by v0.2 clients
    mode = fields.String(allow_none=True, validate=validate.OneOf(TRACE_MODES))
    sample_rate = StrictNumber(allow_none=True, validate=validate.Range(min=0.0, max=1.0))
    errors_only = StrictBoolean(allow_none=True)


_TRACING = TracingBlock()


def check_channel_config(config: Any, policies: PolicyCatalog | None) -> list[FieldError]:
    """FieldErrors for a channel ``config`` value (channels.md §3.2); ``{}`` is always valid.

    Without ``policies`` only the kernel's own ``tracing`` block is checked.
    """
    if not isinstance(config, dict):
        return [field_error(PATH, "INVALID", f"{SHAPE_MESSAGE}: expected an object, got {json_type(config)}", expected="object")]
    errors: list[FieldError] = []
    if config.get("tracing") is not None:
        try:
            load_block(_TRACING, config["tracing"])
        except PolicyConfigError as exc:
            errors += [field_error(PATH, "INVALID", f"{SHAPE_MESSAGE}: tracing{'.' + sub if sub else ''}: {text}")
                       for sub, text in exc.problems]
    if policies is not None:
        errors += policies.check(config)
    return errors
