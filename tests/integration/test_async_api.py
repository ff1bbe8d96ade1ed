"""Bad input to the async endpoint and the dead-letter API answers 4xx in the error envelope
(in-process kernel); the operator API lists, filters, pages, deletes and purges entries."""
from __future__ import annotations

import asyncio

import pytest

from orion_kernel.async_queue.dlq import dead_letter
from orion_kernel.async_queue.jobs import Job
from orion_kernel.http.keys import KERNEL

ADMIN = "/api/v1/admin"
PARSE = {"id": "p", "name": "p", "function": {"name": "parse_json", "input": {"source": "payload", "target": "in"}}}


@pytest.fixture
async def client(orion_client):
    return await orion_client(workflows=[{"workflow_id": "w", "name": "w", "channel": "orders", "tasks": [PARSE]}],
                              config={"queue": {"dlq_retry_enabled": False}})


async def error_of(resp, status: int) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    assert set(body) == {"error"} and {"code", "message", "request_id"} <= set(body["error"])
    return body["error"]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code", "message"), [
    ("POST", "/api/v1/data/nope/async", {"json": {"data": {}}}, 404, "NOT_FOUND", "Channel 'nope' not found"),
    ("POST", "/api/v1/data/a/b/async", {"json": {"data": {}}}, 404, "NOT_FOUND", "No channel matches POST /a/b"),
    ("POST", "/api/v1/data/%20/async", {"json": {"data": {}}}, 400, "BAD_REQUEST", "Channel name must not be empty"),
    ("POST", "/api/v1/data/orders/async", {"data": b"{", "headers": {"Content-Type": "application/json"}}, 400,
     "BAD_REQUEST", None),
    ("POST", "/api/v1/data/orders/async", {"json": {"nodata": 1}}, 400, "BAD_REQUEST", "Invalid JSON body: missing field `data`"),
    ("POST", "/api/v1/data/orders/async", {"data": b"x", "headers": {"Content-Type": "text/plain"}}, 415,
     "UNSUPPORTED_MEDIA_TYPE", None),
    ("POST", "/api/v1/data/traces/async", {}, 405, "METHOD_NOT_ALLOWED", None),
    ("GET", "/api/v1/data/traces/async", {}, 404, "NOT_FOUND", "Trace 'async' not found"),
    ("GET", f"{ADMIN}/dlq/unknown-entry", {}, 404, "NOT_FOUND", "Dead-letter entry 'unknown-entry' not found"),
    ("GET", f"{ADMIN}/dlq/{'x' * 300}", {}, 404, "NOT_FOUND", None),
    ("DELETE", f"{ADMIN}/dlq/unknown-entry", {}, 404, "NOT_FOUND", "Dead-letter entry 'unknown-entry' not found"),
    ("POST", f"{ADMIN}/dlq/unknown-entry/requeue", {}, 404, "NOT_FOUND", "Dead-letter entry 'unknown-entry' not found"),
    ("GET", f"{ADMIN}/dlq?exhausted=maybe", {}, 400, "VALIDATION_ERROR", "Invalid query string: exhausted: expected true or false"),
    ("GET", f"{ADMIN}/dlq?limit=abc", {}, 400, "VALIDATION_ERROR", None),
    ("GET", f"{ADMIN}/trace-dlq?offset=x", {}, 400, "VALIDATION_ERROR", None),
    ("POST", f"{ADMIN}/dlq/purge", {"json": {"scope": "some"}}, 400, "VALIDATION_ERROR", None),
    ("POST", f"{ADMIN}/dlq/purge", {"json": {"older_than_hours": -1}}, 400, "VALIDATION_ERROR", None),
    ("POST", f"{ADMIN}/dlq/purge", {"json": {"older_than_hours": "1"}}, 400, "VALIDATION_ERROR", None),
    ("POST", f"{ADMIN}/dlq/purge", {"json": {"everything": True}}, 400, "VALIDATION_ERROR", None),
    ("POST", f"{ADMIN}/dlq/purge", {"json": [1]}, 400, "VALIDATION_ERROR", None),
    ("POST", f"{ADMIN}/dlq/purge", {"data": b"{}", "headers": {"Content-Type": "text/plain"}}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    ("GET", "/api/v1/data/traces?limit=many", {}, 400, "VALIDATION_ERROR", None),
])
async def test_bad_input_is_answered_in_the_error_envelope(client, method, path, kwargs, status, code, message):
    error = await error_of(await client.request(method, path, **kwargs), status)
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message


