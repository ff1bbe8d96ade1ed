"""The baseline: a bare aiohttp + uvloop JSON echo in N processes sharing a port (SO_REUSEPORT).

``python tests/benchmark/echo_server.py [--workers 2] [--port 0]`` prints
``Echo listening on http://127.0.0.1:PORT (N worker(s))`` on stderr once every worker listens, and
stops on SIGTERM/SIGINT. Each request's body is parsed and serialized again with orjson, so the
baseline pays for what every JSON service pays for and nothing else.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import Connection

import orjson
import uvloop
from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def reuseport_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


async def serve(host: str, port: int, ready: Connection) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", echo)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, reuseport_socket(host, port), backlog=1024).start()
    ready.send("ready")
    await stop.wait()
    await runner.cleanup()


def worker(host: str, port: int, ready: Connection) -> None:
    uvloop.run(serve(host, port, ready))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    reservation = reuseport_socket(args.host, args.port)  # resolves port 0; never listens, so gets no connection
    port = reservation.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    processes, pipes = [], []
    for _ in range(args.workers):
        parent_end, child_end = context.Pipe(duplex=False)
        process = context.Process(target=worker, args=(args.host, port, child_end), daemon=True)
        process.start()
        processes.append(process)
        pipes.append(parent_end)
    for pipe in pipes:
        pipe.recv()
    print(f"Echo listening on http://{args.host}:{port} ({args.workers} worker(s))", file=sys.stderr, flush=True)

    # Blocked here (after the workers were spawned, so they keep their own handlers) and taken
    # synchronously: the parent only waits for a stop signal or for a worker to die.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    while all(p.is_alive() for p in processes):
        if signal.sigtimedwait({signal.SIGTERM, signal.SIGINT}, 0.5) is not None:
            break
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5)
    reservation.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
