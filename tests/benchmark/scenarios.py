"""The benchmark scenarios: fixture files and the check of a response against its expected form.

Shared by ``run.py`` (the wrk benchmark) and ``test_scenarios.py`` (the fast CI check).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = ("simple", "complex", "multi")
DATA_PREFIX = "/api/v1/data/"

# Placeholders an expected body may hold where the real value differs on every request.
PLACEHOLDERS = {
    "<uuid>": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
    "<timestamp>": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"),
}


@dataclass(frozen=True)
class Scenario:
    """One fixture file: what to provision, what to send, what must come back."""

    name: str
    description: str
    path: str  # after /api/v1/data/
    headers: dict[str, str]
    body: dict[str, Any]
    workflows: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    expected_status: int
    expected_body: Any

    @property
    def url_path(self) -> str:
        return DATA_PREFIX + self.path


def load(name: str) -> Scenario:
    """Read ``fixtures/<name>.json``."""
    raw = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return Scenario(
        name=name,
        description=raw["description"],
        path=raw["path"],
        headers=dict(raw.get("headers", {})),
        body=raw["body"],
        workflows=raw["workflows"],
        channels=raw.get("channels", []),
        expected_status=raw["expected"]["status"],
        expected_body=raw["expected"]["body"],
    )


def load_all() -> list[Scenario]:
    return [load(name) for name in NAMES]


def mismatches(expected: Any, actual: Any, where: str = "$") -> Iterator[str]:
    """Yield one line per difference; a placeholder string matches any value of its form."""
    if isinstance(expected, str) and expected in PLACEHOLDERS:
        if not (isinstance(actual, str) and PLACEHOLDERS[expected].fullmatch(actual)):
            yield f"{where}: expected {expected}, got {actual!r}"
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected.keys() | actual.keys():
            if key not in actual:
                yield f"{where}.{key}: missing"
            elif key not in expected:
                yield f"{where}.{key}: unexpected {actual[key]!r}"
            else:
                yield from mismatches(expected[key], actual[key], f"{where}.{key}")
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (want, got) in enumerate(zip(expected, actual)):
            yield from mismatches(want, got, f"{where}[{index}]")
        return
    # bool is an int in Python: compare types too, so ``true`` never passes for ``1``
    if type(expected) is not type(actual) or expected != actual:
        yield f"{where}: expected {expected!r}, got {actual!r}"


def check_response(scenario: Scenario, status: int, body: Any) -> list[str]:
    """Every difference between a response and the scenario's expected one (empty: it matches)."""
    problems = [] if status == scenario.expected_status else [f"status: expected {scenario.expected_status}, got {status}"]
    problems.extend(mismatches(scenario.expected_body, body))
    return problems
