"""wrk, the load generator: install it, write its Lua script, run it, read its report."""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class WrkResult:
    """What one wrk run reports, plus the server CPU time it cost."""

    requests: int
    rps: float
    avg_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_us: float = 0.0  # server CPU time (all its processes, user + system) per request, set by the caller

    @property
    def failed(self) -> int:
        return self.non_2xx + self.socket_errors


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


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
        avg_ms=float(latency[1]) * _UNITS_MS[latency[2]],
        p99_ms=float(p99[1]) * _UNITS_MS[p99[2]],
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def lua_script(path: Path, body: Any, headers: dict[str, str]) -> Path:
    """Write a wrk script posting ``body`` as JSON with ``headers`` (set once: no Lua per request)."""
    text = json.dumps(body, separators=(",", ":"))
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{text}]==]", 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian when missing and this runs as root with apt-get."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("wrk is not installed; install it (Debian: apt-get install -y wrk) and run again")
    print("wrk is missing; installing it with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        sys.exit("apt-get installed no wrk binary on PATH; install wrk by hand and run again")
    return found


class Wrk:
    """Runs wrk with fixed threads and connections; keeps each labelled report in ``out``."""

    def __init__(self, binary: str, threads: int, connections: int, out: Path) -> None:
        self.binary = binary
        self.threads = threads
        self.connections = connections
        self.out = out

    async def run(self, url: str, script: Path, seconds: float, label: str | None = None) -> WrkResult:
        """Load ``url`` for ``seconds``; with ``label`` keep the report as ``wrk-<label>.txt``."""
        proc = await asyncio.create_subprocess_exec(
            self.binary, f"-t{self.threads}", f"-c{self.connections}", f"-d{int(seconds)}s", "--latency",
            "--timeout", "5s", "-s", str(script), url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        stdout, _ = await proc.communicate()
        text = stdout.decode()
        if proc.returncode != 0:
            raise RuntimeError(f"wrk exited with status {proc.returncode}:\n{text}")
        if label:
            (self.out / f"wrk-{label}.txt").write_text(text, encoding="utf-8")
        return parse_wrk(text)
