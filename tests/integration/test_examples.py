"""Every folder of examples/ deploys with examples/deploy.py and answers as its requests.json says."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orion_kernel.testing import orion_server

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FOLDERS = sorted(p for p in EXAMPLES.iterdir() if (p / "requests.json").exists())


def contains(actual: Any, expected: Any, where: str = "body") -> list[str]:
    """Where ``actual`` differs from ``expected``: objects may have more keys, lists match item by item."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        return [p for key, value in expected.items() for p in
                (contains(actual[key], value, f"{where}.{key}") if key in actual else [f"{where}.{key}: missing"])]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        return [p for i, (a, e) in enumerate(zip(actual, expected)) for p in contains(a, e, f"{where}[{i}]")]
    return [] if actual == expected else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_every_example_folder_has_definitions_and_requests():
    assert {p.name for p in FOLDERS} >= {"quickstart", "governed-orders", "cached-pricing", "composition"}
    for folder in FOLDERS:
        assert (folder / "workflows.json").exists() and (folder / "channels.json").exists(), folder


async def test_examples_deploy_and_answer_as_documented(tmp_path):
    async with orion_server({"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}}, tmp_path) as server:
        for folder in FOLDERS:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(EXAMPLES / "deploy.py"), str(folder), "--url", server.url,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
            assert proc.returncode == 0, f"{folder.name}: {err.decode()}"
            assert "is active" in out.decode()
        await asyncio.sleep(0.3)  # every worker has picked up the last activation (revision poll 0.25 s)
        async with aiohttp.ClientSession() as session:
            for folder in FOLDERS:
                for case in json.loads((folder / "requests.json").read_text(encoding="utf-8")):
                    async with session.request(case["method"], server.url + case["path"], json=case.get("body"),
                                               headers=case.get("headers")) as resp:
                        body = await resp.json()
                        expect = case["expect"]
                        problems = [] if resp.status == expect["status"] else [f"status {resp.status}"]
                        problems += [f"header {k}: {resp.headers.get(k)!r}" for k, v in expect.get("headers", {}).items()
                                     if resp.headers.get(k) != v]
                        problems += contains(body, expect.get("body", {}))
                        assert not problems, f"{folder.name}: {case['what']}: {problems}\n{body}"
