"""Workflow definitions: create/update bodies → normalized content and FieldErrors."""
from __future__ import annotations

import pytest

from orion_kernel import FieldError, TaskFunction
from orion_kernel.plugins import load_plugins
from orion_kernel.validation.workflows import check_definition, validate_create, validate_update

PLUGINS = load_plugins()
FUNCTIONS = PLUGINS.functions
ENGINE = PLUGINS.expression_engine


def map_task(task_id="t1", **extra):
    return {"id": task_id, "name": f"Task {task_id}",
            "function": {"name": "map", "input": {"mappings": [{"path": "data.x", "logic": 1}]}}, **extra}


def body(**fields):
    return {"name": "Orders", "tasks": [map_task()], **fields}


def errors_of(data, functions=FUNCTIONS):
    return [e.to_json() for e in validate_create(data, functions, ENGINE)[1]]


def paths(data):
    return [e["path"] for e in errors_of(data)]


def test_minimal_body_gets_the_defaults():
    content, errors = validate_create(body(), FUNCTIONS, ENGINE)
    assert errors == []
    assert content == {
        "workflow_id": None, "name": "Orders", "description": None, "priority": 0, "condition": True,
        "tasks": [map_task()], "tags": [], "continue_on_error": False, "channel": None, "rollout_key": None,
    }


def test_nulls_on_create_mean_defaults_and_server_fields_are_ignored():
    content, errors = validate_create(body(description=None, priority=None, condition=None, tags=None,
                                           continue_on_error=None, status="active", version=7,
                                           rollout_percentage=3, created_at="x", updated_at="y"), FUNCTIONS, ENGINE)
    assert errors == []
    assert content["priority"] == 0 and content["condition"] is True and content["tags"] == []
    assert "status" not in content and "version" not in content


def test_full_body_is_kept_verbatim():
    condition = {"==": [{"var": "metadata.type"}, "order"]}
    tasks = [map_task("a", condition={">": [{"var": "data.x"}, 1]}, continue_on_error=True, description="d")]
    content, errors = validate_create(body(workflow_id="wf-1", description="desc", priority=-3, condition=condition,
                                           tasks=tasks, tags=["a", "b"], continue_on_error=True, channel="orders"),
                                      FUNCTIONS, ENGINE)
    assert errors == []
    assert content["workflow_id"] == "wf-1"
    assert content["condition"] == condition and content["tasks"] == tasks
    assert content["channel"] == "orders"


def test_id_alias_is_accepted_and_a_conflicting_pair_is_refused():
    assert validate_create(body(id="wf-9"), FUNCTIONS, ENGINE)[0]["workflow_id"] == "wf-9"
    assert validate_create(body(id="wf-9", workflow_id="wf-9"), FUNCTIONS, ENGINE)[1] == []
    assert errors_of(body(id="a", workflow_id="b")) == [
        {"path": "workflow_id", "code": "INVALID", "message": "'workflow_id' and its alias 'id' differ; send only one", "got": "b"}
    ]


@pytest.mark.parametrize("bad", ["-x", "a b", "x" * 129, "versions", 12])
def test_bad_ids_are_reported_at_workflow_id(bad):
    assert paths(body(workflow_id=bad)) == ["workflow_id"]


def test_unknown_top_level_key_is_an_error():
    assert errors_of(body(nmae="typo")) == [{"path": "nmae", "code": "INVALID", "message": "unknown field 'nmae'"}]


def test_unknown_task_and_function_keys_are_errors():
    task = map_task(conditon=True)
    task["function"]["inputs"] = {}
    assert errors_of(body(tasks=[task])) == [
        {"path": "tasks[0].conditon", "code": "INVALID", "message": "unknown field 'conditon'"},
        {"path": "tasks[0].function.inputs", "code": "INVALID", "message": "unknown field 'inputs'"},
    ]


def test_body_must_be_an_object():
    assert errors_of([1, 2]) == [{"path": "body", "code": "INVALID",
                                  "message": "invalid type: array, expected a JSON object (a workflow definition)",
                                  "expected": "object"}]


@pytest.mark.parametrize(("name", "code"), [(None, "REQUIRED"), ("", "INVALID"), ("   ", "INVALID"), (5, "TYPE_MISMATCH")])
def test_name_must_be_a_non_blank_string(name, code):
    data = body()
    if name is None:
        del data["name"]
    else:
        data["name"] = name
    [err] = errors_of(data)
    assert (err["path"], err["code"]) == ("name", code)


