"""Run the HTTP server until SIGTERM/SIGINT: one worker in this process, or N worker processes.

With ``server.workers`` > 1 the parent only supervises. It binds the port first with
``SO_REUSEPORT`` but never listens on it: that resolves port 0, fails early when the port is taken,
and keeps the port reserved while workers come and go. Linux only routes connections to
*listening* sockets of a reuseport group, so the parent's socket never receives one (checked on
Linux 6.x: with only the parent's socket bound, connects are refused; with two listening workers
every connection reaches a worker). Each spawned worker binds its own ``SO_REUSEPORT`` socket on
that port, listens, and runs a complete Kernel; the kernel spreads connections over the workers.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import Coroutine
from multiprocessing.connection import Connection, wait
from typing import Any

from aiohttp import web

from .config import redact_url
from .errors import PluginError
from .kernel import Kernel
from .logging_setup import configure_logging
from .plugins import PluginSet, load_plugins
from .storage import StorageError

logger = logging.getLogger("orion.server")

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
BACKLOG = 1024
# Time a worker gets after the drain to flush traces and close storage before the parent kills it.
STOP_GRACE_SECS = 15
CLEAN_EXIT_CODES = (0, -signal.SIGTERM)  # -SIGTERM: stopped before its signal handlers were installed


class StartupError(Exception):
    """Start-up cannot continue; the message is printed as ``Error: <message>``."""


# --- entry point ---------------------------------------------------------------------------------


def serve(cfg: dict[str, Any], plugins: PluginSet | None = None) -> int:
    """Serve HTTP until SIGTERM/SIGINT; return 0 after a clean shutdown, 1 on failure.

    ``plugins`` is used by a single in-process worker; spawned workers rebuild the same set from
    ``cfg`` (``plugins.modules`` / ``plugins.disabled``) and the inherited environment.
    """
    configure_logging(cfg["logging"]["level"], cfg["logging"]["format"], access_log=cfg["logging"]["access_log"])
    workers = cfg["server"]["workers"]
    url = cfg["storage"]["url"]
    if workers > 1 and _is_memory_url(url):
        logger.warning("storage.url %s is an in-memory database private to one process; "
                       "serving with 1 worker instead of %d (use a file or server database for more)", url, workers)
        workers = 1
    try:
        plugins = plugins or load_plugins(disabled=cfg["plugins"]["disabled"], modules=cfg["plugins"]["modules"])
        ssl_context = tls_context(cfg)
    except Exception as exc:
        return _fail(describe_startup_failure(exc))
    if workers == 1:
        return _run_loop(_serve_in_process(cfg, plugins, ssl_context))
    try:
        if not hasattr(socket, "SO_REUSEPORT"):
            raise StartupError("server.workers > 1 needs SO_REUSEPORT, which this platform lacks; set server.workers = 1")
        asyncio.run(migrate_storage(cfg, plugins))
        reservation = reserve_port(cfg["server"]["host"], cfg["server"]["port"])
    except Exception as exc:
        return _fail(describe_startup_failure(exc))
    try:
        return Supervisor(cfg, workers, reservation, tls=ssl_context is not None).run()
    finally:
        reservation.close()


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run ``main`` on uvloop when it is installed, else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _fail(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr, flush=True)
    return 1


def _is_memory_url(url: str) -> bool:
    return ":memory:" in url or "mode=memory" in url


def announce(host: str, port: int, workers: int, *, tls: bool) -> None:
    """The one start-up line on stderr; tests and scripts parse the port from it."""
    shown = f"[{host}]" if ":" in host else host
    print(f"Orion listening on {'https' if tls else 'http'}://{shown}:{port} ({workers} worker(s))",
          file=sys.stderr, flush=True)


def announce_shutdown() -> None:
    print("Orion shut down cleanly", file=sys.stderr, flush=True)


# --- start-up pieces -----------------------------------------------------------------------------


def describe_startup_failure(exc: BaseException) -> str:
    """The ``Error:`` text for a start-up failure: our own messages as they are, others typed."""
    if isinstance(exc, (StartupError, PluginError)):
        return str(exc)
    return f"start-up failed: {type(exc).__name__}: {exc}"


def storage_failure(url: str, exc: BaseException) -> StartupError:
    if isinstance(exc, StorageError):  # the backend's message already names the database and the fix
        return StartupError(str(exc))
    return StartupError(
        f"cannot open storage {redact_url(url)}: {type(exc).__name__}: {exc}; "
        "check storage.url and that the database is reachable and writable"
    )


async def migrate_storage(cfg: dict[str, Any], plugins: PluginSet) -> None:
    """Open the configured storage once, apply pending migrations, close it (before any worker starts)."""
    url = cfg["storage"]["url"]
    backend = plugins.storage_backend(url, cfg["storage"])
    try:
        await backend.open()
        try:
            applied = await backend.migrate()
        finally:
            await backend.close()
    except Exception as exc:
        raise storage_failure(url, exc) from exc
    if applied:
        logger.info("applied %d migration(s)", len(applied))


def tls_context(cfg: dict[str, Any]) -> ssl.SSLContext | None:
    """The server TLS context when ``server.tls.enabled``, else None."""
    tls = cfg["server"]["tls"]
    if not tls["enabled"]:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(tls["cert_path"], tls["key_path"])
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(
            f"Failed to initialize TLS from cert='{tls['cert_path']}' key='{tls['key_path']}'. {exc}; "
            "both files must be readable PEM and the key must match the certificate"
        ) from exc
    return context


def _listen_failure(host: str, port: int, exc: OSError) -> StartupError:
    hints = {
        errno.EADDRINUSE: "another process is using the port; stop it or set server.port to a free port",
        errno.EADDRNOTAVAIL: "the address does not belong to this machine; check server.host",
        errno.EACCES: "permission denied; ports below 1024 need privileges, choose a higher server.port",
    }
    hint = hints.get(exc.errno or 0, "check server.host and server.port")
    return StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; {hint}")


def bind_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` (first address ``host`` resolves to), not listening."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise StartupError(f"cannot resolve server.host '{host}': {exc.strerror}; use an IP address or a resolvable name") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise _listen_failure(host, port, exc) from exc
    sock.setblocking(False)
    return sock


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind the shared port with SO_REUSEPORT without listening (see the module docstring)."""
    if port:
        # A reuseport bind succeeds next to another reuseport listener of the same user (a second
        # Orion, say); a plain bind does not, so probe with one first to report the port as taken.
        bind_socket(host, port, reuse_port=False).close()
    return bind_socket(host, port, reuse_port=True)


