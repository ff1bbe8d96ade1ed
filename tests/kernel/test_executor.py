"""The executor: conditions, outcomes, audit trail, progress and failure policy (workflows.md §7–8)."""
from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, fields

from orion_kernel import HALT, SKIP, RunAborted, RunInfo, Services, TaskError, TaskFunction, ValidationFailure
from orion_kernel import fields as orion_fields
from orion_kernel.engine.compiler import WorkflowBuildError, compile_active_workflows, compile_workflow
from orion_kernel.engine.executor import run_workflows
from orion_kernel.message import Message
from orion_kernel.testing import default_expression_engine


class SetInput(Schema):
    path = fields.String(required=True)
    value = orion_fields.Logic(required=True)


async def set_value(ctx, params):
    ctx.write(params["path"], params["value"].evaluate(ctx.context))


async def outcome(ctx, params):
    kind = params["kind"]
    if kind == "fail":
        raise TaskError("boom")
    if kind == "invalid":
        raise ValidationFailure("bad input")
    if kind == "crash":
        raise RuntimeError("plugin bug")
    return {"skip": SKIP, "halt": HALT, "400": 400, "500": 500}[kind]


FUNCTIONS = {
    "set": TaskFunction(name="set", run=set_value, input_schema=SetInput),
    "outcome": TaskFunction(name="outcome", run=outcome),
}


def task(task_id: str, fn: str = "set", condition: Any = True, **inp: Any) -> dict[str, Any]:
    out = {"id": task_id, "name": task_id, "function": {"name": fn, "input": inp}}
    if condition is not True:
        out["condition"] = condition
    return out


def setter(task_id: str, path: str, value: Any, **kw: Any) -> dict[str, Any]:
    return task(task_id, "set", path=path, value=value, **kw)


def wf(workflow_id: str, tasks: list, **kw: Any) -> dict[str, Any]:
    return {"workflow_id": workflow_id, "version": 1, "name": workflow_id, "tasks": tasks, **kw}


def compiled(*rows: dict[str, Any]):
    engine = default_expression_engine()
    return [compile_workflow(r, FUNCTIONS, engine) for r in rows]


async def run(*rows: dict[str, Any], steps: list | None = None, payload: Any = None) -> Message:
    engine = default_expression_engine()
    message = Message(payload or {}, {})
    await run_workflows(compiled(*rows), message, RunInfo(Services({}, engine), channel="ch"), steps=steps)
    return message


async def test_tasks_run_in_order_and_see_earlier_writes():
    msg = await run(wf("w", [setter("a", "data.x", 2), setter("b", "data.y", {"*": [{"var": "data.x"}, 10]})]))
    assert msg.context["data"] == {"x": 2, "y": 20}
    assert [e["task_id"] for e in msg.audit_trail] == ["a", "b"]
    assert msg.audit_trail[1]["changes"] == [{"path": "data.y", "old_value": None, "new_value": 20}]
    assert msg.context["metadata"]["progress"] == {"workflow_id": "w", "task_id": "b", "status_code": 200}
    assert msg.context["metadata"]["channel"] == "ch"
    assert "processed_at" in msg.context["metadata"] and "engine_version" in msg.context["metadata"]


async def test_conditions_need_exactly_true():
    msg = await run(wf("w", [
        setter("truthy", "data.a", 1, condition=1),
        setter("strict", "data.b", 1, condition={"==": [1, 1]}),
        setter("error", "data.c", 1, condition={"+": ["x", 1]}),
    ]))
    assert msg.context["data"] == {"b": 1}
    assert [e["task_id"] for e in msg.audit_trail] == ["strict"]
    assert msg.errors == []


async def test_workflow_condition_false_skips_without_trace_of_error():
    steps: list = []
    msg = await run(wf("w", [setter("a", "data.a", 1)], condition=False), steps=steps)
    assert msg.context["data"] == {} and msg.audit_trail == []
    assert steps == [{"workflow_id": "w", "task_id": None, "result": "skipped"}]


async def test_skip_outcome_records_nothing_and_halt_stops_only_this_workflow():
    msg = await run(
        wf("first", [task("s", "outcome", kind="skip"), task("h", "outcome", kind="halt"), setter("never", "data.n", 1)]),
        wf("second", [setter("after", "data.after", True)]),
    )
    assert [(e["task_id"], e["status"]) for e in msg.audit_trail] == [("h", 299), ("after", 200)]
    assert msg.context["data"] == {"after": True}
    assert msg.errors == []


async def test_status_400_continues_and_status_500_is_a_failure():
    msg = await run(wf("w", [task("v", "outcome", kind="400"), setter("next", "data.n", 1)]))
    assert msg.context["metadata"]["progress"]["status_code"] == 200
    assert [e["status"] for e in msg.audit_trail] == [400, 200]
    with pytest.raises(RunAborted) as info:
        await run(wf("w", [task("m", "outcome", kind="500")]))
    assert str(info.value) == "Task error: Task m failed with status 500"


