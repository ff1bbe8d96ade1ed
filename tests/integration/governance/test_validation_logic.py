"""``validation_logic`` through the server: body, header, query and path-parameter rules on name and
REST routes, 400s in the envelope, channel_call into a validated channel, bad rules refused."""
from __future__ import annotations

import pytest

from tests.integration.governance.stateless_support import (
    ECHO,
    assert_error,
    channel,
    create_channel_error,
    rest,
    send,
    task,
    workflow,
)

SPEC_RULE = {"and": [{"!!": {"var": "data.order_id"}}, {">": [{"var": "data.quantity"}, 0]}]}
FAILED = "Input validation failed"


async def test_the_spec_rule_on_name_and_rest_routes(orion_client):
    client = await orion_client(workflows=[ECHO], channels=[
        rest("orders", "/shop/orders", methods=["POST", "PUT"], config={"validation_logic": SPEC_RULE})])
    for path in ("orders", "shop/orders"):
        status, body, _ = await send(client, path, {"order_id": "ORD-1", "quantity": 5})
        assert status == 200 and body["data"]["ran"] is True
        assert_error(*await send(client, path, {"quantity": 5}), 400, "BAD_REQUEST", FAILED)
        assert_error(*await send(client, path, {"order_id": "ORD-2", "quantity": 0}), 400, "BAD_REQUEST", FAILED)
    assert_error(*await send(client, "shop/orders", {}, method="PUT"), 400, "BAD_REQUEST", FAILED)


async def test_headers_query_and_path_parameters_in_both_spellings(orion_client):
    rule = {"and": [
        {"==": [{"var": "headers.x-api-key"}, "k1"]}, {"==": [{"var": "metadata.headers.x-api-key"}, "k1"]},
        {"==": [{"var": "query.page"}, "2"]}, {"==": [{"var": "metadata.query.page"}, "2"]},
        {"==": [{"var": "path.id"}, "42"]}, {"==": [{"var": "metadata.params.id"}, "42"]},
    ]}
    client = await orion_client(workflows=[ECHO], channels=[
        rest("items", "/items/{id}", methods=["GET", "POST"], config={"validation_logic": rule})])
    good = {"x-api-key": "k1"}
    assert (await send(client, "items/42?page=2", headers=good))[0] == 200
    assert (await send(client, "items/42?page=2", method="GET", headers=good))[0] == 200
    for path, headers in (("items/42?page=2", {"x-api-key": "k2"}), ("items/42?page=3", good), ("items/41?page=2", good),
                          ("items/42", good)):
        assert_error(*await send(client, path, headers=headers), 400, "BAD_REQUEST", FAILED)


async def test_an_evaluation_error_names_the_problem(orion_client):
    client = await orion_client(workflows=[ECHO], channels=[
        channel("sums", config={"validation_logic": {">": [{"+": [1, {"var": "data.n"}]}, 0]}})])
    assert (await send(client, "sums", {"n": 2}))[0] == 200
    status, body, headers = await send(client, "sums", {"n": "x"})
    assert status == 400 and body["error"]["code"] == "BAD_REQUEST"
    assert body["error"]["message"].startswith("Input validation error: ") and "NaN" in body["error"]["message"]


async def test_a_channel_call_into_a_validated_channel_is_refused_with_a_clear_message(orion_client):
    strict = workflow("strict-wf", task("noop", "map", mappings=[{"path": "data.checked", "logic": True}]))
    caller = workflow("caller", {**task("call", "channel_call", channel="strict"),
                                 "continue_on_error": True})
    aborting = workflow("aborting", task("call", "channel_call", channel="strict"))
    client = await orion_client(workflows=[strict, caller, aborting], channels=[
        channel("strict", "strict-wf", config={"validation_logic": SPEC_RULE}),
        channel("entry", "caller"), channel("entry-abort", "aborting")])
    status, body, _ = await send(client, "entry", {"order_id": "A", "quantity": 1})
    assert status == 200 and body["errors"] == [] and body["data"] == {"checked": True}
    status, body, _ = await send(client, "entry", {"quantity": 1})
    assert status == 200
    [error] = body["errors"]
    assert error["code"] == "TASK_ERROR" and error["task_id"] == "call"
    assert error["message"] == ("Task call error: Function execution error: channel_call to 'strict' was refused: "
                                "BAD_REQUEST: Input validation failed")
    status, body, headers = await send(client, "entry-abort", {"quantity": 1})
    assert_error(status, body, headers, 500, "ENGINE_ERROR", "An internal engine error occurred")


@pytest.mark.parametrize("rule", [{"and": [{"nope": 1}]}, {"order_id": {"var": "data.order_id"}}])
async def test_a_rule_that_does_not_compile_is_refused_at_create(orion_client, rule):
    client = await orion_client()
    [detail] = await create_channel_error(client, channel("x", config={"validation_logic": rule}))
    assert (detail["path"], detail["code"]) == ("channel.config.validation_logic", "INVALID")
    assert detail["message"].startswith("validation_logic does not compile: ")
