"""``POST /workflows/{id}/test``: the latest version on sample data, a per-task trace, nothing stored."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from orion_kernel.storage import WORKFLOW
from tests.integration.admin.conftest import WF, channel, task, workflow

SLOW = Path(__file__).parents[1] / "plugins" / "orion_test_slow.py"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def slow_plugin():
    spec = importlib.util.spec_from_file_location("orion_test_slow", SLOW)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PARSE = {"id": "parse", "name": "Parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": "in"}}}
PIPELINE = workflow(
    "risk",
    PARSE,
    task("double", {"*": [{"var": "data.in.amount"}, 2]}),
    task("big", True, condition={">": [{"var": "data.double"}, 1000]}),
    task("seen", {"var": "metadata.source"}),
)


async def test_trace_input_output_duration_and_skip_reasons(admin):
    await admin.call("POST", WF, PIPELINE, status=201)  # a draft: dry-runs need no activation
    async with admin.unchanged():
        out = await admin.call("POST", f"{WF}/risk/test", {"data": {"amount": 21}, "metadata": {"source": "test"}}, status=200)
    assert (out["workflow_id"], out["version"], out["matched"], out["output"], out["errors"]) == (
        "risk", 1, True, {"in": {"amount": 21}, "double": 42, "seen": "test"}, [])
    steps = out["trace"]["steps"]
    assert [(s["workflow_id"], s["task_id"], s["result"]) for s in steps] == [
        ("risk", "parse", "executed"), ("risk", "double", "executed"), ("risk", "big", "skipped"), ("risk", "seen", "executed")]

    parse, double, big, seen = steps
    assert TIMESTAMP.fullmatch(double["started_at"]) and isinstance(double["duration_us"], int)
    assert parse["input"]["payload"] == {"amount": 21}
    assert parse["input"]["context"]["data"] == {}
    assert parse["input"]["context"]["metadata"]["source"] == "test"
    assert double["input"] == parse["message"]
    assert double["message"]["context"]["data"] == {"in": {"amount": 21}, "double": 42}
    assert double["message"]["audit_trail"][-1]["changes"] == [{"path": "data.double", "old_value": None, "new_value": 42}]
    assert big == {"workflow_id": "risk", "task_id": "big", "result": "skipped", "reason": "task condition was not true",
                   "condition": {">": [{"var": "data.double"}, 1000]}}
    assert seen["input"] == double["message"]
    assert seen["message"]["context"]["data"] == {"in": {"amount": 21}, "double": 42, "seen": "test"}
    assert await admin.kernel.storage.list_traces(filters={}, sort_by="created_at", descending=True, limit=10, offset=0) == ([], 0)


async def test_a_false_workflow_condition_is_not_a_match(admin):
    await admin.call("POST", WF, {**PIPELINE, "condition": {"==": [{"var": "metadata.kind"}, "order"]}}, status=201)
    out = await admin.call("POST", f"{WF}/risk/test", {"data": {"amount": 1}}, status=200)
    assert (out["matched"], out["output"]) == (False, {})
    assert out["trace"]["steps"] == [{"workflow_id": "risk", "task_id": None, "result": "skipped",
                                      "reason": "workflow condition was not true",
                                      "condition": {"==": [{"var": "metadata.kind"}, "order"]}}]
    out = await admin.call("POST", f"{WF}/risk/test", {"data": {"amount": 1}, "metadata": {"kind": "order"}}, status=200)
    assert out["matched"] is True


async def test_the_latest_version_runs_whatever_its_status(admin):
    await admin.active_workflow(workflow("wf-1", task("n", 1)))
    await admin.call("POST", f"{WF}/wf-1/versions", status=201)
    await admin.call("PUT", f"{WF}/wf-1", {"tasks": [task("n", 2)]}, status=200)
    out = await admin.call("POST", f"{WF}/wf-1/test", {"data": None, "metadata": "ignored"}, status=200)
    assert (out["version"], out["output"]) == (2, {"n": 2})
    assert out["trace"]["steps"][0]["input"]["payload"] is None


async def test_channel_call_reaches_live_channels(admin):
    await admin.active_workflow(workflow("inner", PARSE, task("inner", {"var": "data.in.x"})))
    await admin.active_channel(channel("inner-ch", "inner", workflow_id="inner"))
    call = {"id": "call", "name": "Call", "function": {"name": "channel_call", "input": {"channel": "inner", "response_path": "data.child"}}}
    await admin.call("POST", WF, workflow("outer", call), status=201)
    out = await admin.call("POST", f"{WF}/outer/test", {"data": {"x": 5}}, status=200)
    assert out["output"] == {"child": {"in": {"x": 5}, "inner": 5}}


async def test_a_task_that_continues_on_error_is_in_the_trace_and_errors(admin):
    failing = task("bad", {"+": ["a", 1]}, continue_on_error=True)
    await admin.call("POST", WF, workflow("wf-1", failing, task("after", 1)), status=201)
    out = await admin.call("POST", f"{WF}/wf-1/test", {"data": {}}, status=200)
    assert [s["task_id"] for s in out["trace"]["steps"]] == ["bad", "after"]
    assert [e["code"] for e in out["errors"]] == ["TASK_STATUS_ERROR"]


async def test_a_failure_that_stops_the_run_names_the_task(admin):
    await admin.call("POST", WF, workflow("wf-1", task("ok", 1), task("bad", {"+": ["a", 1]})), status=201)
    err = await admin.error("POST", f"{WF}/wf-1/test", {"data": {}}, status=500, code="ENGINE_ERROR")
    assert err["message"] == "An internal engine error occurred"
    assert err["details"] == [{"path": "tasks[1]", "code": "TASK_FAILED",
                               "message": "task 'bad' stopped the run: Task error: Task bad failed with status 500"}]

    xml = {"id": "xml", "name": "XML", "function": {"name": "parse_xml", "input": {"source": "payload", "target": "doc"}}}
    await admin.call("POST", WF, workflow("wf-2", xml), status=201)
    err = await admin.error("POST", f"{WF}/wf-2/test", {"data": {"not": "xml"}}, status=400, code="VALIDATION_ERROR")
    assert err["details"][0]["path"] == "tasks[0]"
    assert "is not a string" in err["details"][0]["message"]


async def test_timeout(make_admin):
    admin = await make_admin(config={"queue": {"processing_timeout_ms": 50}}, plugins=[slow_plugin()])
    sleep = {"id": "zz", "name": "Sleep", "function": {"name": "sleep", "input": {"seconds": 5}}}
    await admin.call("POST", WF, workflow("slow", sleep), status=201)
    err = await admin.error("POST", f"{WF}/slow/test", {"data": {}}, status=504, code="TIMEOUT_ERROR")
    assert err["message"] == "Dry-run of workflow 'slow' exceeded 50ms (queue.processing_timeout_ms)"


async def test_errors_change_nothing(admin):
    await admin.call("POST", WF, workflow("wf-1"), status=201)
    async with admin.kernel.storage.transaction() as tx:  # a version whose function was uninstalled since
        await tx.insert_version(WORKFLOW, {**(await tx.versions(WORKFLOW, "wf-1"))[0], "workflow_id": "gone",
                                           "tasks": [{"id": "x", "name": "X", "function": {"name": "gone", "input": {}}}]})
    async with admin.unchanged():
        await admin.error("POST", f"{WF}/nope/test", {"data": {}}, status=404, code="NOT_FOUND")
        err = await admin.error("POST", f"{WF}/wf-1/test", {"metadata": {}}, status=400, code="VALIDATION_ERROR")
        assert [d["path"] for d in err["details"]] == ["body.data"]
        err = await admin.error("POST", f"{WF}/wf-1/test", {"data": {}, "meta": {}}, status=400, code="VALIDATION_ERROR")
        assert [d["path"] for d in err["details"]] == ["body.meta"]
        await admin.error("POST", f"{WF}/wf-1/test", [], status=400, code="VALIDATION_ERROR")
        await admin.error("POST", f"{WF}/wf-1/test", status=415, code="UNSUPPORTED_MEDIA_TYPE", data=b"{}")
        err = await admin.error("POST", f"{WF}/gone/test", {"data": {}}, status=400, code="VALIDATION_ERROR")
        assert err["message"].startswith("Workflow 'gone' version 1 cannot run: ")
        assert err["details"][0]["path"] == "tasks[0].function.name"
