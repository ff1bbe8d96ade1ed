"""``datalogic``: JSONLogic through datalogic-py, the engine the original Orion uses."""
from __future__ import annotations

from typing import Any

import datalogic_py
import orjson

from orion_kernel import ExpressionError, hookimpl

ORION_ESSENTIAL = True


class DatalogicExpr:
    """A rule compiled once by datalogic-py; thread-safe, evaluated per message.

    datalogic-py converts the whole context it is handed on every evaluation, so a rule gets only
    the context roots (``data``, ``metadata``, ...) it reads, as the engine reports them at
    compile time: a condition on ``data`` never pays for converting the request headers.
    """

    __slots__ = ("source", "_rule", "_roots")
    is_literal = False

    def __init__(self, source: Any, rule: datalogic_py.Rule) -> None:
        self.source = source
        self._rule = rule
        self._roots = _roots_read(rule)

    def evaluate(self, context: Any) -> Any:
        roots = self._roots
        if roots is not None and type(context) is dict:
            context = {root: context[root] for root in roots if root in context}
        try:
            return self._rule.evaluate(context)
        except datalogic_py.DataLogicError as exc:
            raise ExpressionError(str(exc)) from exc

    def __repr__(self) -> str:
        return f"DatalogicExpr({self.source!r})"


def _roots_read(rule: datalogic_py.Rule) -> tuple[str, ...] | None:
    """The top-level keys ``rule`` reads, or None when it may read anything (a computed path, or
    the whole context through ``{"var": ""}``)."""
    facts = rule.facts()
    if not facts["reads_complete"] or facts["computed_reads"]:
        return None
    roots: list[str] = []
    for path in facts["reads"]:
        if not path:
            return None
        if path[0] not in roots:
            roots.append(path[0])
    return tuple(roots)


def _describe(exc: datalogic_py.DataLogicError) -> str:
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        errors = [d for d in diagnostics if d.get("severity") == "error"] or diagnostics
        parts = []
        for d in errors:
            where = f" at {d['pointer']}" if d.get("pointer") else ""
            parts.append(f"{d['message']}{where}")
        return "; ".join(parts)
    return str(exc)


class DatalogicEngine:
    """Compiles JSONLogic in templating mode (workflow expressions) or strict mode (conditions check)."""

    name = "datalogic"

    def __init__(self) -> None:
        self._templating = datalogic_py.Engine(templating=True)
        self._strict = datalogic_py.Engine(templating=False)

    def compile(self, rule: Any, *, templating: bool = True) -> DatalogicExpr:
        engine = self._templating if templating else self._strict
        # A bare Python str is read as JSON text by datalogic-py; hand it JSON so it stays a string.
        text = orjson.dumps(rule).decode() if isinstance(rule, str) else rule
        try:
            compiled = engine.compile_checked(text)
        except datalogic_py.DataLogicError as exc:
            raise ExpressionError(_describe(exc)) from exc
        except (TypeError, ValueError) as exc:
            raise ExpressionError(str(exc)) from exc
        return DatalogicExpr(rule, compiled)

    def truthy(self, value: Any) -> bool:
        if isinstance(value, str):
            return value != ""
        try:
            return self._templating.truthy(value)
        except datalogic_py.DataLogicError:
            return bool(value)


@hookimpl
def orion_expression_engine() -> DatalogicEngine:
    return DatalogicEngine()
