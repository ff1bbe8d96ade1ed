"""Check documents against a JSON Schema and describe each failure by the path it occurred at.

Pure logic on top of ``jsonschema``: nothing here needs a running kernel.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable


@dataclass(frozen=True)
class Violation:
    """One way a document fails its schema: where (a context path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class UnresolvableRef(Exception):
    """The schema has a ``$ref`` that points nowhere reachable (remote URLs are never fetched)."""

    def __init__(self, ref: str) -> None:
        super().__init__(
            f"the schema's $ref {ref!r} cannot be resolved (remote references are not fetched); "
            'define the target under "$defs" and refer to it as "#/$defs/<name>"'
        )


def schema_problem(schema: dict[str, Any], root: str = "schema") -> tuple[str, str] | None:
    """Return ``(path, what is wrong)`` if ``schema`` is not a valid JSON Schema, else None.

    ``path`` starts at ``root`` and indexes arrays with ``[i]``, as config error paths do
    (``schema.properties.total.minimum``, ``schema.allOf[0].type``).
    """
    cls = _dialect(schema)
    if cls is None:
        return f"{root}.$schema", (
            f"unknown JSON Schema dialect {schema['$schema']!r}; "
            "omit \"$schema\" for draft 2020-12 or name a published draft"
        )
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        return root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path), exc.message
    return None


def compile_schema(schema: dict[str, Any]) -> Validator:
    """Build the validator for a schema ``schema_problem`` accepted; reuse it for every document."""
    # An unknown dialect is schema_problem's to report: building never fails.
    return (_dialect(schema) or Draft202012Validator)(schema)


def _dialect(schema: dict[str, Any]) -> type[Validator] | None:
    """The validator class ``$schema`` names (draft 2020-12 when absent), or None when unknown."""
    if "$schema" not in schema:
        return Draft202012Validator
    if not isinstance(schema["$schema"], str):
        return None
    return validator_for(schema, default=None)  # a default also silences jsonschema's warning


def find_violations(validator: Validator, document: Any, root: str) -> list[Violation]:
    """Every way ``document`` (read from context path ``root``) fails, in the schema's order.

    Raises UnresolvableRef when validation reaches a ``$ref`` it cannot follow.
    """
    try:
        return [Violation(context_path(root, error.absolute_path), error.message) for error in validator.iter_errors(document)]
    except Unresolvable as exc:
        raise UnresolvableRef(exc.ref) from None


def context_path(root: str, parts: Iterable[str | int]) -> str:
    """``root`` extended by ``parts`` in Orion's path syntax (``data.items.0.price``).

    Object keys that would read as an index, or start with ``#``, get the ``#`` escape.
    """
    segments = [root] if root else []
    for part in parts:
        if isinstance(part, str) and (part.isdigit() or part.startswith("#")):
            part = "#" + part
        segments.append(str(part))
    return ".".join(segments)
