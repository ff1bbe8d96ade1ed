"""The ``validation_logic`` policy on its own: compile at bind, the context it evaluates, 400s."""
from __future__ import annotations

import logging

import pytest

from orion_builtins.governance import validation_logic
from orion_kernel import ApiError, Message
from orion_kernel.governance import ALL_INGRESS, INGRESS_SYNC, ChannelRequest, PolicyConfigError, PolicySetup, Reply
from orion_kernel.testing import default_expression_engine, in_memory_config

SPEC_RULE = {"and": [{"!!": {"var": "data.order_id"}}, {">": [{"var": "data.quantity"}, 0]}]}
SETUP = PolicySetup(default_expression_engine(), in_memory_config(), None, None)  # type: ignore[arg-type]


def bind(rule):
    return validation_logic.bind(rule, SETUP, "orders")


def request(payload, **metadata) -> ChannelRequest:
    return ChannelRequest("orders", INGRESS_SYNC, Message(payload, metadata), "rid", client_ip="127.0.0.1")


async def ok(req: ChannelRequest) -> Reply:
    return Reply(200, b"{}")


async def outcome(rule, payload, **metadata):
    try:
        return (await bind(rule)(request(payload, **metadata), ok)).status
    except ApiError as exc:
        return exc.status, exc.code, exc.message


async def test_spec_example():
    assert await outcome(SPEC_RULE, {"order_id": "ORD-1", "quantity": 5}) == 200
    assert await outcome(SPEC_RULE, {"quantity": 5}) == (400, "BAD_REQUEST", "Input validation failed")
    assert await outcome(SPEC_RULE, {"order_id": "ORD-2", "quantity": 0}) == (400, "BAD_REQUEST", "Input validation failed")


@pytest.mark.parametrize(("result", "passes"), [
    (False, False), (None, False), (0, False), (0.0, False), ("", False), ([], False),
    (True, True), ({}, True), ("x", True), (1, True), (-1, True), ([0], True), ({"a": 1}, True),
])
def test_truthiness(result, passes):
    assert validation_logic.passes(result) is passes


async def test_metadata_and_the_top_level_aliases():
    metadata = {"http_method": "POST", "params": {"id": "42"}, "query": {"page": "2"},
                "headers": {"x-api-key": "k1"}, "source": "caller"}
    for rule in (
        {"==": [{"var": "metadata.headers.x-api-key"}, "k1"]}, {"==": [{"var": "headers.x-api-key"}, "k1"]},
        {"==": [{"var": "metadata.query.page"}, "2"]}, {"==": [{"var": "query.page"}, "2"]},
        {"==": [{"var": "metadata.params.id"}, "42"]}, {"==": [{"var": "path.id"}, "42"]},
        {"==": [{"var": "metadata.source"}, "caller"]}, {"==": [{"var": "metadata.http_method"}, "POST"]},
    ):
        assert await outcome(rule, {}, **metadata) == 200, rule
        assert await outcome({"!": rule}, {}, **metadata) == (400, "BAD_REQUEST", "Input validation failed"), rule


async def test_missing_metadata_parts_read_as_absent():
    assert await outcome({"!": {"var": "query.page"}}, {"a": 1}) == 200
    assert await outcome({"!": {"var": "path.id"}}, {"a": 1}, headers={}) == 200


async def test_an_evaluation_error_is_a_400_with_the_detail(caplog):
    with caplog.at_level(logging.WARNING, "orion.governance.validation_logic"):
        status, code, message = await outcome({"+": [1, {"var": "data.n"}]}, {"n": "x"})
    assert (status, code) == (400, "BAD_REQUEST")
    assert message.startswith("Input validation error: ") and "NaN" in message
    assert "channel 'orders': validation_logic failed to evaluate" in caplog.text


def test_a_rule_that_does_not_compile_is_reported_at_its_path():
    with pytest.raises(PolicyConfigError) as info:
        bind({"and": [{"nope": 1}]})
    assert info.value.at_path
    [(sub, text)] = info.value.problems
    assert sub == "" and "unknown operator `nope`" in text


def test_an_object_that_is_not_an_operator_is_not_a_template_here():
    with pytest.raises(PolicyConfigError):
        bind({"order_id": {"var": "data.order_id"}})


async def test_constant_rules():
    assert bind(True) is None and bind({}) is None and bind(1) is None  # always passes: nothing to run
    assert await outcome(False, {}) == (400, "BAD_REQUEST", "Input validation failed")
    assert await outcome(0, {}) == (400, "BAD_REQUEST", "Input validation failed")


def test_it_applies_on_every_ingress_path():
    [policy] = validation_logic.orion_channel_policies()
    assert policy.ingress == ALL_INGRESS
    assert (policy.config_key, policy.order) == ("validation_logic", 300)