# --- one worker: a kernel and its listener -------------------------------------------------------


class Worker:
    """A Kernel and its aiohttp listener in the current process."""

    def __init__(self, cfg: dict[str, Any], plugins: PluginSet | None) -> None:
        self.cfg = cfg
        self.kernel = Kernel(cfg, plugins)
        self.runner: web.AppRunner | None = None

    async def start(self, sock: socket.socket, ssl_context: ssl.SSLContext | None, *, migrate: bool) -> None:
        """Start the kernel (storage, snapshot, revision watch), then listen on ``sock``."""
        from .http.app import create_app  # the HTTP modules import the kernel; keep this module light

        try:
            await self.kernel.start(migrate=migrate, watch=True)
        except Exception as exc:
            raise storage_failure(self.cfg["storage"]["url"], exc) from exc
        # access_log=None: the kernel middleware writes the access log (config-and-ops.md §3.12).
        self.runner = web.AppRunner(
            create_app(self.kernel), handle_signals=False, access_log=None,
            shutdown_timeout=self.cfg["server"]["shutdown_drain_secs"],
        )
        await self.runner.setup()
        await web.SockSite(self.runner, sock, ssl_context=ssl_context, backlog=BACKLOG).start()

    async def stop(self) -> None:
        """Report not-ready at once, stop accepting, drain in-flight requests (bounded), stop the kernel."""
        self.kernel.begin_shutdown()
        if self.runner is not None:
            logger.info("shutting down: not ready; draining in-flight requests for up to %ss",
                        self.cfg["server"]["shutdown_drain_secs"])
            # Closes the listener, closes idle keep-alive connections, waits for running handlers
            # up to shutdown_timeout, then cancels what is left.
            await self.runner.cleanup()
        await self.kernel.stop()


