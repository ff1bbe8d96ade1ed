"""Load-test the real server with wrk and report every figure as a ratio to a bare aiohttp echo.

    python tests/benchmark/run.py [--duration 20] [--workers 2] [--connections 50]

Runs, in this order: the baseline echo; the Orion server (``python -m orion_kernel serve``, traces
stored in batch mode on a temporary SQLite file) under the simple, complex and multi scenarios
and under reload (a workflow re-activated every second while the simple scenario runs); the
baseline again. Figures go to the terminal and to ``bench-results/results.md`` (and ``.json``);
each wrk report is kept beside them. See docs/performance.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import scenarios as fixtures  # noqa: E402  (the sibling module, found through the line above)

from orion_kernel.testing import provision  # noqa: E402
from orion_kernel.testing_server import LISTENING, to_toml  # noqa: E402

ECHO_LISTENING = re.compile(r"Echo listening on http://(?P<host>[^:\s]+):(?P<port>\d+) ")
ADMIN = "/api/v1/admin"
RELOADED_WORKFLOW = "bench-simple"
WARMUP_SECS = 3
START_TIMEOUT_SECS = 60


# --- wrk -------------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    """What one wrk run reports."""

    requests: int
    rps: float
    avg_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_us: float = 0.0  # server CPU time (all workers, user + system) per request


    @property
    def failed(self) -> int:
        return self.non_2xx + self.socket_errors


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(text: str) -> WrkResult:
    """Read wrk's report (run with ``--latency``); raise ValueError when a figure is missing."""
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, text)
        if match is None:
            raise ValueError(f"wrk output has no match for {pattern!r}:\n{text}")
        return match

    latency = find(r"Latency\s+([\d.]+)(us|ms|s|m)\b")
    p99 = find(r"\n\s+99%\s+([\d.]+)(us|ms|s|m)\b")
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return WrkResult(
        requests=int(find(r"(\d+) requests in")[1]),
        rps=float(find(r"Requests/sec:\s+([\d.]+)")[1]),
        avg_ms=_ms(latency[1], latency[2]),
        p99_ms=_ms(p99[1], p99[2]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def lua_script(path: Path, body: Any, headers: dict[str, str]) -> Path:
    """A wrk script posting ``body`` as JSON with ``headers`` (set once; no per-request Lua)."""
    text = json.dumps(body, separators=(",", ":"))
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{text}]==]", 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian when missing (the benchmark runs as root there)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("wrk is not installed; install it (Debian: apt-get install -y wrk) and run again")
    print("wrk is missing; installing it with apt-get", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("wrk")
    if not found:
        sys.exit("apt-get installed no wrk binary on PATH; install wrk by hand and run again")
    return found


class Wrk:
    def __init__(self, binary: str, args: argparse.Namespace, out: Path) -> None:
        self.binary = binary
        self.connections = args.connections
        self.threads = args.threads
        self.out = out

    def command(self, url: str, script: Path, duration: float) -> list[str]:
        return [self.binary, f"-t{self.threads}", f"-c{self.connections}", f"-d{int(duration)}s", "--latency",
                "--timeout", "5s", "-s", str(script), url]

    async def run(self, url: str, script: Path, duration: float, label: str | None = None,
                  pids: list[int] = ()) -> WrkResult:  # type: ignore[assignment]
        """Run wrk; with ``label`` keep its report as ``<out>/wrk-<label>.txt``; with ``pids``
        measure their CPU time per request."""
        cpu_before = cpu_seconds(list(pids))
        proc = await asyncio.create_subprocess_exec(*self.command(url, script, duration),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        stdout, _ = await proc.communicate()
        text = stdout.decode()
        if proc.returncode != 0:
            raise RuntimeError(f"wrk exited with status {proc.returncode}:\n{text}")
        if label:
            (self.out / f"wrk-{label}.txt").write_text(text, encoding="utf-8")
        result = parse_wrk(text)
        if pids and result.requests:
            result.cpu_us = (cpu_seconds(list(pids)) - cpu_before) / result.requests * 1e6
        return result


# --- processes -------------------------------------------------------------------------------------


class Server:
    """A server subprocess whose stderr announces ``host:port``; its stderr is kept in a file."""

    def __init__(self, command: list[str], pattern: re.Pattern[str], log: Path) -> None:
        self.command = command
        self.pattern = pattern
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=self.log.open("wb"), cwd=ROOT)
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            match = self.pattern.search(self.log.read_text(errors="replace"))
            if match:
                self.url = f"http://{match['host']}:{match['port']}"
                return self.url
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.command[1:3]} did not announce its port; its stderr:\n{self.log.read_text()}")

    def workers(self) -> list[int]:
        """Pids of the spawned worker processes (children running ``spawn_main``)."""
        assert self.proc is not None
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid and b"spawn_main" in cmdline:
                pids.append(int(entry.name))
        return sorted(pids)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far (their threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def rss_mib(pids: list[int]) -> list[float]:
    """Resident memory of each pid in MiB (0 for a pid that is gone)."""
    out = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            out.append(0.0)
            continue
        kib = int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])  # type: ignore[index]
        out.append(round(kib / 1024, 1))
    return out


