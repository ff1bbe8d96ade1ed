"""The data API through the real aiohttp app on a SQLite file (api-data.md §2–6, §9)."""
from __future__ import annotations

import asyncio

import orjson
import pytest

from orion_kernel.config import load_config
from orion_kernel.http.app import create_app
from orion_kernel.kernel import Kernel

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def kernel(tmp_path):
    env = {"ORION_STORAGE__URL": f"sqlite:{tmp_path / 'orion.db'}", "ORION_INGEST__MAX_PAYLOAD_SIZE": "4096"}
    kernel = Kernel(load_config(None, env=env))
    await kernel.start()
    yield kernel
    await kernel.stop()


@pytest.fixture
async def client(aiohttp_client, kernel):
    return await aiohttp_client(create_app(kernel))


async def admin(client, method, path, body=None, status=200):
    resp = await client.request(method, f"/api/v1/admin/{path}", data=orjson.dumps(body) if body is not None else None,
                                headers=JSON if body is not None else None)
    assert resp.status == status, await resp.text()
    return await resp.json() if status != 204 else None


async def deploy_workflow(client, workflow_id, tasks, **fields):
    await admin(client, "POST", "workflows", {"workflow_id": workflow_id, "name": workflow_id, "tasks": tasks, **fields}, 201)
    await admin(client, "PATCH", f"workflows/{workflow_id}/status", {"status": "active"})


async def deploy_channel(client, name, **fields):
    await admin(client, "POST", "channels", {"channel_id": name, "name": name, **fields}, 201)
    await admin(client, "PATCH", f"channels/{name}/status", {"status": "active"})


def parse(target="input"):
    return {"id": "parse", "name": "Parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": target}}}


def mapping(task_id, path, logic, **extra):
    return {"id": task_id, "name": task_id, **extra, "function": {"name": "map", "input": {"mappings": [{"path": path, "logic": logic}]}}}


async def post(client, path, body, headers=None):
    resp = await client.post(f"/api/v1/data/{path}", data=orjson.dumps(body), headers={**JSON, **(headers or {})})
    return resp.status, await resp.json(), resp


async def test_quickstart_shape_by_name_and_by_route(client):
    await deploy_workflow(client, "high-value-order", [
        parse("order"),
        mapping("flag", "data.order.flagged", True, condition={">": [{"var": "data.order.total"}, 10000]}),
    ])
    await deploy_channel(client, "orders", methods=["POST"], route_pattern="/shop/orders", workflow_id="high-value-order")
    for path in ("orders", "shop/orders", "SHOP/Orders"):
        status, body, resp = await post(client, path, {"data": {"order_id": "A", "total": 25000}})
        assert status == 200, body
        assert body["status"] == "ok" and body["errors"] == []
        assert body["data"] == {"order": {"order_id": "A", "total": 25000, "flagged": True}}
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["x-request-id"]


async def test_metadata_carries_method_params_query_headers_and_caller_metadata(client):
    await deploy_workflow(client, "echo-meta", [mapping("m", "data.meta", {"var": "metadata"})])
    await deploy_channel(client, "item", methods=["GET", "POST"], route_pattern="/items/{item_id}", workflow_id="echo-meta")
    resp = await client.post("/api/v1/data/items/42?page=2&q=x", data=orjson.dumps({"data": {}, "metadata": {"source": "t"}}),
                             headers={**JSON, "X-Tenant": "acme", "x-request-id": "rid-1"})
    meta = (await resp.json())["data"]["meta"]
    assert meta["source"] == "t" and meta["http_method"] == "POST"
    assert meta["params"] == {"item_id": "42"} and meta["query"] == {"page": "2", "q": "x"}
    assert meta["headers"]["x-tenant"] == "acme" and meta["headers"]["x-request-id"] == "rid-1"
    assert meta["channel"] == "item" and "processed_at" in meta
    assert resp.headers["x-request-id"] == "rid-1"
    resp = await client.get("/api/v1/data/items/7")
    meta = (await resp.json())["data"]["meta"]
    assert "query" not in meta and meta["params"] == {"item_id": "7"} and meta["http_method"] == "GET"
    assert meta["headers"]["x-request-id"] == resp.headers["x-request-id"]