async def test_failure_stops_the_message_with_task_and_workflow_errors():
    message = Message({}, {})
    engine = default_expression_engine()
    workflows = compiled(wf("wf", [task("t1", "outcome", kind="fail")]), wf("later", [setter("x", "data.x", 1)]))
    with pytest.raises(RunAborted) as info:
        await run_workflows(workflows, message, RunInfo(Services({}, engine), channel="c"))
    assert info.value.cause.kind == "Function execution error"
    codes = [(e["code"], e["message"]) for e in message.errors]
    assert codes == [("TASK_ERROR", "Task t1 error: Function execution error: boom"),
                     ("WORKFLOW_ERROR", "Workflow wf error: Function execution error: boom")]
    assert "task_id" not in message.errors[1]
    assert message.audit_trail[0]["status"] == 500 and message.audit_trail[0]["changes"] == []
    assert message.context["data"] == {}


async def test_task_continue_on_error_records_and_goes_on():
    msg = await run(wf("wf", [task("t1", "outcome", kind="fail", ), setter("t2", "data.ok", True)], continue_on_error=True))
    assert msg.context["data"] == {"ok": True}
    assert [e["code"] for e in msg.errors] == ["TASK_ERROR"]


async def test_task_flag_false_inside_tolerant_workflow_stops_only_that_workflow():
    failing = task("t1", "outcome", kind="fail")
    failing["continue_on_error"] = False
    msg = await run(
        wf("a", [failing, setter("skipped", "data.no", 1)], continue_on_error=True),
        wf("b", [setter("t", "data.b", 1)]),
    )
    assert msg.context["data"] == {"b": 1}
    assert [e["code"] for e in msg.errors] == ["TASK_ERROR", "WORKFLOW_ERROR"]


async def test_plugin_exception_becomes_task_error():
    msg = await run(wf("w", [task("c", "outcome", kind="crash")], continue_on_error=True))
    assert msg.errors[0]["message"] == "Task c error: Function execution error: RuntimeError: plugin bug"


async def test_unknown_function_loads_but_fails_when_run():
    msg = await run(wf("w", [task("e", "enrich")], continue_on_error=True))
    assert "Function not found: enrich" in msg.errors[0]["message"]


async def test_validation_failure_kind_is_kept_for_status_mapping():
    with pytest.raises(RunAborted) as info:
        await run(wf("w", [task("v", "outcome", kind="invalid")]))
    assert str(info.value) == "Validation error: bad input"


def test_bad_input_or_logic_excludes_the_workflow():
    engine = default_expression_engine()
    with pytest.raises(WorkflowBuildError) as info:
        compile_workflow(wf("w", [task("a", "set", value=1)]), FUNCTIONS, engine)
    assert info.value.errors[0].path == "tasks[0].function.input.path"
    with pytest.raises(WorkflowBuildError):
        compile_workflow(wf("w", [setter("a", "data.a", {"==": [1]})]), FUNCTIONS, engine)
    good = wf("good", [setter("a", "data.a", 1)])
    bad = wf("bad", [setter("a", "data.a", {"==": [1]})])
    loaded = compile_active_workflows([good, bad], FUNCTIONS, engine)
    assert [w.workflow_id for w in loaded["good"]] == ["good"] and loaded["bad"] == []


async def test_rollout_buckets_split_versions():
    engine = default_expression_engine()
    rows = [
        {**wf("w", [setter("v", "data.v", 3)]), "version": 3, "rollout_percentage": 10},
        {**wf("w", [setter("v", "data.v", 2)]), "version": 2, "rollout_percentage": 90},
    ]
    versions = compile_active_workflows(rows, FUNCTIONS, engine)["w"]
    assert [(w.engine_id, w.bucket) for w in versions] == [("w:v3", (0, 10)), ("w:v2", (10, 100))]
    seen = set()
    for _ in range(400):
        message = Message({}, {})
        await run_workflows(versions, message, RunInfo(Services({}, engine)))
        seen.add(message.context["data"]["v"])
        assert "_rollout_bucket" not in message.context["data"]
    assert seen == {2, 3}


async def test_single_version_at_full_rollout_is_not_gated():
    engine = default_expression_engine()
    versions = compile_active_workflows([wf("w", [setter("v", "data.v", 1)])], FUNCTIONS, engine)["w"]
    assert versions[0].bucket is None and versions[0].engine_id == "w"


async def test_trace_steps_carry_snapshots_of_executed_tasks():
    steps: list = []
    await run(wf("w", [setter("a", "data.a", 1), setter("b", "data.b", 1, condition=False)]), steps=steps)
    assert [(s["task_id"], s["result"]) for s in steps] == [("a", "executed"), ("b", "skipped")]
    assert steps[0]["message"]["context"]["data"] == {"a": 1}
    assert "message" not in steps[1]


async def test_recorded_changes_are_copies_when_the_audit_trail_is_returned():
    engine = default_expression_engine()
    workflows = compiled(wf("w", [setter("a", "data.order", {"a": {"var": "data.none"}, "k": 1}),
                                  setter("b", "data.order.total", 5)]))
    message = Message({}, {})
    await run_workflows(workflows, message, RunInfo(Services({}, engine), copy_changes=True))
    assert message.audit_trail[0]["changes"][0]["new_value"] == {"a": None, "k": 1}
    assert message.context["data"]["order"] == {"a": None, "k": 1, "total": 5}
