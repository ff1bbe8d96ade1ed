"""Load-test the real server with wrk and report every figure as a ratio to a bare aiohttp echo.

    python tests/benchmark/run.py [--duration 20] [--workers 2] [--connections 50]

In this order: the baseline echo (``echo_server.py``); the Orion server (``python -m orion_kernel
serve``, traces stored in batch mode on a temporary SQLite file) provisioned through the admin API
with the scenarios of ``fixtures/`` and checked against their expected responses, then loaded with
each scenario, then with the simple one while its workflow is re-activated every second; the
baseline again. Figures go to the terminal and to ``bench-results/results.md`` (and ``.json``);
each wrk report is kept beside them. Exits 1 when a request or a re-activation failed or a trace
row was lost. See docs/performance.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))  # the sibling modules below

import scenarios as fixtures  # noqa: E402
from processes import Profiler, Server, cpu_seconds, rss_mib  # noqa: E402
from report import Report, Row, describe, markdown  # noqa: E402
from wrk import Wrk, WrkResult, ensure_wrk, lua_script  # noqa: E402

from orion_kernel.testing import provision  # noqa: E402
from orion_kernel.testing_server import LISTENING, to_toml  # noqa: E402

ECHO_LISTENING = re.compile(r"Echo listening on http://(?P<host>[^:\s]+):(?P<port>\d+) ")
WORKFLOWS = "/api/v1/admin/workflows"
RELOADED = "simple"  # the scenario whose workflow is re-activated under load
WARMUP_SECS = 3


def orion_config(tmp: Path, workers: int) -> Path:
    """The server's config: defaults, a free port, a temporary database."""
    path = tmp / "orion.toml"
    path.write_text(to_toml({
        "server": {"host": "127.0.0.1", "port": 0, "workers": workers},
        "storage": {"url": f"sqlite:{tmp / 'orion.db'}"},
    }), encoding="utf-8")
    return path


async def validate(session: aiohttp.ClientSession, base: str, scenario: fixtures.Scenario) -> int:
    """Send the scenario's request on new connections (so every worker answers) until 10 answers
    in a row match the expected response; a worker still reloading gets a few retries. Returns
    how many requests succeeded (each stored a trace row); SystemExit naming the differences."""
    in_a_row, succeeded, problems = 0, 0, []
    for _ in range(50):
        async with session.post(base + scenario.url_path, json=scenario.body, headers=scenario.headers) as resp:
            body = await resp.json(content_type=None)
            succeeded += resp.status == 200
            problems = fixtures.check_response(scenario, resp.status, body)
        in_a_row = 0 if problems else in_a_row + 1
        if in_a_row == 10:
            return succeeded
        if problems:
            await asyncio.sleep(0.1)
    raise SystemExit(f"scenario {scenario.name}: the response does not match fixtures/{scenario.name}.json:\n  "
                     + "\n  ".join(problems))


async def reactivate_every_second(session: aiohttp.ClientSession, url: str, stop: asyncio.Event, report: Report) -> None:
    """A new version of the workflow at ``url``, activated, on every 1-second tick until ``stop``
    (one slower than a second is followed by the next at once)."""
    loop = asyncio.get_running_loop()
    tick = loop.time()
    while True:
        tick += 1.0
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, tick - loop.time()))
            return
        except asyncio.TimeoutError:
            pass
        async with session.post(f"{url}/versions") as created:
            ok = created.status == 201
        if ok:
            async with session.patch(f"{url}/status", json={"status": "active"}) as activated:
                ok = activated.status == 200
        report.reloads += 1
        report.reload_failures += not ok


async def measured(wrk: Wrk, url: str, script: Path, seconds: float, label: str, pids: list[int]) -> WrkResult:
    """One labelled wrk run, with the CPU time the server processes ``pids`` spent per request."""
    before = cpu_seconds(pids)
    result = await wrk.run(url, script, seconds, label)
    if result.requests:
        result.cpu_us = (cpu_seconds(pids) - before) / result.requests * 1e6
    return result


def count_traces(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0]


async def run_baseline(wrk: Wrk, args: argparse.Namespace, tmp: Path, script: Path, label: str) -> WrkResult:
    command = [sys.executable, str(HERE / "echo_server.py"), "--workers", str(args.workers)]
    server = Server(command, ECHO_LISTENING, tmp / f"{label}.log", ROOT)
    url = await asyncio.to_thread(server.start) + "/echo"
    try:
        await wrk.run(url, script, WARMUP_SECS)
        result = await measured(wrk, url, script, args.duration, label, server.workers())
    finally:
        server.stop()
    print(describe(label, result), flush=True)
    return result


