"""CORS through the server: the global ``[cors]`` layer (permissive and allow-list, preflights on
every path, before admin authentication) and the channel ``cors`` block (403 on name and REST
routes, channel_call), over the in-process server and once over a real socket."""
from __future__ import annotations

import logging

import aiohttp
import pytest

from orion_kernel.testing import orion_server, provision
from tests.integration.governance.stateless_support import (
    ECHO,
    SECURITY_HEADERS,
    SHAPE,
    assert_error,
    channel,
    create_channel_error,
    rest,
    send,
    task,
    workflow,
)

APP = "https://app.example.com"
EVIL = "https://evil.example.com"
METHODS = "GET, POST, PUT, PATCH, DELETE"
HEADERS = "content-type, authorization, accept, x-api-key, idempotency-key, x-request-id, x-orion-profile"
EXPOSED = "x-request-id, retry-after, ratelimit, ratelimit-policy, idempotent-replayed, x-cache"
ALLOW_LIST = {"cors": {"allowed_origins": [APP, "https://App2.Example.com", "app3.example.com", "https://x.example/path", "*"]}}


async def preflight(client, path, origin, method="POST", headers=None):
    sent = {"Origin": origin, "Access-Control-Request-Method": method, **({"Access-Control-Request-Headers": headers} if headers else {})}
    resp = await client.options(path, headers=sent)
    assert resp.status == 204, await resp.text()
    assert await resp.read() == b""
    assert resp.headers["x-request-id"]
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers[name] == value
    return resp.headers


def vary(headers):
    return [v.strip().lower() for v in headers.get("Vary", "").split(",") if v.strip()]


async def test_default_is_fully_permissive(orion_client, caplog):
    client = await orion_client(workflows=[ECHO], channels=[channel("orders"), channel("closed", config={"backpressure": {"max_concurrent": 0}})])
    status, body, headers = await send(client, "orders", {"a": 1}, headers={"Origin": "https://anyone.example"})
    assert status == 200 and body["data"]["ran"] is True
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Expose-Headers"] == EXPOSED
    _, _, headers = await send(client, "orders", {"a": 1})
    assert "Access-Control-Allow-Origin" not in headers and "Vary" not in headers  # no Origin: nothing added

    out = await preflight(client, "/api/v1/data/orders", "https://anyone.example", "DELETE", "content-type, x-custom")
    assert out["Access-Control-Allow-Origin"] == "*"
    assert out["Access-Control-Allow-Methods"] == "DELETE"
    assert out["Access-Control-Allow-Headers"] == "content-type, x-custom"
    assert out["Access-Control-Max-Age"] == "600"
    # a preflight never reaches a channel: a channel refusing everything still gets its 204
    await preflight(client, "/api/v1/data/closed", "https://anyone.example")
    with caplog.at_level(logging.INFO, "orion.access"):
        await preflight(client, "/no/such/path", "https://anyone.example")
    [logged] = [r for r in caplog.records if r.name == "orion.access"]
    assert (logged.method, logged.status, logged.route) == ("OPTIONS", 204, "/no/such/path")  # preflights are logged too
    # the answer to an actual request carries the headers even when it is an error
    status, body, headers = await send(client, "closed", headers={"Origin": "https://anyone.example"})
    assert status == 503 and headers["Access-Control-Allow-Origin"] == "*"


async def test_an_allow_list_names_origins_and_ignores_invalid_entries(orion_client, caplog):
    with caplog.at_level(logging.WARNING, "orion.http.cors"):
        client = await orion_client(workflows=[ECHO], channels=[channel("orders")], config=ALLOW_LIST)
    ignored = [r.getMessage() for r in caplog.records if r.name == "orion.http.cors"]
    assert len(ignored) == 3
    assert any("'app3.example.com' is ignored" in m for m in ignored)
    assert any("'https://x.example/path' is ignored" in m and "did you mean 'https://x.example'" in m for m in ignored)
    assert any("'*' is ignored" in m for m in ignored)

    for origin in (APP, "https://app2.example.com"):
        status, _, headers = await send(client, "orders", headers={"Origin": origin})
        assert status == 200
        assert headers["Access-Control-Allow-Origin"] == origin
        assert headers["Access-Control-Expose-Headers"] == EXPOSED
        assert "origin" in vary(headers)
    # another origin is still served (no channel rule) but gets no CORS headers: the browser withholds it
    status, _, headers = await send(client, "orders", headers={"Origin": EVIL})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers and "origin" in vary(headers)
    _, _, headers = await send(client, "orders")
    assert "Access-Control-Allow-Origin" not in headers and vary(headers) == ["origin"]

    out = await preflight(client, "/api/v1/data/orders", APP, "PATCH", "x-api-key")
    assert (out["Access-Control-Allow-Origin"], out["Access-Control-Allow-Methods"], out["Access-Control-Allow-Headers"]) == (
        APP, METHODS, HEADERS)
    assert "origin" in vary(out)
    out = await preflight(client, "/api/v1/data/orders", EVIL)
    assert not [name for name in out if name.lower().startswith("access-control-allow")]


