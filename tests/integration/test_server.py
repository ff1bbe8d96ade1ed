"""The real server process: start-up, readiness, graceful shutdown, restarts and several workers."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from orion_kernel.testing import orion_server, provision, to_toml

pytestmark = pytest.mark.integration

PLUGINS_DIR = Path(__file__).parent / "plugins"
PLUGIN_ENV = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS_DIR), os.environ.get("PYTHONPATH")]))}


def config(tmp_path: Path, **server: object) -> dict:
    """A file database in ``tmp_path`` and the test plugin module loaded."""
    return {
        "server": {"shutdown_drain_secs": 10, **server},
        "storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"},
        "plugins": {"modules": ["orion_test_slow"]},
    }


def workflow(workflow_id: str, channel: str, *tasks: dict) -> dict:
    return {"workflow_id": workflow_id, "name": workflow_id, "channel": channel, "tasks": list(tasks)}


def task(function: str, **inputs: object) -> dict:
    return {"id": function, "name": function, "function": {"name": function, "input": inputs}}


PARSE = task("parse_json", source="payload", target="in")


async def test_starts_ready_and_stops_cleanly_on_sigterm(tmp_path):
    async with orion_server(config(tmp_path), tmp_path, env=PLUGIN_ENV) as server:
        assert "(1 worker(s))" in server.stderr
        async with aiohttp.ClientSession(server.url) as http:
            async with http.get("/readyz") as resp:
                assert resp.status == 200
                assert (await resp.json())["status"] == "ready"
        assert await server.stop() == 0
    assert "Orion shut down cleanly" in server.stderr
    assert "Error" not in server.stderr


async def test_sigint_stops_two_workers_cleanly(tmp_path):
    async with orion_server(config(tmp_path), tmp_path, workers=2, env=PLUGIN_ENV) as server:
        assert "(2 worker(s))" in server.stderr
        assert await server.stop(signal.SIGINT) == 0
    assert server.stderr.count("not ready; draining") == 2
    assert server.stderr.rstrip().endswith("Orion shut down cleanly")


async def refused_soon(url: str, within: float = 5.0) -> None:
    """New connections are refused once every worker has closed its listener; a connection that
    still gets through in that short window must already see /readyz answer 503."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            async with aiohttp.ClientSession(url) as fresh, fresh.get("/readyz") as resp:
                assert resp.status == 503
        except aiohttp.ClientConnectorError:
            return
        except aiohttp.ServerDisconnectedError:
            pass  # the listener closed while this connection was being served
        assert loop.time() < deadline, "new connections were still accepted"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_lets_the_request_in_flight_finish_and_refuses_new_connections(tmp_path, workers):
    async with orion_server(config(tmp_path), tmp_path, workers=workers, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("slow", "slow", task("sleep", seconds=2))])
            slow = asyncio.create_task(http.post("/api/v1/data/slow", json={"data": {}}))
            await server.wait_for_stderr("sleep task started")
            server.proc.send_signal(signal.SIGTERM)
            await server.wait_for_stderr("not ready; draining")
            await refused_soon(server.url)
            assert not slow.done()  # the drain is still holding it
            resp = await slow
            assert resp.status == 200
            assert (await resp.json())["data"] == {"slept": 2}
        assert await server.wait_exit(15) == 0
    assert server.stderr.rstrip().endswith("Orion shut down cleanly")


async def test_the_drain_is_bounded_by_shutdown_drain_secs(tmp_path):
    async with orion_server(config(tmp_path, shutdown_drain_secs=1), tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("stuck", "stuck", task("sleep", seconds=60))])
            stuck = asyncio.create_task(http.post("/api/v1/data/stuck", json={"data": {}}))
            await server.wait_for_stderr("sleep task started")
            loop = asyncio.get_running_loop()
            signalled = loop.time()
            server.proc.send_signal(signal.SIGTERM)
            assert await server.wait_exit(15) == 0
            assert loop.time() - signalled < 8
            with pytest.raises(aiohttp.ClientError):
                await stuck  # the connection was closed without an answer
    assert "Orion shut down cleanly" in server.stderr


