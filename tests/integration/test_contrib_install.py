"""``pip install`` of a contrib plugin extends Orion; ``pip uninstall`` takes it away again.

This installs into the running interpreter's environment (without build isolation, so no network)
and puts orion-plugin-jsonschema back as it found it: absent, installed, or installed editable.
"""
from __future__ import annotations

import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from orion_kernel.testing import orion_server, provision

pytestmark = pytest.mark.integration

CONTRIB = Path(__file__).resolve().parents[2] / "plugins-contrib" / "orion-plugin-jsonschema"
DIST = "orion-plugin-jsonschema"

ORDER_SCHEMA = {"type": "object", "required": ["id"], "properties": {"total": {"type": "number", "minimum": 0}}}
WORKFLOW = {
    "workflow_id": "contrib-orders",
    "name": "Orders checked by a contrib plugin",
    "channel": "contrib-orders",
    "tasks": [
        {"id": "parse", "name": "Parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": "order"}}},
        {"id": "check", "name": "Check", "function": {"name": "json_schema",
                                                      "input": {"schema": ORDER_SCHEMA, "source": "data.order"}}},
    ],
}


def pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def install(tmp: Path, *, editable: bool = False) -> None:
    """Install the plugin; non-editable installs build from a copy so the repo gets no build/ dir."""
    if editable:
        pip("install", "--no-deps", "--no-build-isolation", "-e", str(CONTRIB))
        return
    source = tmp / "orion-plugin-jsonschema"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(CONTRIB, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*"))
    pip("install", "--no-deps", "--no-build-isolation", str(source))


def orion_kernel_plugins(**env: str) -> str:
    """The output of ``orion-kernel plugins``; ``env`` adds variables (no other ORION_* leaks in)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("ORION_")}
    done = subprocess.run([sys.executable, "-m", "orion_kernel", "plugins"], capture_output=True, text=True,
                          timeout=60, env={**clean, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def restore_install_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the test, put the plugin back as it was: absent, installed, or installed editable."""
    try:
        direct_url = md.distribution(DIST).read_text("direct_url.json") or "{}"
        before: str | None = "editable" if json.loads(direct_url).get("dir_info", {}).get("editable") else "installed"
    except md.PackageNotFoundError:
        before = None
    yield
    pip("uninstall", "-y", DIST)
    if before is not None:
        install(tmp_path_factory.mktemp("reinstall"), editable=before == "editable")


async def test_pip_install_adds_json_schema_and_pip_uninstall_removes_it(tmp_path, restore_install_state):
    pip("uninstall", "-y", DIST)
    assert "json_schema" not in orion_kernel_plugins()

    install(tmp_path)
    rows = [line.split() for line in orion_kernel_plugins().splitlines()]
    row = next((r for r in rows if r and r[0] == "jsonschema"), None)
    assert row is not None, rows
    assert row[1] == DIST and row[-1] == "json_schema"
    assert "json_schema" not in orion_kernel_plugins(ORION_DISABLE_PLUGINS="jsonschema")
    # Also named in [plugins] modules it stays one plugin: ORION_PLUGIN_NAME matches the entry point.
    assert orion_kernel_plugins(ORION_PLUGINS__MODULES="orion_plugin_jsonschema").count("json_schema") == 1

    config = {"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}}
    async with orion_server(config, tmp_path) as server, aiohttp.ClientSession(server.url) as http:
        await provision(http, [WORKFLOW])
        async with http.post("/api/v1/data/contrib-orders", json={"data": {"id": "A1", "total": -5}}) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
    assert [(e["code"], e["message"], e["path"]) for e in body["errors"]] == [
        ("VALIDATION_ERROR", "data.order.total: -5 is less than the minimum of 0", "data.order.total"),
    ]

    pip("uninstall", "-y", DIST)
    assert "json_schema" not in orion_kernel_plugins()