async def test_preflights_to_the_admin_api_are_answered_before_authentication(orion_client):
    client = await orion_client(config={"admin_auth": {"enabled": True, "api_key": "secret"}, **ALLOW_LIST})
    out = await preflight(client, "/api/v1/admin/workflows", APP, "POST", "authorization, content-type")
    assert out["Access-Control-Allow-Origin"] == APP and "authorization" in out["Access-Control-Allow-Headers"]
    resp = await client.get("/api/v1/admin/workflows", headers={"Origin": APP})
    assert resp.status == 401
    assert resp.headers["Access-Control-Allow-Origin"] == APP  # the browser may read why it was refused
    resp = await client.get("/api/v1/admin/workflows", headers={"Origin": APP, "Authorization": "Bearer secret"})
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == APP


async def test_channel_origins_refuse_others_on_name_and_rest_routes(orion_client):
    client = await orion_client(workflows=[ECHO], channels=[
        rest("cors-ch", "/cors/{id}", config={"cors": {"allowed_origins": [APP], "allowed_methods": ["POST"]}}),
        channel("open", config={"cors": {"allowed_origins": []}})])
    for path in ("cors-ch", "cors/1"):
        status, body, headers = await send(client, path, headers={"Origin": APP})
        assert status == 200 and body["data"]["ran"] is True
        assert (await send(client, path))[0] == 200  # no Origin: server to server
        status, body, headers = await send(client, path, headers={"Origin": EVIL})
        assert_error(status, body, headers, 403, "FORBIDDEN", f"Origin '{EVIL}' is not allowed for channel 'cors-ch'")
        assert headers["Access-Control-Allow-Origin"] == "*"  # the global layer is permissive here
    assert (await send(client, "open", headers={"Origin": EVIL}))[0] == 200  # [] restricts nothing
    await preflight(client, "/api/v1/data/cors-ch", EVIL)  # preflights are the global layer's


async def test_a_channel_call_carries_the_callers_origin_into_the_check(orion_client):
    caller = workflow("caller", {**task("call", "channel_call", channel="cors-ch"), "continue_on_error": True})
    client = await orion_client(workflows=[ECHO, caller], channels=[
        channel("cors-ch", config={"cors": {"allowed_origins": [APP]}}), channel("entry", "caller")])
    status, body, _ = await send(client, "entry", headers={"Origin": APP})
    assert status == 200 and body["errors"] == [] and body["data"]["ran"] is True
    status, body, _ = await send(client, "entry", headers={"Origin": EVIL})
    [error] = body["errors"]
    assert error["message"] == ("Task call error: Function execution error: channel_call to 'cors-ch' was refused: "
                                f"FORBIDDEN: Origin '{EVIL}' is not allowed for channel 'cors-ch'")


@pytest.mark.parametrize(("block", "detail"), [
    ({"allowed_origins": "*"}, "cors.allowed_origins: Not a valid list."),
    ({"allowed_origins": [APP, 5]}, "cors.allowed_origins.1: Not a valid string."),
    ({"origins": [APP]}, "cors.origins: Unknown field."),
    ("*", "cors: Invalid input type."),
])
async def test_bad_blocks_are_refused_at_create(orion_client, block, detail):
    client = await orion_client()
    details = await create_channel_error(client, channel("x", config={"cors": block}))
    assert details == [{"path": "channel.config", "code": "INVALID", "message": SHAPE + detail}]


@pytest.mark.integration
async def test_over_a_real_socket(tmp_path):
    config = {"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}, "server": {"shutdown_drain_secs": 1},
              "cors": {"allowed_origins": [APP]}}
    async with orion_server(config, tmp_path) as server, aiohttp.ClientSession(server.url) as http:
        await provision(http, [ECHO], [rest("cors-ch", "/cors/{id}", config={"cors": {"allowed_origins": [APP]}})])
        async with http.options("/api/v1/data/cors/1", headers={"Origin": APP, "Access-Control-Request-Method": "POST"}) as resp:
            assert resp.status == 204
            assert (resp.headers["Access-Control-Allow-Origin"], resp.headers["Access-Control-Allow-Methods"]) == (APP, METHODS)
            assert resp.headers["X-Frame-Options"] == "DENY"
        async with http.post("/api/v1/data/cors/1", json={"data": {}}, headers={"Origin": APP}) as resp:
            assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == APP
        async with http.post("/api/v1/data/cors/1", json={"data": {}}, headers={"Origin": EVIL}) as resp:
            body = await resp.json()
            assert resp.status == 403 and body["error"]["code"] == "FORBIDDEN"
            assert "Access-Control-Allow-Origin" not in resp.headers
