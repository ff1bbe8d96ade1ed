"""Per-request profiling (api-data.md §5.3): handler samples taken while a request runs, and the
``_orion.profile`` object (version 1) rendered from them.

A profiled request starts a :class:`RequestProfile`, which becomes the current sample sink of its
task (a context variable). Server-provided handlers (``channel_call`` now, connector-backed
functions later) time themselves with :class:`HandlerSample`; outside a profiled request that is
one context-variable read. Samples taken inside a ``channel_call`` are nested under that call with
their ``depth``.
"""
from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

import orjson

PROFILE_VERSION = 1
PROFILE_HEADER = "X-Orion-Profile"
PROFILE_QUERY = "profile"
TRUTHY = frozenset({"1", "true", "yes"})


class _Sink:
    """Where samples taken at one nesting depth go."""

    __slots__ = ("samples", "depth")

    def __init__(self, samples: list[dict[str, Any]], depth: int) -> None:
        self.samples = samples
        self.depth = depth


_SINK: ContextVar[_Sink | None] = ContextVar("orion_profile_sink", default=None)


def requested(header: str | None, query: str | None) -> bool:
    """Whether ``X-Orion-Profile`` or ``?profile`` asks for a profile (``1``, ``true``, ``yes``)."""
    return (header is not None and header.strip().lower() in TRUTHY) or (
        query is not None and query.strip().lower() in TRUTHY)


class RequestProfile(_Sink):
    """The profile of one request: its start, its depth-0 handler samples, the measured phases."""

    __slots__ = ("started", "trace_store_ms")

    def __init__(self) -> None:
        super().__init__([], 0)
        self.started = time.perf_counter()
        self.trace_store_ms: float | None = None

    def render(self, workflow_total_ms: float) -> dict[str, Any]:
        """The ``_orion.profile`` object; ``request_total_ms`` runs from the start to now."""
        total = (time.perf_counter() - self.started) * 1000.0
        handlers = [_handler_entry(sample, workflow_total_ms) for sample in self.samples]
        handlers_total = sum(sample["duration_ms"] for sample in self.samples)
        overhead = max(0.0, workflow_total_ms - handlers_total)
        measured = [("handlers", "external_io", handlers_total), ("workflow_overhead", "workflow_overhead", overhead)]
        if self.trace_store_ms is not None:
            measured.append(("trace_store", "trace_store", self.trace_store_ms))
        by_function: dict[str, dict[str, Any]] = {}
        by_connector: dict[str, dict[str, Any]] = {}
        for sample in self.samples:
            _count(by_function, sample["function"], sample["duration_ms"])
            if "connector" in sample:
                _count(by_connector, sample["connector"], sample["duration_ms"])
        return {
            "version": PROFILE_VERSION,
            "totals_ms": _ms(total),
            "phases": [{"name": name, "ms": _ms(ms), "pct": _pct(ms, total)} for name, _, ms in measured],
            "request_total_ms": _ms(total),
            "handlers_total_ms": _ms(handlers_total),
            "handlers": handlers,
            "by_function": {name: {"count": c["count"], "total_ms": _ms(c["total_ms"])} for name, c in by_function.items()},
            "by_connector": {name: {"count": c["count"], "total_ms": _ms(c["total_ms"])} for name, c in by_connector.items()},
            "breakdown_pct": {key: _pct(ms, total) for _, key, ms in measured} if _ms(total) > 0 else {},
            "workflow_total_ms": _ms(workflow_total_ms),
            "workflow_overhead_ms": _ms(overhead),
            "engine_lock_wait_ms": 0.0,  # snapshots are swapped, never locked: nothing to wait for
            "trace_store_ms": _ms(self.trace_store_ms or 0.0),
        }

    def attach(self, body: bytes, workflow_total_ms: float) -> bytes:
        """``body`` (a serialized envelope object) with ``"_orion": {"profile": ...}`` appended."""
        return body[:-1] + b',"_orion":' + orjson.dumps({"profile": self.render(workflow_total_ms)}) + b"}"


def begin() -> RequestProfile:
    """Start profiling the current request: handler samples of this task go to the new profile."""
    profile = RequestProfile()
    _SINK.set(profile)
    return profile


def current() -> RequestProfile | None:
    """The profile of the current request, when it is profiled and not inside a nested call."""
    sink = _SINK.get()
    return sink if isinstance(sink, RequestProfile) else None


class HandlerSample:
    """Times one server-provided handler invocation into the current profile (no-op when none):
    ``with HandlerSample("db_read", "orders-db"): ...``."""

    __slots__ = ("function", "connector", "sample", "token", "started")

    def __init__(self, function: str, connector: str | None = None) -> None:
        self.function = function
        self.connector = connector
        self.sample: dict[str, Any] | None = None

    def __enter__(self) -> None:
        sink = _SINK.get()
        if sink is None:
            return
        sample: dict[str, Any] = {"function": self.function}
        if self.connector:
            sample["connector"] = self.connector
        if sink.depth:
            sample["depth"] = sink.depth
        sink.samples.append(sample)  # in start order; the duration is filled in on exit
        # samples of any depth inside a top-level handler are listed flat in its ``nested``
        nested = _Sink(sample.setdefault("nested", []), 1) if sink.depth == 0 else _Sink(sink.samples, sink.depth + 1)
        self.sample = sample
        self.token = _SINK.set(nested)
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        sample = self.sample
        if sample is None:
            return
        sample["duration_ms"] = (time.perf_counter() - self.started) * 1000.0
        _SINK.reset(self.token)
        if "nested" in sample and not sample["nested"]:
            del sample["nested"]


def _handler_entry(sample: dict[str, Any], workflow_total_ms: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"function": sample["function"]}
    if "connector" in sample:
        entry["connector"] = sample["connector"]
    entry["duration_ms"] = _ms(sample["duration_ms"])
    entry["pct_of_workflow"] = _pct(sample["duration_ms"], workflow_total_ms)
    if "nested" in sample:
        entry["nested"] = [{**nested, "duration_ms": _ms(nested.get("duration_ms", 0.0))} for nested in sample["nested"]]
    return entry


def _count(table: dict[str, dict[str, Any]], name: str, ms: float) -> None:
    entry = table.setdefault(name, {"count": 0, "total_ms": 0.0})
    entry["count"] += 1
    entry["total_ms"] += ms


def _ms(value: float) -> float:
    """Milliseconds rounded to 2 decimals, never negative, never -0.0."""
    return max(0.0, round(value, 2)) + 0.0


def _pct(part: float, basis: float) -> float:
    return _ms(part / basis * 100.0) if basis > 0 else 0.0