def _shutdown_event() -> asyncio.Event:
    """An event set by the first SIGTERM/SIGINT of this process."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    for sig in SHUTDOWN_SIGNALS:
        loop.add_signal_handler(sig, event.set)
    return event


async def _start_worker(cfg: dict[str, Any], plugins: PluginSet | None, sock: socket.socket,
                        ssl_context: ssl.SSLContext | None, *, migrate: bool) -> Worker:
    worker: Worker | None = None
    try:
        worker = Worker(cfg, plugins)
        await worker.start(sock, ssl_context, migrate=migrate)
    except BaseException:
        sock.close()
        if worker is not None:
            await _quietly(worker.stop())
        raise
    return worker


async def _quietly(step: Coroutine[Any, Any, None]) -> None:
    try:
        await step
    except Exception:
        logger.debug("cleanup after a failed start-up failed too", exc_info=True)


async def _serve_in_process(cfg: dict[str, Any], plugins: PluginSet, ssl_context: ssl.SSLContext | None) -> int:
    """``server.workers = 1``: migrate, serve and drain in this process."""
    stop = _shutdown_event()
    host = cfg["server"]["host"]
    try:
        sock = bind_socket(host, cfg["server"]["port"], reuse_port=False)
        port = sock.getsockname()[1]
        worker = await _start_worker(cfg, plugins, sock, ssl_context, migrate=True)
    except Exception as exc:
        return _fail(describe_startup_failure(exc))
    announce(host, port, 1, tls=ssl_context is not None)
    await stop.wait()
    await worker.stop()
    announce_shutdown()
    return 0


# --- N workers: spawned processes under a supervising parent -------------------------------------

READY = "ready"
FAILED = "failed"


def worker_process(cfg: dict[str, Any], port: int, conn: Connection) -> None:
    """Entry point of a spawned worker process: serve ``port`` until told to stop."""
    configure_logging(cfg["logging"]["level"], cfg["logging"]["format"], access_log=cfg["logging"]["access_log"])
    sys.exit(_run_loop(_worker_process_main(cfg, port, conn)))


async def _worker_process_main(cfg: dict[str, Any], port: int, conn: Connection) -> int:
    stop = _shutdown_event()
    _stop_when_parent_dies(conn, stop)
    try:
        sock = bind_socket(cfg["server"]["host"], port, reuse_port=True)
        worker = await _start_worker(cfg, None, sock, tls_context(cfg), migrate=False)
    except Exception as exc:
        conn.send((FAILED, describe_startup_failure(exc)))
        return 1
    conn.send((READY, os.getpid()))
    await stop.wait()
    await worker.stop()
    return 0


def _stop_when_parent_dies(conn: Connection, stop: asyncio.Event) -> None:
    """Set ``stop`` when the parent's end of ``conn`` closes (the parent never writes to it)."""
    loop = asyncio.get_running_loop()

    def parent_gone() -> None:
        loop.remove_reader(conn.fileno())
        logger.warning("the supervising process is gone; shutting down")
        stop.set()

    loop.add_reader(conn.fileno(), parent_gone)


