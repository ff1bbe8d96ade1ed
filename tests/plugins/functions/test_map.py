"""``map`` (functions.md §5)."""
import logging

from orion_builtins.functions import map as map_fn

(FN,) = map_fn.orion_task_functions()


async def test_worked_example(run):
    mappings = [
        {"path": "data.order.total", "logic": {"*": [{"var": "data.order.price"}, {"var": "data.order.qty"}]}},
        {"path": "temp_data.label", "logic": {"cat": ["Order of ", {"var": "data.order.total"}]}},
        {"path": "data.summary", "logic": {"label": {"var": "temp_data.label"}, "ok": True}},
        {"path": "data.missing_copy", "logic": {"var": "data.nope"}},
        {"path": "data", "logic": {"version": 2}},
    ]
    ctx, result = await run(FN, {"mappings": mappings}, data={"order": {"price": 20, "qty": 3}})
    assert result is None
    assert ctx.data == {
        "order": {"price": 20, "qty": 3, "total": 60},
        "summary": {"label": "Order of 60", "ok": True},
        "version": 2,
    }
    assert ctx.context["temp_data"] == {"label": "Order of 60"}
    assert [c["path"] for c in ctx.changes] == ["data.order.total", "temp_data.label", "data.summary", "data"]
    assert ctx.changes[0] == {"path": "data.order.total", "old_value": None, "new_value": 60}
    assert ctx.changes[3]["new_value"] == {"version": 2}
    assert ctx.changes[3]["old_value"] == {
        "order": {"price": 20, "qty": 3, "total": 60},
        "summary": {"label": "Order of 60", "ok": True},
    }


async def test_old_value_of_an_overwritten_path_is_recorded(run):
    ctx, _ = await run(FN, {"mappings": [{"path": "data.a", "logic": 2}]}, data={"a": 1})
    assert ctx.changes == [{"path": "data.a", "old_value": 1, "new_value": 2}]


async def test_null_result_writes_and_deletes_nothing(run):
    ctx, result = await run(FN, {"mappings": [{"path": "data.a", "logic": None}]}, data={"a": 1})
    assert result is None
    assert ctx.data == {"a": 1} and ctx.changes == []


async def test_bare_root_merges_objects(run):
    ctx, _ = await run(FN, {"mappings": [{"path": "temp_data", "logic": {"b": 2, "a": 3}}]}, temp_data={"a": 1, "c": 4})
    assert ctx.context["temp_data"] == {"a": 3, "c": 4, "b": 2}


async def test_bare_root_is_replaced_by_a_non_object(run):
    ctx, _ = await run(FN, {"mappings": [{"path": "data", "logic": "flat"}]}, data={"a": 1})
    assert ctx.data == "flat"
    assert ctx.changes == [{"path": "data", "old_value": {"a": 1}, "new_value": "flat"}]


async def test_nested_set_creates_intermediates(run):
    ctx, _ = await run(FN, {"mappings": [{"path": "data.items.1.sku", "logic": "A"}]})
    assert ctx.data == {"items": [None, {"sku": "A"}]}


async def test_templating_consequences(run):
    mappings = [
        {"path": "data.kind", "logic": {"type": "premium"}},  # single operator key: a call
        {"path": "data.pair", "logic": [1, {"var": "data.kind"}]},  # arrays element-wise
    ]
    ctx, _ = await run(FN, {"mappings": mappings})
    assert ctx.data == {"kind": "string", "pair": [1, "string"]}


async def test_evaluation_error_skips_only_that_mapping_and_returns_500(run, caplog):
    caplog.set_level(logging.WARNING, logger="orion.functions.map")
    mappings = [
        {"path": "data.a", "logic": 1},
        {"path": "data.bad", "logic": {"+": ["a", 1]}},
        {"path": "data.c", "logic": 3},
    ]
    ctx, result = await run(FN, {"mappings": mappings})
    assert result == 500
    assert ctx.data == {"a": 1, "c": 3}
    assert [c["path"] for c in ctx.changes] == ["data.a", "data.c"]
    assert ctx.message.errors == []  # the reason is logged, not recorded
    (record,) = caplog.records
    assert "data.bad" in record.getMessage() and "NaN" in record.getMessage()


async def test_empty_mappings_succeed(run):
    ctx, result = await run(FN, {"mappings": []})
    assert result is None and ctx.changes == []


async def test_written_empty_object_is_fresh_on_every_run(prepare, run):
    """A literal ``{}`` must not be shared between runs once something is written into it."""
    ctx, _ = await run(FN, {"mappings": [{"path": "data.bag", "logic": {}}, {"path": "data.bag.x", "logic": 1}]})
    assert ctx.data == {"bag": {"x": 1}}
    params = prepare(FN, {"mappings": [{"path": "data.bag", "logic": {}}]})
    first, second = params["mappings"][0]["logic"].evaluate({}), params["mappings"][0]["logic"].evaluate({})
    first["x"] = 1
    assert second == {}


def test_input_rules(input_errors, prepare):
    assert input_errors(FN, {}) == [
        ("function.input.mappings", "REQUIRED", "config for function 'map': missing field 'mappings'")
    ]
    assert [e[:2] for e in input_errors(FN, {"mappings": {"path": "x"}})] == [("function.input.mappings", "TYPE_MISMATCH")]
    assert [e[:2] for e in input_errors(FN, {"mappings": [{"logic": 1}]})] == [
        ("function.input.mappings[0].path", "REQUIRED")
    ]
    assert [e[:2] for e in input_errors(FN, {"mappings": [{"path": "data.a"}]})] == [
        ("function.input.mappings[0].logic", "REQUIRED")
    ]
    assert [e[:2] for e in input_errors(FN, {"mappings": [{"path": "data.a", "logic": {"if": "x"}}]})] == [
        ("function.input.mappings[0].logic", "INVALID")
    ]
    loaded = prepare(FN, {"mappings": [{"path": "data.a", "logic": 1, "note": "ignored"}]})
    assert set(loaded["mappings"][0]) == {"path", "logic"}


def test_registration():
    assert (FN.name, FN.category) == ("map", "transform")