async def store_entries(client, count: int, channel: str = "orders", retry_count: int = 0, max_retries: int = 2) -> list[dict]:
    storage = client.app[KERNEL].storage
    entries = []
    for i in range(count):
        job = Job.new(channel, '{"n":%d}' % i, '{"http_method":"POST"}', attempt=retry_count)
        entry = dead_letter(job, "Task error: boom", max_retries)
        await storage.insert_dlq(entry)
        entries.append(entry)
    return entries


async def test_listing_filters_and_pages_newest_first(client):
    fresh = await store_entries(client, 3)
    spent = await store_entries(client, 2, retry_count=2)
    other = await store_entries(client, 1, channel="billing")
    resp = await client.get(f"{ADMIN}/dlq", params={"limit": 2})
    body = await resp.json()
    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 0)
    assert [entry["id"] for entry in body["data"]] == [other[0]["id"], spent[1]["id"]]
    exhausted = await (await client.get(f"{ADMIN}/trace-dlq", params={"exhausted": "true"})).json()
    assert {entry["id"] for entry in exhausted["data"]} == {entry["id"] for entry in spent}
    assert all(entry["exhausted"] for entry in exhausted["data"])
    retried = await (await client.get(f"{ADMIN}/dlq", params={"exhausted": "false", "channel": "orders"})).json()
    assert {entry["id"] for entry in retried["data"]} == {entry["id"] for entry in fresh}
    page = await (await client.get(f"{ADMIN}/dlq", params={"limit": 2, "offset": 5})).json()
    assert [entry["id"] for entry in page["data"]] == [fresh[0]["id"]]


async def test_delete_and_purge(client):
    fresh = await store_entries(client, 2)
    spent = await store_entries(client, 2, retry_count=2)
    resp = await client.delete(f"{ADMIN}/dlq/{fresh[0]['id']}")
    assert resp.status == 204
    resp = await client.post(f"{ADMIN}/dlq/purge", json={"older_than_hours": 1})
    assert await resp.json() == {"purged": 0, "scope": "exhausted", "older_than_hours": 1}  # all too recent
    resp = await client.post(f"{ADMIN}/dlq/purge")  # no body: every exhausted entry
    assert await resp.json() == {"purged": 2, "scope": "exhausted", "older_than_hours": None}
    left = await (await client.get(f"{ADMIN}/dlq")).json()
    assert [entry["id"] for entry in left["data"]] == [fresh[1]["id"]]
    resp = await client.post(f"{ADMIN}/trace-dlq/purge", json={"scope": "all"})
    assert (await resp.json())["purged"] == 1
    audit = await (await client.get(f"{ADMIN}/audit-logs", params={"resource_type": "trace_dlq"})).json()
    assert [row["action"] for row in audit["data"]] == ["purge", "purge", "purge", "delete"]
    assert [await client.app[KERNEL].storage.get_dlq(entry["id"]) for entry in spent] == [None, None]


async def test_requeue_needs_an_active_channel_and_room(orion_client):
    client = await orion_client(workflows=[{"workflow_id": "w", "name": "w", "channel": "orders", "tasks": [PARSE]}],
                                config={"queue": {"dlq_retry_enabled": False, "buffer_size": 1, "workers": 1}})
    [gone] = await store_entries(client, 1, channel="archived-channel")
    error = await error_of(await client.post(f"{ADMIN}/dlq/{gone['id']}/requeue"), 409)
    assert error["message"] == (f"Channel 'archived-channel' is not active; activate it before requeueing "
                                f"dead-letter entry '{gone['id']}'")
    queue = client.app[KERNEL].queue
    queue.buffer.reserve(1)  # the one slot is taken
    [entry] = await store_entries(client, 1)
    error = await error_of(await client.post(f"{ADMIN}/dlq/{entry['id']}/requeue"), 503)
    assert error["code"] == "SERVICE_UNAVAILABLE"
    queue.buffer.cancel(1)
    resp = await client.post(f"{ADMIN}/dlq/{entry['id']}/requeue")
    body = (await resp.json())["data"]
    assert resp.status == 200 and body["id"] == entry["id"] and body["channel"] == "orders"
    trace = await client.app[KERNEL].storage.get_trace(body["trace_id"])
    assert trace["input_json"] == '{"n":0}'