class Profiler:
    """py-spy sampling one worker while a scenario runs (``--profile``)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(self.binary).exists():
            sys.exit("--profile needs py-spy: pip install py-spy")

    async def start(self, pid: int, duration: float, label: str) -> asyncio.subprocess.Process:
        target = self.out / f"profile-{label}.txt"
        return await asyncio.create_subprocess_exec(
            self.binary, "record", "--pid", str(pid), "--duration", str(int(duration)), "--rate", "250",
            "--format", "raw", "--nonblocking", "--output", str(target),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


def describe(name: str, result: WrkResult, note: str = "") -> str:
    """One progress line for the terminal."""
    return (f"  {name:<16} {result.rps:>8.0f} req/s  avg {result.avg_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
            f"{result.cpu_us:5.0f} us CPU/req  failed {result.failed}" + (f"  ({note})" if note else ""))


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    result: WrkResult
    note: str = ""


@dataclass
class Report:
    workers: int
    connections: int
    threads: int
    duration: float
    rows: list[Row] = field(default_factory=list)
    baseline: list[WrkResult] = field(default_factory=list)
    rss: dict[str, list[float]] = field(default_factory=dict)
    reloads: int = 0
    reload_failures: int = 0
    traces_stored: int = 0
    requests_sent: int = 0

    @property
    def baseline_rps(self) -> float:
        return sum(r.rps for r in self.baseline) / len(self.baseline)


def orion_config(tmp: Path, workers: int) -> Path:
    path = tmp / "orion.toml"
    path.write_text(to_toml({
        "server": {"host": "127.0.0.1", "port": 0, "workers": workers},
        "storage": {"url": f"sqlite:{tmp / 'orion.db'}"},
    }), encoding="utf-8")
    return path


async def validate(session: aiohttp.ClientSession, base: str, scenario: fixtures.Scenario, attempts: int = 50) -> None:
    """Send the scenario's request on fresh connections (so every worker answers) until 10 in a
    row match the expected response; a worker that has not reloaded yet gets a few retries."""
    in_a_row, problems = 0, []
    for _ in range(attempts):
        async with session.post(base + scenario.url_path, json=scenario.body, headers=scenario.headers) as resp:
            body = await resp.json(content_type=None)
            problems = fixtures.check_response(scenario, resp.status, body)
        in_a_row = 0 if problems else in_a_row + 1
        if in_a_row == 10:
            return
        if problems:
            await asyncio.sleep(0.1)
    raise SystemExit(f"scenario {scenario.name}: the response does not match {scenario.name}.json:\n  " + "\n  ".join(problems))


async def reload_every_second(session: aiohttp.ClientSession, base: str, stop: asyncio.Event, report: Report) -> None:
    """New version + activation of the reloaded workflow on every 1-second tick until ``stop``
    (a re-activation slower than a second starts the next one at once)."""
    workflow = f"{base}{ADMIN}/workflows/{RELOADED_WORKFLOW}"
    loop = asyncio.get_running_loop()
    tick = loop.time()
    while True:
        tick += 1.0
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, tick - loop.time()))
            return
        except asyncio.TimeoutError:
            pass
        async with session.post(f"{workflow}/versions") as created:
            ok = created.status == 201
        if ok:
            async with session.patch(f"{workflow}/status", json={"status": "active"}) as activated:
                ok = activated.status == 200
        report.reloads += 1
        report.reload_failures += 0 if ok else 1


def count_traces(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0]


async def run_baseline(wrk: Wrk, args: argparse.Namespace, tmp: Path, script: Path, label: str) -> WrkResult:
    server = Server([sys.executable, str(HERE / "echo_server.py"), "--workers", str(args.workers)],
                    ECHO_LISTENING, tmp / f"{label}.log")
    url = server.start() + "/echo"
    try:
        await wrk.run(url, script, WARMUP_SECS)
        result = await wrk.run(url, script, args.duration, label, server.workers())
    finally:
        server.stop()
    print(describe(label, result), flush=True)
    return result


async def run_orion(wrk: Wrk, args: argparse.Namespace, tmp: Path, report: Report, out: Path) -> None:
    config = orion_config(tmp, args.workers)
    server = Server([sys.executable, "-m", "orion_kernel", "serve", "-c", str(config)], LISTENING, tmp / "orion.log")
    base = server.start()
    profiler = Profiler(out) if args.profile else None
    try:
        loaded = fixtures.load_all()
        async with aiohttp.ClientSession(base_url=base) as admin:
            for scenario in loaded:
                await provision(admin, scenario.workflows, scenario.channels)
        connector = aiohttp.TCPConnector(force_close=True)  # a new connection per request reaches every worker
        async with aiohttp.ClientSession(connector=connector) as session:
            for scenario in loaded:
                await validate(session, base, scenario)
        workers = server.workers()
        report.rss["idle"] = rss_mib(workers)
        scripts = {s.name: lua_script(tmp / f"{s.name}.lua", s.body, s.headers) for s in loaded}
        for scenario in loaded:
            if scenario.name not in args.scenarios:
                continue
            url = base + scenario.url_path
            report.requests_sent += (await wrk.run(url, scripts[scenario.name], WARMUP_SECS)).requests
            if "warm" not in report.rss:
                report.rss["warm"] = rss_mib(workers)
            spy = await profiler.start(workers[0], args.duration, scenario.name) if profiler else None
            result = await wrk.run(url, scripts[scenario.name], args.duration, scenario.name, workers)
            if spy is not None:
                await spy.wait()
            report.requests_sent += result.requests
            report.rows.append(Row(scenario.name, result))
            print(describe(scenario.name, result), flush=True)
        if "reload" in args.scenarios:
            simple = next(s for s in loaded if s.name == "simple")
            stop = asyncio.Event()
            async with aiohttp.ClientSession() as session:
                reloader = asyncio.create_task(reload_every_second(session, base, stop, report))
                result = await wrk.run(base + simple.url_path, scripts["simple"], args.duration, "reload", workers)
                stop.set()
                await reloader
            report.requests_sent += result.requests
            report.rows.append(Row("reload", result, f"{report.reloads} re-activations, {report.reload_failures} failed"))
            print(describe("reload", result, report.rows[-1].note), flush=True)
        if args.soak:
            complex_ = next(s for s in loaded if s.name == "complex")
            report.rss["soak start"] = rss_mib(workers)
            result = await wrk.run(base + complex_.url_path, scripts["complex"], args.soak, "soak", workers)
            report.requests_sent += result.requests
            report.rows.append(Row("soak (complex)", result, f"{int(args.soak)} s"))
            print(describe("soak (complex)", result), flush=True)
        report.rss["end"] = rss_mib(workers)
    finally:
        server.stop()
        shutil.copy(server.log, out / "orion-stderr.log")
    report.traces_stored = count_traces(tmp / "orion.db")


def markdown(report: Report) -> str:
    base = report.baseline_rps
    lines = [
        "# Orion benchmark results",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}; {report.workers} server process(es), wrk -t{report.threads} "
        f"-c{report.connections}, {report.duration:g} s per scenario after a {WARMUP_SECS} s warm-up; "
        f"{os.cpu_count()} CPU(s).",
        "",
        "Baseline (bare aiohttp + uvloop JSON echo, same process count), before and after: "
        + ", ".join(f"{r.rps:,.0f} req/s ({r.cpu_us:.0f} µs CPU/req)" for r in report.baseline)
        + f"; ratios use the mean, {base:,.0f} req/s.",
        "",
        "| Scenario | req/s | × baseline | avg ms | p99 ms | CPU µs/req | failed | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        r = row.result
        lines.append(f"| {row.name} | {r.rps:,.0f} | {r.rps / base:.3f} | {r.avg_ms:.2f} | {r.p99_ms:.2f} | "
                     f"{r.cpu_us:.0f} | {r.failed} | {row.note} |")
    lines += ["", "Worker RSS (MiB, one figure per worker): "
              + "; ".join(f"{stage} {', '.join(f'{v:g}' for v in values)}" for stage, values in report.rss.items()) + ".",
              "", f"Trace rows stored: {report.traces_stored:,} of {report.requests_sent:,} requests sent to Orion.", ""]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    wrk = Wrk(ensure_wrk(), args, out)
    report = Report(args.workers, args.connections, args.threads, args.duration)
    with tempfile.TemporaryDirectory(prefix="orion-bench-") as name:
        tmp = Path(name)
        echo_script = lua_script(tmp / "echo.lua", fixtures.load("simple").body, {})
        print(f"wrk -t{args.threads} -c{args.connections}, {args.duration:g} s per scenario, {args.workers} server processes", flush=True)
        report.baseline.append(await run_baseline(wrk, args, tmp, echo_script, "baseline-before"))
        await run_orion(wrk, args, tmp, report, out)
        report.baseline.append(await run_baseline(wrk, args, tmp, echo_script, "baseline-after"))
    text = markdown(report)
    (out / "results.md").write_text(text, encoding="utf-8")
    (out / "results.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    print("\n" + text)
    failed = [row.name for row in report.rows if row.result.failed] + (["reload (admin)"] if report.reload_failures else [])
    if failed:
        print(f"FAILED requests in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Orion wrk benchmark (see docs/performance.md)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per scenario (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="server processes, Orion and baseline (default 2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: leaves the cores to the servers)")
    parser.add_argument("--scenarios", default="simple,complex,multi,reload",
                        help="comma-separated subset of simple,complex,multi,reload")
    parser.add_argument("--soak", type=float, default=0, help="then load the complex scenario this many seconds more "
                        "and report worker RSS before and after (memory check: --soak 300)")
    parser.add_argument("--profile", action="store_true", help="record each scenario of one worker with py-spy "
                        "(bench-results/profile-<scenario>.txt, collapsed stacks)")
    parser.add_argument("--out", default=str(ROOT / "bench-results"), help="results folder (default bench-results/)")
    args = parser.parse_args()
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - {*fixtures.NAMES, "reload"}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
