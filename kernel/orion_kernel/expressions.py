"""Compiled expressions: the interface an expression-engine plugin implements, and literals.

Literals (scalars) never reach the engine: they evaluate to themselves without a call across the
native boundary, which keeps the default ``condition: true`` and constant mappings free.
"""
from __future__ import annotations

from copy import deepcopy
from typing import Any, Protocol, runtime_checkable

from .errors import ExpressionError


@runtime_checkable
class Expr(Protocol):
    """A compiled JSONLogic expression, evaluated against a context object."""

    source: Any
    is_literal: bool

    def evaluate(self, context: Any) -> Any:
        """Return the result; raise :class:`ExpressionError` when evaluation fails."""


class ExpressionEngine(Protocol):
    """What an expression-engine plugin returns from ``orion_expression_engine``."""

    name: str

    def compile(self, rule: Any, *, templating: bool = True) -> Expr:
        """Compile ``rule`` (a JSON value); raise :class:`ExpressionError` when it is invalid.

        With ``templating`` off, objects whose key is not an operator are errors.
        """

    def truthy(self, value: Any) -> bool:
        """Whether ``value`` is truthy under the dialect's rules (``{}`` and ``[]`` are not)."""


class Literal:
    """An expression that is a constant."""

    __slots__ = ("source",)
    is_literal = True

    def __init__(self, value: Any) -> None:
        self.source = value

    def evaluate(self, context: Any) -> Any:
        # A container literal (``{}``) is handed out fresh: the caller may write into the
        # result, and that write must not leak into the next evaluation.
        if isinstance(self.source, (dict, list)):
            return deepcopy(self.source)
        return self.source

    def __repr__(self) -> str:
        return f"Literal({self.source!r})"


def is_scalar(rule: Any) -> bool:
    return rule is None or isinstance(rule, (bool, int, float, str))


def compile_expression(engine: ExpressionEngine, rule: Any, *, templating: bool = True) -> Expr:
    """Compile ``rule`` with ``engine``, short-circuiting scalars and the empty object to literals."""
    if is_scalar(rule):
        return Literal(rule)
    if isinstance(rule, dict) and not rule:
        return Literal({})
    return engine.compile(rule, templating=templating)


__all__ = ["Expr", "ExpressionEngine", "ExpressionError", "Literal", "compile_expression", "is_scalar"]
