"""The benchmark's figures: one terminal line per run, and the Markdown table of the whole run."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wrk import WrkResult


@dataclass
class Row:
    name: str
    result: WrkResult
    note: str = ""


@dataclass
class Report:
    """Everything one ``run.py`` measured."""

    workers: int
    threads: int
    connections: int
    seconds: float
    warmup: float
    rows: list[Row] = field(default_factory=list)
    baseline: list[WrkResult] = field(default_factory=list)
    rss: dict[str, list[float]] = field(default_factory=dict)  # stage → MiB per worker
    reloads: int = 0
    reload_failures: int = 0
    requests_sent: int = 0  # to Orion, each of which stores one trace row
    traces_stored: int = 0

    @property
    def baseline_rps(self) -> float:
        return sum(r.rps for r in self.baseline) / len(self.baseline)

    @property
    def failures(self) -> list[str]:
        """What went wrong: scenarios with failed requests, failed re-activations, lost traces."""
        out = [f"{row.name}: {row.result.failed} failed requests" for row in self.rows if row.result.failed]
        if self.reload_failures:
            out.append(f"reload: {self.reload_failures} of {self.reloads} re-activations failed")
        if self.traces_stored < self.requests_sent:  # more is fine: wrk does not count requests cut at its end
            out.append(f"traces: {self.traces_stored} stored for {self.requests_sent} requests")
        return out


def describe(name: str, result: WrkResult, note: str = "") -> str:
    """One progress line for the terminal."""
    return (f"  {name:<16} {result.rps:>8.0f} req/s  avg {result.avg_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
            f"{result.cpu_us:5.0f} µs CPU/req  failed {result.failed}" + (f"  ({note})" if note else ""))


def markdown(report: Report) -> str:
    """``results.md``: the setting, the baseline, the table with ratios, memory and traces."""
    base = report.baseline_rps
    lines = [
        "# Orion benchmark results",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs; {report.workers} server processes; "
        f"wrk -t{report.threads} -c{report.connections}, {report.seconds:g} s per scenario after a "
        f"{report.warmup:g} s warm-up; traces stored (batch mode, SQLite).",
        "",
        "Baseline, a bare aiohttp + uvloop JSON echo in as many processes, before and after Orion: "
        + " and ".join(f"{r.rps:,.0f} req/s ({r.cpu_us:.0f} µs CPU/req)" for r in report.baseline)
        + f"; ratios are to their mean, {base:,.0f} req/s.",
        "",
        "| Scenario | req/s | × baseline | avg ms | p99 ms | server CPU µs/req | failed | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        r = row.result
        lines.append(f"| {row.name} | {r.rps:,.0f} | {r.rps / base:.3f} | {r.avg_ms:.2f} | {r.p99_ms:.2f} | "
                     f"{r.cpu_us:.0f} | {r.failed} | {row.note} |")
    stages = "; ".join(f"{stage}: {', '.join(f'{v:g}' for v in values)}" for stage, values in report.rss.items())
    lines += [
        "",
        f"Worker RSS in MiB, one figure per worker — {stages}.",
        "",
        f"Trace rows stored: {report.traces_stored:,} for {report.requests_sent:,} requests sent to Orion.",
        "",
    ]
    if report.failures:
        lines += ["**Failures:** " + "; ".join(report.failures) + ".", ""]
    return "\n".join(lines)
