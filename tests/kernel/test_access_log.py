"""The access log: one ``orion.access`` event per request (config-and-ops.md §3.12)."""
from __future__ import annotations

import logging


async def test_every_request_writes_one_access_event(orion_client, caplog):
    client = await orion_client()
    caplog.set_level(logging.INFO, logger="orion.access")
    ok = await client.get("/healthz", headers={"x-request-id": "req-1"})
    missing = await client.get("/api/v1/admin/workflows/nope")
    events = [r for r in caplog.records if r.name == "orion.access"]
    assert len(events) == 2
    first, second = events
    assert (first.request_id, first.method, first.route, first.status) == ("req-1", "GET", "/healthz", 200)
    assert first.content_length == int(ok.headers["Content-Length"])
    assert isinstance(first.duration_ms, float) and first.duration_ms >= 0
    assert (second.route, second.status) == ("/api/v1/admin/workflows/{id}", 404)
    assert second.request_id == missing.headers["x-request-id"]
