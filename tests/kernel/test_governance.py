"""The policy chain: binding blocks, chain order per ingress path, checks at create time."""
from __future__ import annotations

import logging

import pytest
from marshmallow import Schema, fields

from orion_kernel import ApiError, Message
from orion_kernel.governance import (
    INGRESS_ASYNC,
    INGRESS_SYNC,
    ChannelPolicy,
    ChannelRequest,
    ClientAddress,
    PolicyCatalog,
    PolicyConfigError,
    PolicySetup,
    Reply,
    load_block,
)
from orion_kernel.governance.catalog import compose
from orion_kernel.testing import default_expression_engine, in_memory_config
from orion_builtins.stores.memory import MemoryStore


class TagBlock(Schema):
    tag = fields.String(required=True)


def tagging(name: str, order: int, ingress=frozenset({INGRESS_SYNC, INGRESS_ASYNC}), **extra) -> ChannelPolicy:
    """A policy that appends ``<tag>`` to a list in temp_data, then proceeds."""

    def bind(block, setup, channel):
        if block is None:
            return None
        tag = load_block(TagBlock(), block)["tag"]

        async def policy(request: ChannelRequest, proceed):
            request.message.context["temp_data"].setdefault("seen", []).append(tag)
            return await proceed(request)

        return policy

    return ChannelPolicy(name=name, config_key=name, order=order, bind=bind, ingress=ingress, **extra)


def catalog(*policies: ChannelPolicy) -> PolicyCatalog:
    store = MemoryStore()
    return PolicyCatalog(policies, PolicySetup(default_expression_engine(), in_memory_config(), store, store))


def request(ingress: str = INGRESS_SYNC) -> ChannelRequest:
    return ChannelRequest("orders", ingress, Message({}), "req-1", client_ip="127.0.0.1")


async def terminal(request: ChannelRequest) -> Reply:
    return Reply(200, b"{}", message=request.message)


async def test_policies_run_in_order_whatever_the_registration_order():
    policies = catalog(tagging("second", 200), tagging("first", 100))
    bound = policies.bind("orders", {"first": {"tag": "a"}, "second": {"tag": "b"}})
    call = request()
    reply = await compose(bound[INGRESS_SYNC], terminal)(call)
    assert reply.status == 200 and call.message.context["temp_data"]["seen"] == ["a", "b"]


async def test_a_channel_without_blocks_calls_its_terminal_directly():
    policies = catalog(tagging("first", 100))
    assert policies.bind("orders", {}) == {}
    assert compose((), terminal) is terminal


def test_each_ingress_path_gets_only_the_policies_that_apply_to_it():
    policies = catalog(tagging("everywhere", 100), tagging("sync_only", 200, ingress=frozenset({INGRESS_SYNC})))
    bound = policies.bind("orders", {"everywhere": {"tag": "a"}, "sync_only": {"tag": "b"}})
    assert len(bound[INGRESS_SYNC]) == 2 and len(bound[INGRESS_ASYNC]) == 1 and "call" not in bound


async def test_a_policy_may_refuse_before_the_run():
    def bind(block, setup, channel):
        async def refuse(request, proceed):
            request.response_headers["X-Why"] = "closed"
            raise ApiError("SERVICE_UNAVAILABLE", f"Channel '{channel}' is closed")

        return refuse

    policies = catalog(ChannelPolicy(name="closed", config_key="closed", order=1, bind=bind))
    call = request()
    with pytest.raises(ApiError, match="Channel 'orders' is closed"):
        await compose(policies.bind("orders", {"closed": True})[INGRESS_SYNC], terminal)(call)
    assert call.response_headers == {"X-Why": "closed"}


def test_binds_without_block_lets_a_platform_default_apply_to_every_channel():
    async def passthrough(request, proceed):
        return await proceed(request)

    def bind(block, setup, channel):
        return passthrough if block is None else None

    policies = catalog(ChannelPolicy(name="platform", config_key="platform", order=1, bind=bind, binds_without_block=True))
    assert len(policies.bind("orders", {})[INGRESS_SYNC]) == 1
    assert policies.bind("orders", {"platform": {"own": 1}}) == {}


def test_check_reports_shape_problems_at_channel_config_and_logic_problems_at_their_path():
    def bind_logic(block, setup, channel):
        raise PolicyConfigError([("rule", "does not compile: unknown operator 'nope'")], at_path=True)

    policies = catalog(tagging("tagged", 100), ChannelPolicy(name="logic", config_key="logic", order=2, bind=bind_logic))
    errors = [e.to_json() for e in policies.check({"tagged": {"tag": 5, "x": 1}, "logic": {}, "unknown": 1})]
    assert {"path": "channel.config.logic.rule", "code": "INVALID", "message": "does not compile: unknown operator 'nope'"} in errors
    shape = sorted(e["message"] for e in errors if e["path"] == "channel.config")
    assert shape == [
        "channel.config does not match the ChannelConfig shape: tagged.tag: Not a valid string.",
        "channel.config does not match the ChannelConfig shape: tagged.x: Unknown field.",
    ]


def test_a_stored_block_that_no_longer_binds_is_skipped_with_a_warning(caplog):
    policies = catalog(tagging("tagged", 100))
    with caplog.at_level(logging.WARNING, logger="orion.governance"):
        assert policies.bind("orders", {"tagged": {"tag": 5}}) == {}
    assert "channel 'orders': config.tagged is ignored" in caplog.text


@pytest.mark.parametrize(("trusted", "peer", "headers", "client"), [
    ((), "10.0.0.5", {"x-forwarded-for": "1.2.3.4"}, "10.0.0.5"),  # no trusted proxy: headers ignored
    (("10.0.0.0/8",), "192.168.1.9", {"x-forwarded-for": "1.2.3.4"}, "192.168.1.9"),  # untrusted peer
    (("10.0.0.0/8",), "10.0.0.5", {"x-forwarded-for": "1.2.3.4"}, "1.2.3.4"),
    (("10.0.0.0/8",), "10.0.0.5", {"x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.7"}, "1.2.3.4"),  # forged left entry
    (("10.0.0.0/8",), "10.0.0.5", {"x-real-ip": " 1.2.3.4 "}, "1.2.3.4"),
    (("10.0.0.0/8",), "10.0.0.5", {}, "10.0.0.5"),
    (("::1",), "::1", {"x-forwarded-for": "2001:db8::1"}, "2001:db8::1"),
    ((), None, {}, "unknown"),
])
def test_client_address_trusts_forwarded_headers_only_from_trusted_proxies(trusted, peer, headers, client):
    assert ClientAddress(trusted).resolve(peer, headers) == client
