"""Context paths (workflows.md §5)."""
from orion_kernel.paths import get_path, set_path, write_output


def test_examples_of_the_spec():
    root = {"data": {}}
    set_path(root, "data.user.name", "Ann")
    assert root["data"] == {"user": {"name": "Ann"}}
    set_path(root, "data.items.2", "x")
    assert root["data"]["items"] == [None, None, "x"]
    set_path(root, "data.fields.#2", "x")
    assert root["data"]["fields"] == {"2": "x"}
    set_path(root, "data.esc.##", 1)
    assert root["data"]["esc"] == {"#": 1}


def test_writes_through_scalars_or_bad_indexes_do_nothing():
    root = {"data": {"s": "text", "arr": [1]}}
    assert set_path(root, "data.s.x", 1) == (False, None)
    assert set_path(root, "data.arr.key", 1) == (False, None)
    assert root["data"] == {"s": "text", "arr": [1]}


def test_reads_resolve_missing_to_default():
    root = {"data": {"a": [{"b": 1}]}}
    assert get_path(root, "data.a.0.b") == 1
    assert get_path(root, "data.a.5.b") is None
    assert get_path(root, "data.a.x", "d") == "d"
    assert get_path(root, "data.a.0.b.c") is None


def test_root_merge_and_replace():
    context = {"data": {"a": 1}}
    assert write_output(context, "data", {"b": 2}) == (True, {"a": 1})
    assert context["data"] == {"a": 1, "b": 2}
    assert write_output(context, "data", None) == (False, None)
    write_output(context, "data", [1])
    assert context["data"] == [1]
    write_output(context, "result", 5)
    assert context["result"] == 5
