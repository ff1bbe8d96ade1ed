"""Marshmallow fields for task inputs: ``Logic`` marks a JSONLogic-valued field."""
from __future__ import annotations

from typing import Any

from marshmallow import fields


class LogicSource:
    """A JSONLogic rule as written; the kernel compiles it when the engine is built."""

    __slots__ = ("rule",)

    def __init__(self, rule: Any) -> None:
        self.rule = rule

    def __repr__(self) -> str:
        return f"LogicSource({self.rule!r})"


class Logic(fields.Field):
    """Any JSON value, compiled as JSONLogic (templating mode) before the task first runs.

    In ``run`` the value is an :class:`orion_kernel.expressions.Expr`; call
    ``params[name].evaluate(ctx.context)``.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        # ``null`` is a rule too (it evaluates to null); marshmallow would pass it through raw.
        if value is None:
            return LogicSource(None)
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> LogicSource:
        return LogicSource(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.rule if isinstance(value, LogicSource) else value


class AnyJson(fields.Field):
    """Any JSON value, passed through unchanged (``null`` allowed)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
