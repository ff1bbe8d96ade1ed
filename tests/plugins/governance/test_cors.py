"""The channel ``cors`` policy on its own: which origins a channel refuses."""
from __future__ import annotations

import pytest

from orion_builtins.governance import cors
from orion_kernel import ApiError, Message
from orion_kernel.governance import ALL_INGRESS, INGRESS_CALL, INGRESS_SYNC, ChannelRequest, PolicyConfigError, Reply

APP = "https://app.example.com"


def bind(**block):
    return cors.bind(block, None, "cors-ch")


def request(origin=None, ingress=INGRESS_SYNC) -> ChannelRequest:
    headers = {"content-type": "application/json"}
    if origin is not None:
        headers["origin"] = origin
    return ChannelRequest("cors-ch", ingress, Message({}, {"headers": headers}), "rid", client_ip="127.0.0.1")


async def ok(req: ChannelRequest) -> Reply:
    return Reply(200, b"{}")


async def test_a_listed_origin_and_no_origin_pass_another_origin_gets_403():
    policy = bind(allowed_origins=[APP, "http://localhost:3000"])
    assert (await policy(request(APP), ok)).status == 200
    assert (await policy(request("http://localhost:3000"), ok)).status == 200
    assert (await policy(request(), ok)).status == 200
    with pytest.raises(ApiError) as info:
        await policy(request("https://evil.example.com"), ok)
    assert (info.value.status, info.value.code, info.value.message) == (
        403, "FORBIDDEN", "Origin 'https://evil.example.com' is not allowed for channel 'cors-ch'")


async def test_the_match_is_exact():
    policy = bind(allowed_origins=[APP])
    for origin in (APP + "/", "http://app.example.com", "https://app.example.com:8443", "https://sub.app.example.com"):
        with pytest.raises(ApiError):
            await policy(request(origin), ok)


def test_absent_empty_or_wildcard_origins_bind_nothing():
    assert bind() is None
    assert bind(allowed_origins=None) is None
    assert bind(allowed_origins=[]) is None
    assert bind(allowed_origins=["*"]) is None
    assert bind(allowed_origins=[APP, "*"]) is None
    assert bind(allowed_methods=["GET"], allowed_headers=["x-api-key"]) is None


@pytest.mark.parametrize(("block", "problems"), [
    ({"allowed_origins": "*"}, [("allowed_origins", "Not a valid list.")]),
    ({"allowed_origins": [1]}, [("allowed_origins.0", "Not a valid string.")]),
    ({"allowed_methods": "GET"}, [("allowed_methods", "Not a valid list.")]),
    ({"allow_credentials": True}, [("allow_credentials", "Unknown field.")]),
])
def test_bad_blocks(block, problems):
    with pytest.raises(PolicyConfigError) as info:
        cors.bind(block, None, "cors-ch")
    assert info.value.problems == problems


def test_a_block_must_be_an_object():
    with pytest.raises(PolicyConfigError) as info:
        cors.bind(["https://a"], None, "cors-ch")
    assert info.value.problems == [("", "Invalid input type.")]


async def test_a_channel_call_carrying_the_callers_origin_is_checked_too():
    [policy_type] = cors.orion_channel_policies()
    assert policy_type.ingress == ALL_INGRESS and policy_type.order == 200
    with pytest.raises(ApiError):
        await bind(allowed_origins=[APP])(request("https://evil.example.com", INGRESS_CALL), ok)
