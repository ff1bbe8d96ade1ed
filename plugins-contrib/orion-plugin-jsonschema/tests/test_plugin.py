"""``json_schema`` as the kernel runs it: input loading, recorded errors, and a real kernel."""
from __future__ import annotations

import pytest

import orion_plugin_jsonschema
from orion_kernel import TaskError, TaskFunction
from orion_kernel.testing import run_task

ORDER = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string"}, "total": {"type": "number", "minimum": 0}},
}


@pytest.fixture
def json_schema() -> TaskFunction:
    (fn,) = orion_plugin_jsonschema.orion_task_functions()
    return fn


async def test_a_valid_document_succeeds(json_schema):
    ctx, result = await run_task(json_schema, {"schema": ORDER}, data={"id": "A1", "total": 3})
    assert result is None
    assert ctx.message.errors == []


async def test_each_violation_is_recorded_and_the_task_returns_400(json_schema):
    ctx, result = await run_task(json_schema, {"schema": ORDER, "source": "data.order"}, data={"order": {"total": -5}})
    assert result == 400
    assert [(e["code"], e["message"], e["path"]) for e in ctx.message.errors] == [
        ("VALIDATION_ERROR", "data.order: 'id' is a required property", "data.order"),
        ("VALIDATION_ERROR", "data.order.total: -5 is less than the minimum of 0", "data.order.total"),
    ]
    assert "workflow_id" not in ctx.message.errors[0]  # like `validation`: no location
    assert ctx.changes == []  # never writes to the message


async def test_message_prefixes_every_error(json_schema):
    task_input = {"schema": ORDER, "source": "temp_data.order", "message": "Invalid order"}
    ctx, result = await run_task(json_schema, task_input, temp_data={"order": {"id": 7}})
    assert result == 400
    assert [e["message"] for e in ctx.message.errors] == ["Invalid order: temp_data.order.id: 7 is not of type 'string'"]


async def test_a_missing_source_is_checked_as_null(json_schema):
    ctx, result = await run_task(json_schema, {"schema": ORDER, "source": "data.nothing"}, data={})
    assert result == 400
    assert ctx.message.errors[0]["message"] == "data.nothing: None is not of type 'object'"


@pytest.mark.parametrize(
    ("task_input", "expected"),
    [
        ({}, "function.input.schema: REQUIRED: config for function 'json_schema': missing field 'schema'"),
        ({"schema": []}, "function.input.schema: TYPE_MISMATCH: config for function 'json_schema': field 'schema' must be"),
        (
            {"schema": {"properties": {"total": {"minimum": "zero"}}}},
            "function.input.schema.properties.total.minimum: INVALID: config for function 'json_schema': "
            "invalid JSON Schema at schema.properties.total.minimum: 'zero' is not of type 'number'",
        ),
    ],
)
async def test_bad_input_is_refused_when_the_workflow_loads(json_schema, task_input, expected):
    with pytest.raises(ValueError) as caught:
        await run_task(json_schema, task_input)
    assert str(caught.value).startswith(expected)


async def test_the_schema_is_compiled_once_when_the_input_loads():
    params = orion_plugin_jsonschema.JsonSchemaInput().load({"schema": ORDER})
    assert params["validator"].is_valid({"id": "A1"})
    assert not params["validator"].is_valid({})


async def test_an_unresolvable_reference_fails_the_task(json_schema):
    _, result = await run_task(json_schema, {"schema": {"$ref": "https://example.com/order.json"}}, data={})
    assert isinstance(result, TaskError)
    assert "'https://example.com/order.json' cannot be resolved" in str(result)


ORDERS_WORKFLOW = {
    "workflow_id": "orders",
    "name": "Orders",
    "channel": "orders",  # orion_client creates a channel of that name (POST /orders)
    "tasks": [
        {"id": "parse", "name": "Parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": "order"}}},
        {"id": "check", "name": "Check", "function": {"name": "json_schema", "input": {"schema": ORDER, "source": "data.order"}}},
        {"id": "after", "name": "After", "function": {"name": "map", "input": {"mappings": [{"path": "data.checked", "logic": True}]}}},
    ],
}


async def test_a_kernel_holding_only_this_plugin_reports_violations_and_goes_on(orion_client):
    client = await orion_client(plugins=[orion_plugin_jsonschema], workflows=[ORDERS_WORKFLOW])

    resp = await client.post("/api/v1/data/orders", json={"data": {"id": "A1", "total": -5}})
    assert resp.status == 200
    body = await resp.json()
    assert body["data"]["checked"] is True  # the 400 outcome does not stop the workflow
    assert [(e["code"], e["message"], e["path"]) for e in body["errors"]] == [
        ("VALIDATION_ERROR", "data.order.total: -5 is less than the minimum of 0", "data.order.total"),
    ]

    resp = await client.post("/api/v1/data/orders", json={"data": {"id": "A2", "total": 5}})
    assert (await resp.json())["errors"] == []