def test_name_and_description_limits_count_utf8_bytes():
    assert errors_of(body(name="é" * 127 + "a")) == []  # 255 bytes
    assert errors_of(body(name="é" * 128)) == [
        {"path": "name", "code": "INVALID", "message": "Name exceeds maximum length of 255 bytes (got 256)"}]
    assert errors_of(body(description="d" * 2048)) == []
    assert errors_of(body(description="d" * 2049)) == [
        {"path": "description", "code": "INVALID", "message": "Description exceeds maximum length of 2048 bytes (got 2049)"}]


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("priority", "high", "integer"), ("priority", True, "integer"), ("priority", 1.0, "integer"),
    ("tags", "a", "array"), ("continue_on_error", "yes", "boolean"), ("description", 3, "string"),
    ("channel", 3, "string"),
])
def test_wrong_types_are_type_mismatches(field, value, expected):
    [err] = errors_of(body(**{field: value}))
    assert err["path"] == field
    assert err["code"] == "TYPE_MISMATCH"
    assert err["expected"] == expected
    assert err["got"] == value


def test_priority_is_a_32_bit_integer_and_tags_hold_strings():
    assert paths(body(priority=2**31)) == ["priority"]
    assert errors_of(body(priority=-(2**31))) == []
    assert paths(body(tags=["ok", 5])) == ["tags[1]"]


def test_channel_must_be_a_usable_name():
    assert paths(body(channel="  ")) == ["channel"]
    assert paths(body(channel="x" * 256)) == ["channel"]


@pytest.mark.parametrize("condition", [True, False, None, 1, "yes", {"==": [1, 1]}, {"var": "data.x"}, [1, 2]])
def test_valid_conditions(condition):
    assert errors_of(body(condition=condition)) == []


@pytest.mark.parametrize(("condition", "detail"), [
    ({"foo": True}, "unknown operator `foo`"),
    ({"+": 1, "-": 2}, "not an operator call"),
    ({"and": [{"nope": 1}]}, "unknown operator `nope`"),
    ({"==": [1]}, "takes at least 2 arguments"),
])
def test_invalid_conditions_are_reported_with_the_engine_detail(condition, detail):
    [err] = errors_of(body(condition=condition))
    assert err["path"] == "condition"
    assert err["code"] == "INVALID"
    assert err["message"].startswith("Invalid JSONLogic in workflow condition: ")
    assert detail in err["message"]


def test_invalid_task_condition():
    [err] = errors_of(body(tasks=[map_task(condition={"foo": 1})]))
    assert err["path"] == "tasks[0].condition"
    assert err["message"].startswith("Invalid JSONLogic in task condition: unknown operator `foo`")


@pytest.mark.parametrize(("tasks", "code"), [(None, "REQUIRED"), ([], "INVALID"), ({"id": "x"}, "TYPE_MISMATCH"), ("x", "TYPE_MISMATCH")])
def test_tasks_must_be_a_non_empty_array(tasks, code):
    data = body(tasks=tasks)
    if tasks is None:
        del data["tasks"]
    [err] = errors_of(data)
    assert (err["path"], err["code"], err["message"]) == ("tasks", code, "Tasks must be a non-empty array")


def test_task_elements_ids_and_names():
    tasks = [5, {"function": {"name": "log", "input": {"message": "m"}}}, {"id": 3, "name": "", "function": {"name": "log", "input": {"message": "m"}}}]
    assert errors_of(body(tasks=tasks)) == [
        {"path": "tasks[0]", "code": "TYPE_MISMATCH", "message": "Task at index 0 must be an object", "expected": "object", "got": 5},
        {"path": "tasks[1].id", "code": "REQUIRED", "message": "Task at index 1 is missing 'id'"},
        {"path": "tasks[1].name", "code": "REQUIRED", "message": "Task at index 1 is missing 'name'"},
        {"path": "tasks[2].id", "code": "TYPE_MISMATCH", "message": "Task at index 2 is missing 'id' (it must be a string)", "expected": "string", "got": 3},
        {"path": "tasks[2].name", "code": "REQUIRED", "message": "Task at index 2 is missing 'name'"},
    ]


def test_duplicate_task_ids():
    assert errors_of(body(tasks=[map_task("a"), map_task("b"), map_task("a")])) == [
        {"path": "tasks", "code": "INVALID", "message": "Duplicate task id 'a' (tasks[0] and tasks[2])"}]


def test_task_scalar_fields_are_typed():
    assert paths(body(tasks=[map_task(description=1, continue_on_error="no")])) == [
        "tasks[0].description", "tasks[0].continue_on_error"]


def test_function_object_is_required():
    task = map_task()
    del task["function"]
    assert errors_of(body(tasks=[task])) == [
        {"path": "tasks[0].function.name", "code": "REQUIRED", "message": "Task at index 0 is missing 'function.name'"}]
    assert paths(body(tasks=[map_task(function="map")])) == ["tasks[0].function"]
    assert paths(body(tasks=[map_task(function={"input": {}})])) == ["tasks[0].function.name"]
    assert paths(body(tasks=[map_task(function={"name": 7, "input": {}})])) == ["tasks[0].function.name"]


