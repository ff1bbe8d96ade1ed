"""The policy plugin in docs/governance.md ("Writing a policy plugin") works as printed."""
from __future__ import annotations

import re
import types
from pathlib import Path

DOC = (Path(__file__).resolve().parents[2] / "docs" / "governance.md").read_text(encoding="utf-8")
WORKFLOW = {"workflow_id": "hello", "name": "hello", "tasks": [
    {"id": "t", "name": "t", "function": {"name": "map", "input": {"mappings": [{"path": "data.ok", "logic": True}]}}}]}


def example_plugin() -> types.ModuleType:
    section = DOC.split("## Writing a policy plugin", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = types.ModuleType("require_tenant")
    exec(compile(code, "docs/governance.md", "exec"), module.__dict__)
    return module


async def test_the_documented_policy_plugin_guards_a_channel(orion_client):
    client = await orion_client(plugins=[example_plugin()], workflows=[WORKFLOW], channels=[
        {"name": "tenants", "workflow_id": "hello", "config": {"require_tenant": {"allowed": ["acme"]}}}])
    refused = await client.post("/api/v1/data/tenants", json={"data": {}}, headers={"x-tenant-id": "other"})
    assert refused.status == 403
    assert (await refused.json())["error"]["message"] == "Tenant is not allowed on channel 'tenants'"
    allowed = await client.post("/api/v1/data/tenants", json={"data": {}}, headers={"X-Tenant-Id": "acme"})
    assert allowed.status == 200 and (await allowed.json())["data"] == {"ok": True}

    bad = await client.post("/api/v1/admin/channels", json={"name": "bad", "config": {"require_tenant": {"allowed": "acme"}}})
    assert bad.status == 400
    [detail] = (await bad.json())["error"]["details"]
    assert detail["path"] == "channel.config"
    assert detail["message"] == "channel.config does not match the ChannelConfig shape: require_tenant.allowed: Not a valid list."
