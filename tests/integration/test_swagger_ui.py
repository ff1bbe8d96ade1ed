"""The Swagger UI at ``/docs`` renders the API in headless Chromium from the real server, offline.

Chromium resolves no host but the loopback address (``--host-resolver-rules``), so the page can
only render if every file it needs comes from the server itself. Needs Debian's ``chromium``
(``apt-get install -y chromium``; ``.ci/run`` installs it).
"""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from orion_kernel.testing import orion_server

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install -y chromium)"),
]


async def dump_dom(url: str, profile: Path) -> str:
    """The DOM of ``url`` after Chromium ran its scripts, with every host but 127.0.0.1 unresolvable."""
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"chromium did not finish rendering {url} within 60 s") from None
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


@pytest.mark.parametrize("path", ["/docs", "/docs/"])
async def test_swagger_ui_lists_the_operations(tmp_path, path):
    config = {"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}}
    async with orion_server(config, tmp_path) as server:
        dom = await dump_dom(server.url + path, tmp_path / "chromium")
    assert "Orion — Declarative Services Runtime API" in dom
    operations = re.findall(r'class="opblock opblock-(get|post|put|patch|delete)', dom)
    assert len(operations) >= 20, dom[-3000:]
    for known in ('data-path="/api/v1/admin/workflows/{id}/status"', 'data-path="/api/v1/data/traces/{id}"', 'data-path="/health"'):
        assert known in dom
    assert "Failed to load API definition" not in dom