def test_unknown_function_lists_the_registered_ones():
    [err] = errors_of(body(tasks=[map_task(function={"name": "mapp", "input": {}})]))
    assert err["path"] == "tasks[0].function.name"
    assert err["code"] == "INVALID"
    assert err["message"] == "Unknown function 'mapp'; registered functions: " + ", ".join(sorted(FUNCTIONS))
    assert "validate" in err["message"]  # aliases are listed and accepted


def test_function_aliases_are_accepted():
    task = map_task(function={"name": "validate", "input": {"rules": [{"logic": True}]}})
    assert errors_of(body(tasks=[task])) == []


def test_function_input_is_required():
    assert errors_of(body(tasks=[map_task(function={"name": "map"})])) == [
        {"path": "tasks[0].function.input", "code": "REQUIRED", "message": "config for function 'map': missing field 'input'",
         "expected": "object"}]


def test_function_input_errors_point_into_the_input():
    bad_inputs = [
        ({}, "tasks[0].function.input.mappings", "REQUIRED"),
        ({"mappings": [{"path": 5, "logic": 1}]}, "tasks[0].function.input.mappings[0].path", "TYPE_MISMATCH"),
        ({"mappings": [{"path": "data.x", "logic": {"==": [1]}}]}, "tasks[0].function.input.mappings[0].logic", "INVALID"),
        (5, "tasks[0].function.input", "TYPE_MISMATCH"),
    ]
    for raw, path, code in bad_inputs:
        [err] = errors_of(body(tasks=[map_task(function={"name": "map", "input": raw})]))
        assert (err["path"], err["code"]) == (path, code), raw


def test_a_crashing_plugin_input_check_is_reported_not_raised():
    def explode(params):
        raise RuntimeError("boom")

    async def run(ctx, params):
        return None

    functions = {**FUNCTIONS, "fragile": TaskFunction(name="fragile", run=run, check_input=explode)}
    [err] = errors_of(body(tasks=[map_task(function={"name": "fragile", "input": {}})]), functions)
    assert err["path"] == "tasks[0].function.input"
    assert "RuntimeError: boom" in err["message"] and "bug in the plugin" in err["message"]


def test_check_definition_reports_every_problem_at_once():
    content = {"name": "", "description": None, "priority": "x", "condition": {"foo": 1}, "tasks": [],
               "tags": [], "continue_on_error": False, "channel": None}
    errors = check_definition(content, FUNCTIONS, ENGINE)
    assert all(isinstance(e, FieldError) for e in errors)
    assert [e.path for e in errors] == ["name", "priority", "condition", "tasks"]


# --- updates ---------------------------------------------------------------------------------


def stored_draft():
    content, errors = validate_create(body(description="old", tags=["t"]), FUNCTIONS, ENGINE)
    assert errors == []
    return {**content, "workflow_id": "wf-1", "version": 1, "status": "draft"}


def test_update_merges_and_null_keeps_the_stored_value():
    merged, errors = validate_update({"name": "New", "description": None, "priority": 5}, "wf-1", stored_draft(), FUNCTIONS, ENGINE)
    assert errors == []
    assert merged["name"] == "New" and merged["description"] == "old" and merged["priority"] == 5
    assert merged["tags"] == ["t"] and merged["tasks"] == [map_task()]
    assert "workflow_id" not in merged and "status" not in merged


def test_update_validates_the_merged_result():
    _, errors = validate_update({"tasks": []}, "wf-1", stored_draft(), FUNCTIONS, ENGINE)
    assert [e.path for e in errors] == ["tasks"]
    _, errors = validate_update({"tasks": [map_task(function={"name": "gone", "input": {}})]}, "wf-1", stored_draft(), FUNCTIONS, ENGINE)
    assert [e.path for e in errors] == ["tasks[0].function.name"]


def test_update_refuses_unknown_keys_and_a_different_id():
    _, errors = validate_update({"nam": "x", "workflow_id": "other", "id": "wf-1"}, "wf-1", stored_draft(), FUNCTIONS, ENGINE)
    assert [e.to_json() for e in errors] == [
        {"path": "nam", "code": "INVALID", "message": "unknown field 'nam'"},
        {"path": "workflow_id", "code": "INVALID", "message": "workflow_id cannot change: the path names 'wf-1'", "got": "other"},
    ]


def test_update_body_must_be_an_object():
    _, errors = validate_update("x", "wf-1", stored_draft(), FUNCTIONS, ENGINE)
    assert [e.path for e in errors] == ["body"]
