"""CPU per request of the whole server path, in one process, without the network.

    python tests/benchmark/hotpath.py [--requests 5000] [--rounds 5] [--scenarios simple,complex,multi] [--traces off]

A real aiohttp connection handler (HTTP parser, middleware, route, handler, response writer) gets
each scenario's request bytes and writes its response to a transport that drops them; the trace
writer stores rows in a temporary SQLite file as in production. Reports microseconds per request
of the event-loop thread and of the whole process (the SQLite thread included). Much steadier than
wrk on a shared machine, so it is the tool for comparing two versions of the hot path.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import uvloop
from aiohttp import web

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scenarios as fixtures  # noqa: E402
from echo_server import echo  # noqa: E402

from orion_kernel.config import load_config  # noqa: E402
from orion_kernel.http.app import create_app  # noqa: E402
from orion_kernel.kernel import Kernel  # noqa: E402
from orion_kernel.testing import provision  # noqa: E402

WARMUP = 500


class NullTransport(asyncio.Transport):
    """Accepts what the server writes and wakes the driver when a response is complete."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []
        self.done: asyncio.Future[bytes] | None = None

    def _received(self, data: bytes) -> None:
        self.chunks.append(bytes(data))
        if self.done is not None and not self.done.done():
            raw = b"".join(self.chunks)
            head, sep, body = raw.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            if sep and len(body) >= length:
                self.chunks.clear()
                self.done.set_result(raw)

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self._received(data)

    def writelines(self, lines: Any) -> None:
        self._received(b"".join(lines))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


class Connection:
    """One keep-alive HTTP/1.1 connection into the app; ``request`` sends and waits for the answer."""

    def __init__(self, runner: web.AppRunner) -> None:
        assert runner.server is not None
        self.transport = NullTransport()
        self.protocol = runner.server()
        self.protocol.connection_made(self.transport)

    async def raw(self, data: bytes) -> bytes:
        self.transport.done = asyncio.get_running_loop().create_future()
        self.protocol.data_received(data)
        return await self.transport.done

    async def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        raw = await self.raw(encode_request(method, path, body, headers))
        head, _, content = raw.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), content


def encode_request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of an HTTP/1.1 request as wrk would send them."""
    content = b"" if body is None else orjson.dumps(body)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8080"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(content)}"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + content


class _Reply:
    def __init__(self, status: int, content: bytes) -> None:
        self.status = status
        self._content = content

    async def text(self) -> str:
        return self._content.decode()

    async def __aenter__(self) -> _Reply:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None


class AdminOverConnection:
    """What ``orion_kernel.testing.provision`` needs (``post``/``patch``), over a Connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @asynccontextmanager
    async def _call(self, method: str, path: str, json: Any) -> AsyncIterator[_Reply]:
        status, content = await self.connection.request(method, path, json)
        yield _Reply(status, content)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._call("POST", path, kwargs.get("json"))

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self._call("PATCH", path, kwargs.get("json"))


@dataclass
class Measure:
    """Per request: CPU µs of the loop thread and of the process (best round), and wall-clock
    latency percentiles over every round (a stall, from a trace flush or a GC pause, shows there)."""

    thread_us: float
    process_us: float
    p99_us: float
    max_us: float

    def line(self, name: str) -> str:
        return f"{name:<10} {self.thread_us:>12.1f} {self.process_us:>10.1f} {self.p99_us:>10.0f} {self.max_us:>10.0f}"


HEADER = f"{'scenario':<10} {'loop thread':>12} {'process':>10} {'p99 wall':>10} {'max wall':>10}"


async def measure(connection: Connection, data: bytes, count: int, rounds: int) -> Measure:
    """Send ``data`` ``rounds`` × ``count`` times after a warm-up. The CPU figures are the best
    round's: the minimum filters out what other processes on the machine took from this one."""
    for _ in range(WARMUP):
        await connection.raw(data)
    best_thread = best_process = float("inf")
    walls: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        thread, process = time.thread_time(), time.process_time()
        for _ in range(count):
            started = clock()
            await connection.raw(data)
            walls.append(clock() - started)
        best_thread = min(best_thread, (time.thread_time() - thread) / count * 1e6)
        best_process = min(best_process, (time.process_time() - process) / count * 1e6)
    walls.sort()
    return Measure(best_thread, best_process, walls[int(len(walls) * 0.99)] / 1000, walls[-1] / 1000)


async def check(connection: Connection, scenario: fixtures.Scenario) -> None:
    status, content = await connection.request("POST", scenario.url_path, scenario.body, scenario.headers)
    problems = fixtures.check_response(scenario, status, json.loads(content))
    if problems:
        raise SystemExit(f"{scenario.name}: unexpected response: {problems}")


async def echo_floor(scenario: fixtures.Scenario, args: argparse.Namespace) -> Measure:
    """The same measure for the bare echo app of the wrk baseline: the floor of any handler."""
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        data = encode_request("POST", scenario.url_path, scenario.body, scenario.headers)
        return await measure(Connection(runner), data, args.requests, args.rounds)
    finally:
        await runner.cleanup()


async def main_async(args: argparse.Namespace) -> None:
    loaded = [fixtures.load(name) for name in args.scenarios]
    print(f"best of {args.rounds} rounds of {args.requests} requests; µs per request")
    print(HEADER)
    print((await echo_floor(loaded[0], args)).line("echo"), flush=True)
    with tempfile.TemporaryDirectory(prefix="orion-hotpath-") as tmp:
        env = {"ORION_STORAGE__URL": f"sqlite:{Path(tmp) / 'orion.db'}", "ORION_TRACING__STORAGE__MODE": args.traces}
        kernel = Kernel(load_config(None, env=env))
        await kernel.start(watch=False)
        runner = web.AppRunner(create_app(kernel), access_log=None)
        await runner.setup()
        try:
            connection = Connection(runner)
            for scenario in loaded:
                await provision(AdminOverConnection(connection), scenario.workflows, scenario.channels)
            for scenario in loaded:
                await check(connection, scenario)
                data = encode_request("POST", scenario.url_path, scenario.body, scenario.headers)
                print((await measure(connection, data, args.requests, args.rounds)).line(scenario.name), flush=True)
        finally:
            await runner.cleanup()
            await kernel.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per round (default 5000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per scenario (default 5)")
    parser.add_argument("--scenarios", default=",".join(fixtures.NAMES))
    parser.add_argument("--traces", default="batch", choices=("batch", "off"), help="trace storage mode (default batch)")
    args = parser.parse_args()
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    uvloop.run(main_async(args))  # the server runs on uvloop too
    return 0


if __name__ == "__main__":
    sys.exit(main())