def describe_exit(code: int | None) -> str:
    """``exit status 3`` or ``killed by SIGKILL``."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Supervisor:
    """Starts the workers, announces when all are ready, forwards shutdown signals, reaps them.

    A worker that dies while the others serve stops the whole server (exit status 1); there is
    no restart loop, so a process manager (systemd, Kubernetes) decides what happens next.
    """

    def __init__(self, cfg: dict[str, Any], workers: int, reservation: socket.socket, *, tls: bool) -> None:
        self.cfg = cfg
        self.count = workers
        self.host = cfg["server"]["host"]
        self.port = reservation.getsockname()[1]
        self.tls = tls
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.conns: dict[Connection, int] = {}
        self.ready: set[int] = set()
        self.announced = False
        self.stopping = False
        self.deadline: float | None = None
        self.failure: str | None = None

    def run(self) -> int:
        wake_read, wake_write = socket.socketpair()
        wake_read.setblocking(False)
        wake_write.setblocking(False)
        previous = {sig: signal.signal(sig, lambda *_: None) for sig in SHUTDOWN_SIGNALS}
        previous_wakeup = signal.set_wakeup_fd(wake_write.fileno())
        try:
            self._spawn()
            self._loop(wake_read)
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            wake_read.close()
            wake_write.close()
            for process in self.processes:
                process.join(1)
        if self.failure is not None:
            return _fail(self.failure)
        announce_shutdown()
        return 0

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        # Children inherit an ignored SIGINT, so a terminal Ctrl-C (sent to the whole process
        # group) cannot interrupt a worker's start-up; the parent forwards SIGTERM instead, and
        # each worker installs its own handlers first thing.
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for index in range(self.count):
                parent_end, child_end = context.Pipe()  # a socket pair: EOF tells a worker the parent died
                process = context.Process(
                    target=worker_process, args=(self.cfg, self.port, child_end),
                    name=f"orion-worker-{index}", daemon=False,
                )
                process.start()
                child_end.close()
                self.processes.append(process)
                self.conns[parent_end] = index
        finally:
            signal.signal(signal.SIGINT, handler)

    def _loop(self, wake: socket.socket) -> None:
        alive = set(range(self.count))
        sentinels = {process.sentinel: index for index, process in enumerate(self.processes)}
        while alive:
            timeout = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            events = wait([wake, *self.conns, *(s for s, i in sentinels.items() if i in alive)], timeout)
            if not events:
                self._kill_stragglers(alive)
                return
            if wake in events:
                wake.recv(512)
                self._stop("shutdown signal received")
            for conn in [e for e in events if e in self.conns]:
                self._receive(conn)
            for sentinel in [e for e in events if e in sentinels]:
                index = sentinels[sentinel]
                alive.discard(index)
                self._exited(index)
            if not self.stopping and not self.announced and len(self.ready) == self.count:
                announce(self.host, self.port, self.count, tls=self.tls)
                self.announced = True

    def _receive(self, conn: Connection) -> None:
        index = self.conns[conn]
        try:
            kind, detail = conn.recv()
        except (EOFError, OSError):
            del self.conns[conn]
            conn.close()
            return
        if kind == READY:
            self.ready.add(index)
            logger.debug("worker %d (pid %s) is ready", index, detail)
        elif kind == FAILED:
            self._fail_once(detail)
            self._stop("a worker failed to start")

    def _exited(self, index: int) -> None:
        process = self.processes[index]
        for conn in [c for c, i in self.conns.items() if i == index]:
            while conn in self.conns and conn.poll():  # its last word (a start-up error) first
                self._receive(conn)
        process.join()  # the sentinel closes a moment before the process can be reaped
        code = process.exitcode
        if not self.stopping:
            self._fail_once(f"worker {index} (pid {process.pid}) exited unexpectedly ({describe_exit(code)}); "
                            "stopped the other workers")
            self._stop("a worker exited")
        elif code not in CLEAN_EXIT_CODES:
            self._fail_once(f"worker {index} (pid {process.pid}) did not stop cleanly ({describe_exit(code)})")

    def _fail_once(self, message: str) -> None:
        if self.failure is None:
            self.failure = message

    def _stop(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.deadline = time.monotonic() + self.stop_limit()
        logger.info("%s; stopping %d worker(s)", reason, self.count)
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                try:
                    os.kill(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def stop_limit(self) -> int:
        """Seconds a worker gets to stop: the HTTP drain, then the async queue's drain, then the grace."""
        return self.cfg["server"]["shutdown_drain_secs"] + self.cfg["queue"]["shutdown_timeout_secs"] + STOP_GRACE_SECS

    def _kill_stragglers(self, alive: set[int]) -> None:
        limit = self.stop_limit()
        for index in sorted(alive):
            process = self.processes[index]
            process.kill()
            process.join()
            self._fail_once(f"worker {index} (pid {process.pid}) did not stop within {limit}s; killed it")