async def test_definitions_and_statuses_survive_a_restart(tmp_path):
    settings = config(tmp_path)
    async with orion_server(settings, tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("orders", "orders", PARSE)])
            async with http.post("/api/v1/admin/workflows", json=workflow("later", "later", PARSE)) as resp:
                assert resp.status == 201

    async with orion_server(settings, tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            async with http.get("/api/v1/admin/workflows/orders") as resp:
                assert (await resp.json())["data"]["status"] == "active"
            async with http.get("/api/v1/admin/workflows/later") as resp:
                assert (await resp.json())["data"]["status"] == "draft"
            async with http.get("/api/v1/admin/channels", params={"status": "active"}) as resp:
                assert [c["name"] for c in (await resp.json())["data"]] == ["orders"]
            async with http.post("/api/v1/data/orders", json={"data": {"id": 7}}) as resp:
                assert resp.status == 200
                assert (await resp.json())["data"] == {"in": {"id": 7}}
            async with http.get("/health") as resp:
                assert (await resp.json())["workflows_loaded"] == 1


async def served_pids(url: str, path: str, count: int) -> list[int]:
    """POST ``path`` ``count`` times, each on a new connection (so the kernel spreads them)."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(url, connector=connector) as http:
        async def one(i: int) -> int:
            async with http.post(path, json={"data": {"i": i}}) as resp:
                assert resp.status == 200, await resp.text()
                body = await resp.json()
                assert body["data"]["in"] == {"i": i}
                return body["data"]["pid"]

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def test_an_activation_through_one_worker_reaches_every_worker_within_a_second(tmp_path):
    async with orion_server(config(tmp_path), tmp_path, workers=2, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("who", "who", PARSE, task("whoami"))])
        await asyncio.sleep(1.0)
        pids = await served_pids(server.url, "/api/v1/data/who", 60)
        assert len(set(pids)) == 2  # both workers answered, and every request succeeded

        async with aiohttp.ClientSession(server.url) as http:  # an archive propagates the same way
            async with http.get("/api/v1/admin/channels", params={"status": "active"}) as resp:
                channel_id = (await resp.json())["data"][0]["channel_id"]
            async with http.patch(f"/api/v1/admin/channels/{channel_id}/status", json={"status": "archived"}) as resp:
                assert resp.status == 200
        await asyncio.sleep(1.0)
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(server.url, connector=connector) as http:
            statuses = []
            for _ in range(20):
                async with http.post("/api/v1/data/who", json={"data": {}}) as resp:
                    statuses.append(resp.status)
        assert statuses == [404] * 20


async def test_a_worker_that_dies_stops_the_server_with_status_1(tmp_path):
    async with orion_server(config(tmp_path), tmp_path, workers=2, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("who", "who", PARSE, task("whoami"))])
        await asyncio.sleep(1.0)
        victim = (await served_pids(server.url, "/api/v1/data/who", 1))[0]
        os.kill(victim, signal.SIGKILL)
        assert await server.wait_exit(20) == 1
    assert f"(pid {victim}) exited unexpectedly (killed by SIGKILL)" in server.stderr
    assert "Orion shut down cleanly" not in server.stderr


async def test_an_in_memory_database_runs_one_worker(tmp_path):
    async with orion_server({"storage": {"url": "sqlite::memory:"}}, tmp_path, workers=2) as server:
        assert "(1 worker(s))" in server.stderr
        assert "in-memory database private to one process" in server.stderr
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("mem", "mem", PARSE)])
            async with http.post("/api/v1/data/mem", json={"data": 1}) as resp:
                assert (await resp.json())["data"] == {"in": 1}


def exited(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie (an orphan's new parent may not reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return True


async def test_workers_stop_when_the_parent_is_killed(tmp_path):
    async with orion_server(config(tmp_path), tmp_path, workers=2, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("who", "who", PARSE, task("whoami"))])
        await asyncio.sleep(1.0)
        workers = set(await served_pids(server.url, "/api/v1/data/who", 40))
        assert len(workers) == 2
        server.proc.kill()
        await server.wait_exit(5)
        for _ in range(100):
            if all(exited(pid) for pid in workers):
                break
            await asyncio.sleep(0.1)
        assert all(exited(pid) for pid in workers), server.stderr
    assert server.stderr.count("the supervising process is gone; shutting down") == 2


# --- start-up failures ---------------------------------------------------------------------------


async def run_serve(tmp_path: Path, text: str, **env: str) -> tuple[int, str]:
    """``python -m orion_kernel serve -c <text>``: its exit status and stderr (it must not start)."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORION_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orion_kernel", "serve", "-c", str(path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env={**clean, **env}, cwd=tmp_path,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, err.decode()


async def test_a_bad_config_exits_1_with_the_error(tmp_path):
    code, err = await run_serve(tmp_path, '[server]\nport = "eighty"\n')
    assert code == 1
    assert "Error: Configuration error: server.port must be an integer" in err
    assert "Orion listening" not in err


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_unopenable_storage_exits_1_with_the_error(tmp_path, workers):
    text = to_toml({"server": {"host": "127.0.0.1", "port": 0, "workers": int(workers)},
                    "storage": {"url": f"sqlite:{tmp_path / 'missing' / 'dir' / 'orion.db'}"}})
    code, err = await run_serve(tmp_path, text)
    assert code == 1
    assert "Error: cannot open SQLite database" in err
    assert "Traceback" not in err
    assert "Orion listening" not in err


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_port_in_use_exits_1_with_the_error(tmp_path, workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text = to_toml({"server": {"host": "127.0.0.1", "port": port, "workers": workers},
                        "storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}})
        code, err = await run_serve(tmp_path, text)
    assert code == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}: Address already in use" in err


async def test_a_plugin_that_fails_to_import_exits_1_with_the_error(tmp_path):
    text = to_toml({"server": {"port": 0, "workers": 1}, "plugins": {"modules": ["no_such_orion_plugin"]}})
    code, err = await run_serve(tmp_path, text)
    assert code == 1
    assert "Error: plugin module 'no_such_orion_plugin' (plugins.modules) failed to import" in err


# --- TLS -----------------------------------------------------------------------------------------


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("workers", [1, 2])
async def test_tls_serves_https_only_with_hsts(tmp_path, workers):
    cert, key = self_signed(tmp_path)
    settings = config(tmp_path, tls={"enabled": True, "cert_path": str(cert), "key_path": str(key)})
    async with orion_server(settings, tmp_path, workers=workers, env=PLUGIN_ENV) as server:
        assert server.url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(server.url, connector=aiohttp.TCPConnector(ssl=trust)) as http:
            async with http.get("/readyz") as resp:
                assert resp.status == 200
                assert resp.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
        async with aiohttp.ClientSession() as plain:
            with pytest.raises(aiohttp.ClientError):
                await plain.get(server.url.replace("https://", "http://") + "/readyz")


async def test_an_unreadable_tls_key_exits_1_with_the_error(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not a certificate\n")
    key.write_text("not a key\n")
    text = to_toml({"server": {"port": 0, "workers": 1, "tls": {"enabled": True, "cert_path": str(cert), "key_path": str(key)}},
                    "storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}})
    code, err = await run_serve(tmp_path, text)
    assert code == 1
    assert f"Error: Failed to initialize TLS from cert='{cert}' key='{key}'." in err
