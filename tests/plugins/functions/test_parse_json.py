"""``parse_json`` (functions.md §2)."""
from orion_builtins.functions import parse_json

(FN,) = parse_json.orion_task_functions()


async def test_worked_example_copies_payload_and_decodes_json_text(run, prepare):
    payload = {"amount": 750, "meta": '{"src":"web"}'}
    ctx, result = await run(FN, {"source": "payload", "target": "order"}, payload=payload)
    assert result is None
    assert await FN.run(ctx, prepare(FN, {"source": "payload.meta", "target": "order_meta"})) is None
    assert ctx.data == {"order": {"amount": 750, "meta": '{"src":"web"}'}, "order_meta": {"src": "web"}}
    assert ctx.changes == [
        {"path": "data.order", "old_value": None, "new_value": {"amount": 750, "meta": '{"src":"web"}'}},
        {"path": "data.order_meta", "old_value": None, "new_value": {"src": "web"}},
    ]


async def test_payload_json_text_is_decoded(run):
    ctx, _ = await run(FN, {"source": "payload", "target": "input"}, payload='{"a": [1, 2.0]}')
    assert ctx.data == {"input": {"a": [1, 2.0]}}


async def test_json_scalar_text_is_decoded(run):
    ctx, _ = await run(FN, {"source": "payload.n", "target": "n"}, payload={"n": "123", "s": '"x"'})
    assert ctx.data["n"] == 123


async def test_non_json_string_is_kept_unchanged(run):
    ctx, _ = await run(FN, {"source": "payload.s", "target": "s"}, payload={"s": "not {json"})
    assert ctx.data == {"s": "not {json"}


async def test_unresolvable_source_writes_null(run):
    ctx, result = await run(FN, {"source": "payload.nope.deeper", "target": "x"}, payload={"a": 1})
    assert result is None
    assert ctx.data == {"x": None}
    assert ctx.changes == [{"path": "data.x", "old_value": None, "new_value": None}]


async def test_reads_inside_data(run):
    ctx, _ = await run(FN, {"source": "data.raw.body", "target": "body"}, data={"raw": {"body": '{"k":1}'}})
    assert ctx.data["body"] == {"k": 1}


async def test_reads_other_context_paths_from_the_root(run):
    ctx, _ = await run(
        FN, {"source": "metadata.headers", "target": "headers"}, metadata={"headers": {"x-tenant": "t1"}}
    )
    assert ctx.data == {"headers": {"x-tenant": "t1"}}
    ctx, _ = await run(FN, {"source": "temp_data.raw", "target": "t"}, temp_data={"raw": "[1,2]"})
    assert ctx.data == {"t": [1, 2]}


async def test_payload_array_index_and_hash_escape(run):
    ctx, _ = await run(FN, {"source": "payload.items.1", "target": "second"}, payload={"items": ["a", "b"]})
    assert ctx.data == {"second": "b"}
    ctx, _ = await run(FN, {"source": "payload.#1", "target": "one"}, payload={"1": "key one"})
    assert ctx.data == {"one": "key one"}


async def test_target_is_relative_to_data(run):
    ctx, _ = await run(FN, {"source": "payload", "target": "data.x"}, payload={"a": 1})
    assert ctx.data == {"data": {"x": {"a": 1}}}
    assert ctx.changes[0]["path"] == "data.data.x"


async def test_target_uses_path_syntax(run):
    ctx, _ = await run(FN, {"source": "payload", "target": "items.2"}, payload="x")
    assert ctx.data == {"items": [None, None, "x"]}
    ctx, _ = await run(FN, {"source": "payload", "target": "fields.#2"}, payload="x")
    assert ctx.data == {"fields": {"2": "x"}}


async def test_plain_set_replaces_without_merging(run):
    ctx, _ = await run(FN, {"source": "payload", "target": "order"}, payload={"b": 2}, data={"order": {"a": 1}})
    assert ctx.data == {"order": {"b": 2}}
    assert ctx.changes == [{"path": "data.order", "old_value": {"a": 1}, "new_value": {"b": 2}}]


async def test_null_overwrites_existing_value(run):
    ctx, _ = await run(FN, {"source": "payload.missing", "target": "order"}, data={"order": {"a": 1}})
    assert ctx.data == {"order": None}


async def test_written_value_does_not_alias_the_payload(run):
    payload = {"order": {"items": [{"sku": "A"}]}}
    ctx, _ = await run(FN, {"source": "payload", "target": "input"}, payload=payload)
    ctx.data["input"]["order"]["items"][0]["sku"] = "changed"
    assert payload == {"order": {"items": [{"sku": "A"}]}}


async def test_copy_handles_nesting_deeper_than_the_recursion_limit(run):
    payload: dict = {}
    node = payload
    for _ in range(5000):
        node["n"] = {}
        node = node["n"]
    ctx, result = await run(FN, {"source": "payload", "target": "deep"}, payload=payload)
    assert result is None
    assert ctx.data["deep"] is not payload


def test_input_requires_source_and_target(input_errors):
    assert input_errors(FN, {"target": "x"}) == [
        ("function.input.source", "REQUIRED", "config for function 'parse_json': missing field 'source'")
    ]
    assert [e[:2] for e in input_errors(FN, {"source": "payload"})] == [("function.input.target", "REQUIRED")]


def test_input_types_are_checked_and_unknown_keys_ignored(input_errors, prepare):
    assert [e[:2] for e in input_errors(FN, {"source": 1, "target": "x"})] == [("function.input.source", "TYPE_MISMATCH")]
    assert [e[:2] for e in input_errors(FN, "payload")] == [("function.input", "TYPE_MISMATCH")]
    assert prepare(FN, {"source": "payload", "target": "x", "extra": True}) == {"source": "payload", "target": "x"}


def test_registration():
    assert (FN.name, FN.category, FN.strict_input) == ("parse_json", "parse", False)
