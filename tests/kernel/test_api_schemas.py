"""The API's marshmallow schemas: they agree with the validators, and handlers load bodies and queries with them."""
from __future__ import annotations

import pytest

from orion_kernel.config import load_config
from orion_kernel.errors import ApiError
from orion_kernel.http import api_schemas as s
from orion_kernel.http.admin_common import load_body
from orion_kernel.http.app import create_app
from orion_kernel.http.data import decode_body
from orion_kernel.kernel import Kernel
from orion_kernel.storage import CHANNEL_FIELDS, TRACE_FIELDS, WORKFLOW_FIELDS
from orion_kernel.validation import channels as channel_rules
from orion_kernel.validation import workflows as workflow_rules


@pytest.mark.parametrize(("schema", "keys"), [
    (s.WorkflowInput, workflow_rules.BODY_KEYS),
    (s.WorkflowUpdate, workflow_rules.BODY_KEYS),
    (s.Task, workflow_rules.TASK_KEYS),
    (s.TaskFunctionCall, workflow_rules.FUNCTION_KEYS),
    (s.ChannelInput, channel_rules.BODY_KEYS),
    (s.ChannelUpdate, channel_rules.BODY_KEYS),
    (s.Workflow, WORKFLOW_FIELDS),
    (s.Channel, CHANNEL_FIELDS),
    (s.TraceRow, TRACE_FIELDS),
])
def test_documented_keys_are_the_keys_the_server_accepts_or_answers(schema, keys):
    """Workflow and channel bodies keep their own validators; this keeps the documented shape equal."""
    assert set(schema().fields) == set(keys)


def test_required_fields_match_the_create_rules():
    assert {n for n, f in s.WorkflowInput().fields.items() if f.required} == {"name", "tasks"}
    assert {n for n, f in s.ChannelInput().fields.items() if f.required} == {"name"}
    assert not any(f.required for f in s.WorkflowUpdate().fields.values())
    assert not any(f.required for f in s.ChannelUpdate().fields.values())


def test_the_data_envelope_schema_matches_the_decoder():
    """The data plane decodes by hand (it is the hot path); the documented envelope says the same."""
    fields = s.DataRequest().fields
    assert {name for name, f in fields.items() if f.required} == {"data"}
    assert decode_body(b'{"data": [1], "metadata": {"a": 1}, "extra": 2}', "application/json") == ([1], {"a": 1})
    assert decode_body(b'{"data": 1, "metadata": "ignored"}', "application/json") == (1, {})
    with pytest.raises(ApiError, match="missing field `data`"):
        decode_body(b'{"metadata": {}}', "application/json")


@pytest.mark.parametrize(("query", "expected"), [
    ({}, {"limit": 50, "offset": 0}),
    ({"limit": "0", "offset": "-5"}, {"limit": 1, "offset": 0}),
    ({"limit": "5000", "offset": "7"}, {"limit": 1000, "offset": 7}),
    ({"offset": str(10**30)}, {"limit": 50, "offset": 2**63 - 1}),  # SQL OFFSET takes a 64-bit integer
])
def test_paging_is_clamped(query, expected):
    assert s.PagingQuery().load(query) == expected


@pytest.mark.parametrize(("body", "path", "message", "extra"), [
    ({"status": "paused"}, "body.status", "invalid status 'paused', expected one of: draft, active, archived",
     {"expected": ["draft", "active", "archived"], "got": "paused"}),
    ({"status": None}, "body.status", "missing field `status`", {}),
    ({"status": "active", "rollout_percentage": True}, "body.rollout_percentage",
     "invalid type: boolean, expected an integer for `rollout_percentage`", {"expected": "integer", "got": True}),
    ({"status": "active", "rollout": 5}, "body.rollout",
     "unknown field `rollout`, expected one of `status`, `rollout_percentage`", {}),
])
def test_load_body_names_the_field_the_value_and_what_was_expected(body, path, message, extra):
    with pytest.raises(ApiError) as caught:
        load_body(body, s.WorkflowStatusBody())
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.message == f"Invalid request body: {message}"
    assert [d.to_json() for d in caught.value.details] == [{"path": path, "code": "INVALID", "message": message, **extra}]


def test_load_body_returns_the_loaded_values():
    assert load_body({"status": "active", "rollout_percentage": 10}, s.WorkflowStatusBody()) == {
        "status": "active", "rollout_percentage": 10}
    assert load_body({"rollout_percentage": 100}, s.RolloutBody()) == {"rollout_percentage": 100}


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    kernel = Kernel(load_config(None, env={"ORION_STORAGE__URL": f"sqlite:{tmp_path / 'orion.db'}"}))
    await kernel.start()
    yield await aiohttp_client(create_app(kernel))
    await kernel.stop()


@pytest.mark.parametrize("path", ["/api/v1/admin/workflows", "/api/v1/admin/channels", "/api/v1/data/traces"])
async def test_a_huge_offset_is_an_empty_page_not_a_500(client, path):
    """Regression (found by tests/integration/test_openapi_fuzz.py): SQLite overflowed on offset > 2**63 - 1."""
    resp = await client.get(f"{path}?offset={10**30}")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["data"], body["offset"]) == ([], 2**63 - 1)


async def test_a_query_integer_that_does_not_parse_keeps_the_documented_error(client):
    resp = await client.get("/api/v1/data/traces?limit=ten")
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["message"] == "Invalid query string: limit: invalid digit found in string"
    assert error["details"] == [{"path": "query.limit", "code": "TYPE_MISMATCH", "message": "'limit' must be an integer",
                                 "expected": "integer", "got": "ten"}]
