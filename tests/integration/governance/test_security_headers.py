"""Security headers (api-data.md §9) and a request id on every kind of answer: data, admin, health,
API docs, preflights, and errors from 400 to 504 including policy refusals."""
from __future__ import annotations

import asyncio

import orjson

from orion_kernel.http.keys import KERNEL
from tests.integration.governance.stateless_support import (
    ECHO,
    HOLD_WORKFLOW,
    JSON,
    SECURITY_HEADERS,
    Hold,
    channel,
)

REQUEST_ID = "sec-hdr-1"


def check(resp, status):
    assert resp.status == status, (resp.method, resp.url)
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers[name] == value, (name, resp.url)
    assert resp.headers["x-request-id"] == REQUEST_ID
    assert "Strict-Transport-Security" not in resp.headers  # only over TLS


async def test_every_answer_carries_the_security_headers(orion_client):
    hold = Hold()
    client = await orion_client(plugins=[hold.plugin()], config={"ingest": {"max_payload_size": 1024}}, workflows=[ECHO, HOLD_WORKFLOW], channels=[
        channel("orders"),
        channel("limited", config={"rate_limit": {"requests_per_second": 1, "burst": 1}}),
        channel("closed", config={"backpressure": {"max_concurrent": 0}}),
        channel("strict", config={"validation_logic": False, "cors": {"allowed_origins": ["https://app.example.com"]}}),
        channel("slow", "held", config={"timeout_ms": 20}),
    ])
    hdrs = {"x-request-id": REQUEST_ID}
    body = orjson.dumps({"data": {}})

    async def expect(method, path, status, data=body, headers=None):
        async with client.request(method, path, data=data, headers={**JSON, **hdrs, **(headers or {})}) as resp:
            await resp.read()
            check(resp, status)

    await expect("POST", "/api/v1/data/orders", 200)
    await expect("GET", "/api/v1/data/traces", 200, data=None)
    await expect("POST", "/api/v1/data/nope", 404)
    await expect("GET", "/no/such/path", 404, data=None)
    await expect("POST", "/api/v1/data/orders", 400, data=b"{")
    await expect("POST", "/api/v1/data/orders", 415, headers={"Content-Type": "text/plain"})
    await expect("POST", "/api/v1/data/orders", 413, data=orjson.dumps({"data": "x" * 2048}))
    await expect("DELETE", "/api/v1/data/traces", 405, data=None)
    await expect("POST", "/api/v1/data/strict", 400)
    await expect("POST", "/api/v1/data/strict", 403, headers={"Origin": "https://evil.example.com"})
    await expect("POST", "/api/v1/data/limited", 200)
    await expect("POST", "/api/v1/data/limited", 429)
    await expect("POST", "/api/v1/data/closed", 503)
    await expect("POST", "/api/v1/data/slow", 504)
    await expect("GET", "/api/v1/admin/workflows", 200, data=None)
    await expect("POST", "/api/v1/admin/workflows", 400, data=b"[]")
    await expect("GET", "/api/v1/admin/workflows/none", 404, data=None)
    for path in ("/health", "/healthz", "/readyz", "/api/v1/openapi.json"):
        await expect("GET", path, 200, data=None)
    await expect("OPTIONS", "/api/v1/data/orders", 204, data=None,
                 headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    kernel = client.app[KERNEL]
    kernel.ready = False  # as during a shutdown drain
    try:
        await expect("GET", "/readyz", 503, data=None)
    finally:
        kernel.ready = True
    hold.release.set()
    await asyncio.sleep(0)


async def test_admin_refusals_carry_them_too(orion_client):
    client = await orion_client(config={"admin_auth": {"enabled": True, "api_key": "k"}})
    async with client.get("/api/v1/admin/workflows", headers={"x-request-id": REQUEST_ID}) as resp:
        check(resp, 401)
