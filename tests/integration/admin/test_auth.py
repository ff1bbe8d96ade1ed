"""Admin authentication (api-admin.md §2): bearer or custom header, several keys, 401 in the envelope."""
from __future__ import annotations

import pytest

from orion_kernel.http.admin_auth import AdminAuth
from tests.integration.admin.conftest import ADMIN, WF, workflow

KEY = "s3cretkey-0123456789"
OLD_KEY = "old-key-kept-for-rotation"


@pytest.fixture
async def bearer(make_admin):
    return await make_admin(config={"admin_auth": {"enabled": True, "api_key": KEY, "api_keys": [OLD_KEY, ""]}})


async def test_bearer_keys_open_the_admin_api_and_name_the_principal(bearer):
    await bearer.call("POST", WF, workflow("wf-1"), status=201, headers={"Authorization": f"Bearer {KEY}"})
    await bearer.call("PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200, headers={"Authorization": f"bearer {OLD_KEY}"})
    assert [(e["action"], e["principal"]) for e in await bearer.audit()] == [("create", "s3cretke..."), ("status_active", "old-key-...")]


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "Missing Authorization header"),
    ({"Authorization": KEY}, "Authorization header must use 'Bearer <token>' format"),
    ({"Authorization": f"Basic {KEY}"}, "Authorization header must use 'Bearer <token>' format"),
    ({"Authorization": "Bearer wrong"}, "Invalid API key"),
    ({"Authorization": "Bearer "}, "Invalid API key"),
    ({"Authorization": f"Bearer {KEY}x"}, "Invalid API key"),
    ({"X-API-Key": KEY}, "Missing Authorization header"),
])
async def test_refusals(bearer, headers, message):
    async with bearer.unchanged():
        for method, path, body in (("GET", WF, None), ("POST", WF, workflow()), ("DELETE", f"{WF}/wf-1", None),
                                   ("GET", f"{ADMIN}/no-such-route", None), ("GET", "/metrics", None)):
            err = await bearer.error(method, path, body, status=401, code="UNAUTHORIZED", headers=headers)
            assert err["message"] == message
    resp = await bearer.client.get(WF, headers=headers)
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="orion-admin"'


async def test_the_data_api_and_probes_need_no_key(bearer):
    await bearer.call("POST", WF, workflow("wf-1", channel="orders"), status=201, headers={"Authorization": f"Bearer {KEY}"})
    await bearer.call("PATCH", f"{WF}/wf-1/status", {"status": "active"}, status=200, headers={"Authorization": f"Bearer {KEY}"})
    await bearer.error("POST", "/api/v1/data/orders", {"data": {}}, status=404, code="NOT_FOUND")  # no channel yet, but no 401
    for path in ("/health", "/healthz", "/readyz"):
        assert (await bearer.client.get(path)).status == 200


async def test_a_custom_header_carries_the_raw_key(make_admin):
    admin = await make_admin(config={"admin_auth": {"enabled": True, "api_keys": [KEY], "header": "X-API-Key"}})
    await admin.call("GET", WF, status=200, headers={"x-api-key": KEY})
    err = await admin.error("GET", WF, status=401, code="UNAUTHORIZED", headers={"Authorization": f"Bearer {KEY}"})
    assert err["message"] == "Missing X-API-Key header"
    err = await admin.error("GET", WF, status=401, code="UNAUTHORIZED", headers={"X-API-Key": f"Bearer {KEY}"})
    assert err["message"] == "Invalid API key"
    resp = await admin.client.get(WF)
    assert "WWW-Authenticate" not in resp.headers


async def test_without_auth_everything_is_anonymous(admin):
    await admin.call("POST", WF, workflow(), status=201, headers={"Authorization": "Bearer anything"})
    assert [e["principal"] for e in await admin.audit()] == ["anonymous"]


def test_auth_needs_a_key():
    with pytest.raises(ValueError, match="at least one non-empty key"):
        AdminAuth(["", "  "])
    assert AdminAuth.from_config({"enabled": False, "api_key": "", "api_keys": [], "header": "Authorization"}) is None