async def test_routing_errors(client):
    await deploy_workflow(client, "noop", [parse()])
    await deploy_channel(client, "known", methods=["POST"], route_pattern="/known", workflow_id="noop")
    cases = [
        ("POST", "/api/v1/data/nope", 404, "NOT_FOUND", "Channel 'nope' not found"),
        ("GET", "/api/v1/data/a/b/c", 404, "NOT_FOUND", "No channel matches GET /a/b/c"),
        ("POST", "/api/v1/data/%20", 400, "BAD_REQUEST", "Channel name must not be empty"),
        ("POST", "/api/v1/data/traces", 405, "METHOD_NOT_ALLOWED", None),
    ]
    for method, path, status, code, message in cases:
        resp = await client.request(method, path)
        body = await resp.json()
        assert resp.status == status, (path, body)
        assert body["error"]["code"] == code
        assert body["error"]["request_id"] == resp.headers["x-request-id"]
        if message:
            assert body["error"]["message"] == message
    # the name fallback ignores methods
    resp = await client.get("/api/v1/data/known")
    assert resp.status == 200


async def test_body_errors(client):
    await deploy_workflow(client, "noop", [parse()])
    await deploy_channel(client, "c", workflow_id="noop")
    resp = await client.post("/api/v1/data/c", data=b"{not json", headers=JSON)
    assert resp.status == 400 and (await resp.json())["error"]["message"].startswith("Invalid JSON body:")
    resp = await client.post("/api/v1/data/c", data=b'{"payload": 1}', headers=JSON)
    assert resp.status == 400 and "data" in (await resp.json())["error"]["message"]
    resp = await client.post("/api/v1/data/c", data=b'{"data": 1}', headers={"Content-Type": "text/plain"})
    body = await resp.json()
    assert resp.status == 415 and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    resp = await client.post("/api/v1/data/c", data=orjson.dumps({"data": "x" * 5000}), headers=JSON)
    body = await resp.json()
    assert resp.status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    resp = await client.post("/api/v1/data/c", headers={"Content-Type": "application/vnd.api+json"})
    assert resp.status == 200 and (await resp.json())["data"] == {"input": {}}
    resp = await client.post("/api/v1/data/c", data=b'{"data": [1, "two"]}', headers={"Content-Type": "application/json; charset=utf-8"})
    assert (await resp.json())["data"] == {"input": [1, "two"]}


async def test_known_channel_without_workflow_answers_empty_success(client):
    await deploy_channel(client, "empty")
    status, body, _ = await post(client, "empty", {"data": {"x": 1}})
    assert status == 200 and body["data"] == {} and body["errors"] == []


async def test_status_mapping_of_failures(client):
    await deploy_workflow(client, "fails", [parse(), {"id": "bad", "name": "bad", "function": {
        "name": "publish_json", "input": {"source": "missing", "target": "out"}}}])
    await deploy_channel(client, "validation-stop", workflow_id="fails")
    status, body, _ = await post(client, "validation-stop", {"data": {}})
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR"
    assert "PublishJson: Source 'data.missing' not found or is null" in body["error"]["message"]

    await deploy_workflow(client, "engine", [{"id": "call", "name": "call", "function": {
        "name": "channel_call", "input": {"channel": "ghost"}}}])
    await deploy_channel(client, "engine-stop", workflow_id="engine")
    status, body, _ = await post(client, "engine-stop", {"data": {}})
    assert status == 500 and body["error"] == {"code": "ENGINE_ERROR", "message": "An internal engine error occurred",
                                                "request_id": body["error"]["request_id"]}

    await deploy_workflow(client, "tolerant", [{"id": "call", "name": "call", "continue_on_error": True, "function": {
        "name": "channel_call", "input": {"channel": "ghost"}}}, mapping("after", "data.after", 1)])
    await deploy_channel(client, "tolerant", workflow_id="tolerant")
    status, body, _ = await post(client, "tolerant", {"data": {}})
    assert status == 200 and body["data"] == {"after": 1}
    assert body["errors"][0]["code"] == "TASK_ERROR" and body["errors"][0]["task_id"] == "call"
    assert "channel_call to 'ghost' failed: channel not found" in body["errors"][0]["message"]


