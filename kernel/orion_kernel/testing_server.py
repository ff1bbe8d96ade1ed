"""Run the real server (``python -m orion_kernel serve``) as a subprocess for integration tests."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LISTENING = re.compile(r"Orion listening on (?P<scheme>https?)://(?P<host>\[[^\]]+\]|[^:\s]+):(?P<port>\d+) ")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


# --- config files -------------------------------------------------------------------------------


def to_toml(data: Mapping[str, Any]) -> str:
    """Render nested dicts of strings, numbers, booleans and lists as TOML (lists of dicts become
    arrays of tables). Enough for config.toml; raises TypeError for anything else (e.g. None)."""
    lines: list[str] = []
    _table(lines, (), data)
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are valid TOML basic-string escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], header: str = "[{}]") -> None:
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping) or _is_table_array(v)}
    scalars = {k: v for k, v in table.items() if k not in nested}
    if path and (scalars or not nested or header.startswith("[[")):
        lines.append(header.format(".".join(_key(part) for part in path)))
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars.items())
    for key, value in nested.items():
        if isinstance(value, Mapping):
            _table(lines, (*path, key), value)
        else:
            for item in value:
                _table(lines, (*path, key), item, header="[[{}]]")


# --- the subprocess -----------------------------------------------------------------------------


@dataclass
class OrionServer:
    """A running ``orion_kernel serve`` process and what it wrote to stderr so far."""

    proc: asyncio.subprocess.Process
    config_path: Path
    url: str = ""
    port: int = 0
    lines: list[str] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        return "".join(self.lines)

    async def wait_for_stderr(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait until a stderr line matches the regex ``pattern``; raise AssertionError on timeout or exit."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            return next((m for line in self.lines if (m := regex.search(line))), None)

        async def wait() -> re.Match[str]:
            async with self._changed:
                while (match := found()) is None:
                    if self.proc.returncode is not None:
                        raise AssertionError(f"server exited with status {self.proc.returncode} before printing "
                                             f"{pattern!r}; stderr:\n{self.stderr}")
                    await self._changed.wait()
                return match

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"server printed no line matching {pattern!r} within {timeout}s; stderr:\n{self.stderr}") from None

    async def wait_exit(self, timeout: float = 30.0) -> int:
        """The exit status once the process has exited; AssertionError after ``timeout`` seconds.

        Unlike ``proc.wait()`` this does not wait for stderr to close, which a worker the server
        left behind would keep open.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.proc.returncode is None:
            if loop.time() > deadline:
                raise AssertionError(f"server still running after {timeout}s; stderr:\n{self.stderr}")
            await asyncio.sleep(0.05)
        return self.proc.returncode

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` (unless it has exited) and wait; kill it after ``timeout``. Returns the exit status."""
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            return await self.wait_exit(timeout)
        except AssertionError:
            self.proc.kill()
            await self.wait_exit(5)
            raise AssertionError(f"server did not exit within {timeout}s of signal {sig}; killed it. stderr:\n{self.stderr}") from None

    async def _collect(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            async with self._changed:
                self.lines.append(line.decode(errors="replace"))
                self._changed.notify_all()
        while self.proc.returncode is None:
            await asyncio.sleep(0.05)
        async with self._changed:
            self._changed.notify_all()


def server_env(workers: int, env: Mapping[str, str] | None) -> dict[str, str]:
    """The subprocess environment: ours minus every ``ORION_*`` variable, then loopback and
    ``env``; port 0 (OS-assigned) and ``workers`` always win."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("ORION_")}
    out["ORION_SERVER__HOST"] = "127.0.0.1"
    out.update(env or {})
    out["ORION_SERVER__PORT"] = "0"
    out["ORION_SERVER__WORKERS"] = str(workers)
    return out


@asynccontextmanager
async def orion_server(
    config_toml: str | Mapping[str, Any],
    tmp_path: str | os.PathLike[str],
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    *,
    start_timeout: float = 30.0,
    stop_timeout: float = 30.0,
) -> AsyncIterator[OrionServer]:
    """Run ``python -m orion_kernel serve -c <config>`` in ``tmp_path`` until the block ends.

    ``config_toml`` is the file text or a dict rendered as TOML. The server listens on an
    OS-assigned port on 127.0.0.1 (``server.url``); the block starts once it printed its listening
    line. On exit it gets SIGTERM and ``stop_timeout`` seconds before being killed. Raises
    AssertionError with the captured stderr when it exits or stays silent during start-up.
    """
    directory = Path(tmp_path)
    text = config_toml if isinstance(config_toml, str) else to_toml(config_toml)
    handle, name = tempfile.mkstemp(prefix="orion-", suffix=".toml", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orion_kernel", "serve", "-c", name,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env=server_env(workers, env), cwd=directory,
    )
    server = OrionServer(proc=proc, config_path=Path(name))
    collector = asyncio.create_task(server._collect())
    try:
        match = await server.wait_for_stderr(LISTENING.pattern, start_timeout)
        host = match["host"]
        host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
        server.port = int(match["port"])
        server.url = f"{match['scheme']}://{host}:{server.port}"
        yield server
    finally:
        try:
            if proc.returncode is None:
                await server.stop(timeout=stop_timeout)
        finally:
            # A worker orphaned by a killed parent would keep stderr open: do not wait for it forever.
            done, _ = await asyncio.wait({collector}, timeout=5)
            if not done:
                collector.cancel()
