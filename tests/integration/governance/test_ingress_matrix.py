"""Every policy refuses the same way on every ingress path it applies to (issue 4).

One channel per policy, reachable by name and by a REST route; each is called synchronously by
name, synchronously through the route, asynchronously by name and through the route, and from a
workflow with ``channel_call``. The refusal carries the documented status, code and message on
each path; policies that never apply to async submissions (cache, backpressure, timeout) leave
them alone.
"""
from __future__ import annotations

import pytest

WORKFLOW = {"workflow_id": "echo", "name": "echo", "tasks": [
    {"id": "parse", "name": "parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": "in"}}}]}
CALLER = {"workflow_id": "caller", "name": "caller", "tasks": [
    {"id": "parse", "name": "parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": "req"}}},
    {"id": "call", "name": "call", "continue_on_error": True, "function": {"name": "channel_call", "input": {
        "channel_logic": {"var": "data.req.target"}, "data_logic": {"var": "data.req.body"}}}}]}

# policy → (config block, headers that trip it, body that trips it, status, code, message)
REFUSALS = {
    "rate_limit": ({"rate_limit": {"requests_per_second": 1, "burst": 1}}, {}, {}, 429, "RATE_LIMITED", "Too many requests"),
    "cors": ({"cors": {"allowed_origins": ["https://app.example.com"]}}, {"Origin": "https://evil.example.com"}, {},
             403, "FORBIDDEN", "Origin 'https://evil.example.com' is not allowed for channel '{channel}'"),
    "validation_logic": ({"validation_logic": {"!!": {"var": "data.order_id"}}}, {}, {}, 400, "BAD_REQUEST",
                         "Input validation failed"),
    "deduplication": ({"deduplication": {"header": "Idempotency-Key"}}, {"Idempotency-Key": "k-1"}, {"order_id": 1},
                      409, "CONFLICT", "Duplicate request: idempotency key 'k-1' already seen"),
}
PATHS = {
    "sync by name": "{channel}",
    "sync by route": "routed/{channel}/7",
    "async by name": "{channel}/async",
    "async by route": "routed/{channel}/7/async",
}


def channel(policy: str) -> dict:
    name = f"m-{policy.replace('_', '-')}"
    return {"name": name, "workflow_id": "echo", "protocol": "rest", "methods": ["POST"],
            "route_pattern": f"/routed/{name}/{{id}}", "config": REFUSALS[policy][0]}


def trips_first_time(policy: str) -> bool:
    """Rate limits and idempotency keys refuse the second request; the others the first."""
    return policy not in ("rate_limit", "deduplication")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("policy", REFUSALS)
async def test_a_policy_refuses_alike_on_every_http_ingress_path(orion_client, policy, path):
    spec = channel(policy)
    name = spec["name"]
    _, headers, body, status, code, message = REFUSALS[policy]
    client = await orion_client(workflows=[WORKFLOW], channels=[spec])
    url = "/api/v1/data/" + PATHS[path].format(channel=name)
    if not trips_first_time(policy):
        first = await client.post(url, json={"data": body}, headers=headers)
        assert first.status in (200, 202), await first.text()
    refused = await client.post(url, json={"data": body}, headers=headers)
    assert refused.status == status, await refused.text()
    error = (await refused.json())["error"]
    assert (error["code"], error["message"]) == (code, message.format(channel=name))
    assert error["request_id"] == refused.headers["x-request-id"]
    if policy == "rate_limit":
        assert refused.headers["Retry-After"] == "1" and "RateLimit" in refused.headers


@pytest.mark.parametrize("policy", ["rate_limit", "validation_logic", "deduplication"])
async def test_a_policy_applies_to_channel_call_too(orion_client, policy):
    spec = channel(policy)
    _, headers, body, _, code, message = REFUSALS[policy]
    client = await orion_client(workflows=[WORKFLOW, CALLER], channels=[spec, {"name": "front", "workflow_id": "caller"}])
    payload = {"target": spec["name"], "body": body}
    # channel_call passes the caller's metadata (headers included) to the target channel
    answers = [await (await client.post("/api/v1/data/front", json={"data": payload}, headers=headers)).json()
               for _ in range(1 if trips_first_time(policy) else 2)]
    [refusal] = answers[-1]["errors"]
    assert refusal["task_id"] == "call"
    assert f"channel_call to '{spec['name']}' was refused: {code}: {message}" in refusal["message"]


@pytest.mark.parametrize("config", [
    {"cache": {"enabled": True, "ttl_secs": 60}},
    {"backpressure": {"max_concurrent": 0}},
    {"timeout_ms": 1},
], ids=["cache", "backpressure", "timeout_ms"])
async def test_sync_only_policies_leave_async_submissions_alone(orion_client, config):
    client = await orion_client(workflows=[WORKFLOW], channels=[{"name": "sync-only", "workflow_id": "echo", "config": config}])
    accepted = await client.post("/api/v1/data/sync-only/async", json={"data": {"x": 1}})
    assert accepted.status == 202 and "X-Cache" not in accepted.headers
    assert (await accepted.json())["trace_id"]
