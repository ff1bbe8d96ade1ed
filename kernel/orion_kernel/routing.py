"""REST route table: matches (method, path) to a channel name and its path parameters."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

REMEMBERED_PATHS = 4096  # distinct (method, path) pairs a route table keeps matches for


@dataclass(frozen=True, slots=True)
class Route:
    """One channel's route: upper-case methods (empty = any) and parsed pattern segments."""

    channel: str
    methods: frozenset[str]
    literals: tuple[str | None, ...]  # lower-cased literal, or None for a parameter
    params: tuple[str | None, ...]  # parameter name at each parameter position
    priority: int

    @property
    def literal_count(self) -> int:
        return sum(1 for lit in self.literals if lit is not None)


def split_path(path: str) -> list[str]:
    """Split on ``/`` dropping empty segments."""
    return [segment for segment in path.split("/") if segment]


def parse_pattern(channel: str, pattern: str, methods: Iterable[str] | None, priority: int) -> Route:
    """Parse ``/orders/{id}`` into a Route."""
    literals: list[str | None] = []
    params: list[str | None] = []
    for segment in split_path(pattern):
        if len(segment) > 2 and segment.startswith("{") and segment.endswith("}"):
            literals.append(None)
            params.append(segment[1:-1])
        else:
            literals.append(segment.lower())
            params.append(None)
    upper = frozenset(m.upper() for m in (methods or ()))
    return Route(channel, upper, tuple(literals), tuple(params), priority)


class RouteTable:
    """Routes tried by priority (desc), then segment count (desc), then literal count (desc)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        ordered = sorted(routes, key=lambda r: (-r.priority, -len(r.literals), -r.literal_count))
        self._by_length: dict[int, list[Route]] = {}
        for route in ordered:
            self._by_length.setdefault(len(route.literals), []).append(route)
        self.routes = tuple(ordered)
        self._remembered: dict[tuple[str, str], tuple[str, dict[str, str]] | None] = {}

    def match_path(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """:meth:`match` for a path string, remembered per ``(method, path)``: a path seen before
        costs one dict lookup. The params dict returned is the caller's own."""
        key = (method, path)
        try:
            found = self._remembered[key]
        except KeyError:
            if len(self._remembered) >= REMEMBERED_PATHS:
                self._remembered.clear()  # many distinct paths (ids in them): start over, stay bounded
            found = self._remembered[key] = self.match(method, split_path(path))
        return None if found is None else (found[0], dict(found[1]))

    def match(self, method: str, segments: list[str]) -> tuple[str, dict[str, str]] | None:
        """First route accepting ``method`` whose pattern matches the (decoded) path segments."""
        candidates = self._by_length.get(len(segments))
        if not candidates:
            return None
        method = method.upper()
        lowered = [s.lower() for s in segments]
        for route in candidates:
            if route.methods and method not in route.methods:
                continue
            for literal, actual in zip(route.literals, lowered):
                if literal is not None and literal != actual:
                    break
            else:
                params = {name: segments[i] for i, name in enumerate(route.params) if name is not None}
                return route.channel, params
        return None