class OrionRun:
    """The Orion half of the benchmark, against one server process tree."""

    def __init__(self, wrk: Wrk, args: argparse.Namespace, tmp: Path, out: Path, report: Report) -> None:
        self.wrk, self.args, self.tmp, self.out, self.report = wrk, args, tmp, out, report
        self.server = Server([sys.executable, "-m", "orion_kernel", "serve", "-c", str(orion_config(tmp, args.workers))],
                             LISTENING, tmp / "orion.log", ROOT)
        self.scenarios = {s.name: s for s in fixtures.load_all()}
        self.scripts = {name: lua_script(tmp / f"{name}.lua", s.body, s.headers) for name, s in self.scenarios.items()}
        self.base = ""
        self.workers: list[int] = []

    async def run(self) -> None:
        self.base = await asyncio.to_thread(self.server.start)
        try:
            await self.provision()
            await self.validate()
            self.workers = self.server.workers()
            self.report.rss["idle"] = rss_mib(self.workers)
            for name in fixtures.NAMES:
                if name in self.args.scenarios:
                    await self.scenario(name)
            if "reload" in self.args.scenarios:
                await self.reload_under_load()
                await self.validate()  # after all those versions, still the expected answer
            if self.args.soak:
                await self.soak(self.args.soak)
            self.report.rss["end"] = rss_mib(self.workers)
        finally:
            self.server.stop()
            shutil.copy(self.server.log, self.out / "orion-stderr.log")
        self.report.traces_stored = count_traces(self.tmp / "orion.db")

    async def provision(self) -> None:
        async with aiohttp.ClientSession(base_url=self.base) as admin:
            for scenario in self.scenarios.values():
                await provision(admin, scenario.workflows, scenario.channels)

    async def validate(self) -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            for scenario in self.scenarios.values():
                self.report.requests_sent += await validate(session, self.base, scenario)

    async def load(self, label: str, name: str, seconds: float, note: str = "") -> WrkResult:
        profiler = Profiler(self.out) if self.args.profile else None
        spy = await profiler.start(self.workers[0], seconds, label) if profiler else None
        url = self.base + self.scenarios[name].url_path
        result = await measured(self.wrk, url, self.scripts[name], seconds, label, self.workers)
        if spy is not None:
            await spy.wait()
        self.report.requests_sent += result.requests
        self.report.rows.append(Row(label, result, note))
        print(describe(label, result, note), flush=True)
        return result

    async def scenario(self, name: str) -> None:
        warm = await self.wrk.run(self.base + self.scenarios[name].url_path, self.scripts[name], WARMUP_SECS)
        self.report.requests_sent += warm.requests
        self.report.rss.setdefault("warm", rss_mib(self.workers))
        await self.load(name, name, self.args.duration)

    async def soak(self, seconds: float) -> None:
        """The complex scenario for ``seconds``, worker RSS sampled ten times along the way."""
        async def sample() -> None:
            for tenth in range(1, 10):
                await asyncio.sleep(seconds / 10)
                self.report.rss[f"soak {tenth * seconds / 10:g} s"] = rss_mib(self.workers)

        self.report.rss["soak 0 s"] = rss_mib(self.workers)
        sampler = asyncio.create_task(sample())
        try:
            await self.load("soak", "complex", seconds, f"complex, {seconds:g} s")
        finally:
            sampler.cancel()
        self.report.rss[f"soak {seconds:g} s"] = rss_mib(self.workers)

    async def reload_under_load(self) -> None:
        workflow_id = self.scenarios[RELOADED].workflows[0]["workflow_id"]
        stop = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            reloader = asyncio.create_task(
                reactivate_every_second(session, f"{self.base}{WORKFLOWS}/{workflow_id}", stop, self.report))
            try:
                result = await measured(self.wrk, self.base + self.scenarios[RELOADED].url_path, self.scripts[RELOADED],
                                        self.args.duration, "reload", self.workers)
            finally:
                stop.set()
                await reloader
        note = f"{RELOADED}, '{workflow_id}' re-activated {self.report.reloads}×, {self.report.reload_failures} failed"
        self.report.requests_sent += result.requests
        self.report.rows.append(Row("reload", result, note))
        print(describe("reload", result, note), flush=True)


async def main_async(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    wrk = Wrk(ensure_wrk(), args.threads, args.connections, out)
    report = Report(args.workers, args.threads, args.connections, args.duration, WARMUP_SECS)
    print(f"wrk -t{args.threads} -c{args.connections}, {args.duration:g} s per scenario, "
          f"{args.workers} server processes", flush=True)
    with tempfile.TemporaryDirectory(prefix="orion-bench-") as name:
        tmp = Path(name)
        echo_script = lua_script(tmp / "echo.lua", fixtures.load("simple").body, {})
        report.baseline.append(await run_baseline(wrk, args, tmp, echo_script, "baseline-before"))
        await OrionRun(wrk, args, tmp, out, report).run()
        report.baseline.append(await run_baseline(wrk, args, tmp, echo_script, "baseline-after"))
    text = markdown(report)
    (out / "results.md").write_text(text, encoding="utf-8")
    (out / "results.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    print("\n" + text)
    return 1 if report.failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Orion wrk benchmark (see docs/performance.md)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per scenario (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="server processes, Orion's and the baseline's (default 2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the cores are for the servers)")
    parser.add_argument("--scenarios", default="simple,complex,multi,reload",
                        help="comma-separated subset of simple,complex,multi,reload (default all)")
    parser.add_argument("--soak", type=float, default=0, metavar="SECONDS",
                        help="then load the complex scenario this long and report worker RSS before and after")
    parser.add_argument("--profile", action="store_true",
                        help="record one worker with py-spy during each load (bench-results/profile-<name>.txt)")
    parser.add_argument("--out", default=str(ROOT / "bench-results"), help="results folder (default bench-results/)")
    args = parser.parse_args()
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - {*fixtures.NAMES, "reload"}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
