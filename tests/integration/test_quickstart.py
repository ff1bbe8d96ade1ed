"""The README quickstart, run verbatim (only the address changes) against a fresh real server."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from orion_kernel.testing import orion_server

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = [pytest.mark.integration, pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")]


def quickstart_script() -> str:
    text = README.read_text()
    section = text.split("## Quickstart", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "README has no bash block under '## Quickstart'"
    return match.group(1)


def split_json_documents(output: str) -> list[dict]:
    decoder = json.JSONDecoder()
    documents, index = [], 0
    output = output.strip()
    while index < len(output):
        document, end = decoder.raw_decode(output, index)
        documents.append(document)
        index = end
        while index < len(output) and output[index].isspace():
            index += 1
    return documents


async def test_readme_quickstart_runs_verbatim(tmp_path):
    script = quickstart_script()
    assert "http://localhost:8080" in script
    async with orion_server({"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}}, tmp_path) as server:
        proc = await asyncio.create_subprocess_exec(
            "bash", "-euo", "pipefail", "-c", script.replace("http://localhost:8080", server.url),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    created_wf, active_wf, created_ch, active_ch, response = split_json_documents(out.decode())
    assert created_wf["data"]["status"] == "draft"
    assert active_wf["data"]["status"] == "active"
    assert created_ch["data"]["status"] == "draft"
    assert active_ch["data"]["status"] == "active"
    assert response["status"] == "ok"
    assert response["errors"] == []
    assert response["data"] == {"order": {"order_id": "ORD-9182", "total": 25000, "flagged": True,
                                          "alert": "High-value order: $25000"}}