async def test_several_workflows_on_one_channel_run_by_priority(client):
    await deploy_workflow(client, "second", [mapping("s", "data.order", {"cat": [{"var": "data.order"}, "-second"]})],
                          priority=5, channel="multi")
    await deploy_workflow(client, "first", [mapping("f", "data.order", "first")], priority=1)
    await deploy_workflow(client, "gated", [mapping("g", "data.never", 1)], channel="multi", condition={"==": [1, 2]})
    await deploy_channel(client, "multi", workflow_id="first")
    status, body, _ = await post(client, "multi", {"data": {}})
    assert body["data"] == {"order": "first-second"}


async def test_channel_call_runs_the_target_in_process(client):
    await deploy_workflow(client, "greeter", [parse(), mapping("g", "data.greeting", {"cat": ["Hello, ", {"var": "data.input.name"}]})])
    await deploy_channel(client, "greet", workflow_id="greeter")
    await deploy_workflow(client, "caller", [{"id": "c", "name": "c", "function": {"name": "channel_call", "input": {
        "channel": "greet", "data_logic": {"name": "World", "x": 1}, "response_path": "data.target_result"}}}])
    await deploy_channel(client, "outer", workflow_id="caller")
    status, body, _ = await post(client, "outer", {"data": {}})
    assert status == 200, body
    assert body["data"]["target_result"]["greeting"] == "Hello, World"

    await deploy_workflow(client, "loop", [{"id": "c", "name": "c", "function": {"name": "channel_call", "input": {"channel": "loop"}}}])
    await deploy_channel(client, "loop", workflow_id="loop")
    status, body, _ = await post(client, "loop", {"data": {}})
    assert status == 400 and "cycle detected: loop -> loop" in body["error"]["message"]


async def test_reactivating_a_changed_workflow_under_traffic_never_fails_a_request(client):
    await deploy_workflow(client, "live", [mapping("v", "data.version", 1)])
    await deploy_channel(client, "live", workflow_id="live")
    failures: list = []
    versions_seen: set = set()
    stop = asyncio.Event()

    async def traffic():
        while not stop.is_set():
            status, body, _ = await post(client, "live", {"data": {}})
            if status != 200:
                failures.append(body)
            else:
                versions_seen.add(body["data"].get("version"))

    workers = [asyncio.create_task(traffic()) for _ in range(8)]
    for version in range(2, 8):
        await admin(client, "POST", "workflows/live/versions", status=201)
        await admin(client, "PUT", "workflows/live", {"tasks": [mapping("v", "data.version", version)]})
        await admin(client, "PATCH", "workflows/live/status", {"status": "active"})
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*workers)
    assert failures == []
    assert 7 in versions_seen and len(versions_seen) >= 3


async def test_successful_runs_store_a_sync_trace(client, kernel):
    await deploy_workflow(client, "t", [parse()])
    await deploy_channel(client, "traced", workflow_id="t")
    _, body, _ = await post(client, "traced", {"data": {"k": "v"}})
    await kernel.traces.flush()
    resp = await client.get("/api/v1/data/traces?channel=traced&mode=sync")
    listing = await resp.json()
    assert listing["total"] == 1 and listing["data"][0]["input_json"] == '{"k":"v"}'
    trace_id = listing["data"][0]["id"]
    resp = await client.get(f"/api/v1/data/traces/{trace_id}")
    trace = await resp.json()
    assert trace["status"] == "completed" and trace["message"]["id"] == body["id"]
    resp = await client.get("/api/v1/data/traces/unknown")
    assert resp.status == 404 and (await resp.json())["error"]["message"] == "Trace 'unknown' not found"
