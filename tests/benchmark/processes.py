"""The servers under test as subprocesses, and what /proc says about them (CPU time, memory)."""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

START_TIMEOUT_SECS = 60


class Server:
    """A server subprocess that announces ``http://host:port`` on stderr; stderr goes to ``log``."""

    def __init__(self, command: list[str], announcement: re.Pattern[str], log: Path, cwd: Path) -> None:
        self.command = command
        self.announcement = announcement
        self.log = log
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start it and return its base URL once announced; RuntimeError with its stderr otherwise."""
        with self.log.open("wb") as stderr:
            self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=self.cwd)
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            match = self.announcement.search(self.log.read_text(errors="replace"))
            if match:
                return f"http://{match['host']}:{match['port']}"
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"`{' '.join(self.command)}` did not announce its port; its stderr:\n{self.log.read_text()}")

    def workers(self) -> list[int]:
        """Pids of its worker processes (children started by multiprocessing's spawn)."""
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
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid and b"spawn_main" in cmdline:
                pids.append(int(entry.name))
        return sorted(pids)

    def stop(self) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time the processes have used so far, their threads included."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of proc(5)
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pids: Sequence[int]) -> list[float]:
    """Resident memory of each process in MiB (0 for one that is gone)."""
    out = []
    for pid in pids:
        try:
            match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        except OSError:
            match = None
        out.append(round(int(match[1]) / 1024, 1) if match else 0.0)
    return out


class Profiler:
    """py-spy recording one process for a while (``run.py --profile``)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(self.binary).exists():
            sys.exit("--profile needs py-spy: pip install py-spy")

    async def start(self, pid: int, seconds: float, label: str) -> asyncio.subprocess.Process:
        """Record ``pid`` into ``profile-<label>.txt`` (collapsed stacks); await ``wait()`` on the result."""
        return await asyncio.create_subprocess_exec(
            self.binary, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
            "--format", "raw", "--nonblocking", "--output", str(self.out / f"profile-{label}.txt"),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