async def test_a_closed_queue_answers_queue_error(client):
    client.app[KERNEL].queue.buffer.close()
    error = await error_of(await client.post("/api/v1/data/orders/async", json={"data": {}}), 500)
    assert (error["code"], error["message"]) == ("QUEUE_ERROR", "An internal queue error occurred")


async def test_the_engine_status_reports_the_queue(client):
    await store_entries(client, 2, retry_count=2)
    resp = await client.get(f"{ADMIN}/engine/status")
    queue = (await resp.json())["queue"]
    assert queue["dlq"] == {"size": 2, "exhausted": 2}
    assert {"depth", "running", "workers", "accepted", "completed", "failed", "dlq_retries", "duration_ms_max"} <= set(queue)


async def test_the_channel_async_policies_refuse_at_the_door_before_anything_is_stored(orion_client):
    guarded = {"name": "guarded", "config": {
        "validation_logic": {"!!": {"var": "data.order_id"}},
        "deduplication": {"header": "Idempotency-Key", "mode": "replay"},
        "rate_limit": {"requests_per_second": 1, "burst": 3},
    }}
    client = await orion_client(workflows=[{"workflow_id": "g", "name": "g", "channel": "guarded", "tasks": [PARSE]}],
                                channels=[guarded])
    kernel = client.app[KERNEL]
    error = await error_of(await client.post("/api/v1/data/guarded/async", json={"data": {}}), 400)
    assert (error["code"], error["message"]) == ("BAD_REQUEST", "Input validation failed")
    key = {"Idempotency-Key": "k-1"}
    first = await client.post("/api/v1/data/guarded/async", json={"data": {"order_id": 1}}, headers=key)
    replayed = await client.post("/api/v1/data/guarded/async", json={"data": {"order_id": 1}}, headers=key)
    assert first.status == replayed.status == 202
    assert await first.json() == await replayed.json()  # the same job, not a second one
    assert replayed.headers["Idempotent-Replayed"] == "true"
    error = await error_of(await client.post("/api/v1/data/guarded/async", json={"data": {"order_id": 2}}), 429)
    assert error["code"] == "RATE_LIMITED"
    assert kernel.queue.counters.accepted == 1
    traces, total = await kernel.storage.list_traces(filters={"channel": "guarded"}, sort_by="created_at",
                                                     descending=True, limit=10, offset=0)
    assert total == 1 and traces[0]["id"] == (await first.json())["trace_id"]


async def finished(storage, trace_id: str) -> dict:
    for _ in range(250):
        row = await storage.get_trace(trace_id)
        if row["status"] in ("completed", "failed"):
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"trace {trace_id} did not finish: {row}")


async def test_a_profiled_submission_stores_the_profile_and_per_task_steps_in_the_trace(orion_client):
    traced = {"name": "traced", "config": {"tracing": {"per_task": True}}}
    client = await orion_client(workflows=[{"workflow_id": "t", "name": "t", "channel": "traced", "tasks": [PARSE]}],
                                channels=[traced], config={"tracing": {"debug_profile_enabled": True}})
    resp = await client.post("/api/v1/data/traced/async", json={"data": {"a": 1}}, headers={"X-Orion-Profile": "1"})
    plain = await client.post("/api/v1/data/traced/async", json={"data": {"a": 2}})
    row = await finished(client.app[KERNEL].storage, (await resp.json())["trace_id"])
    trace = await (await client.get(f"/api/v1/data/traces/{row['id']}")).json()
    profile = trace["message"]["_orion"]["profile"]
    assert profile["version"] == 1 and profile["workflow_total_ms"] >= 0
    assert [step["task_id"] for step in trace["task_trace_json"]["steps"]] == ["p"]
    row = await finished(client.app[KERNEL].storage, (await plain.json())["trace_id"])
    trace = await (await client.get(f"/api/v1/data/traces/{row['id']}")).json()
    assert "_orion" not in trace["message"] and trace["task_trace_json"]["steps"]
