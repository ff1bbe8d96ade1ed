"""Route table matching (api-data.md §2)."""
from orion_kernel.routing import RouteTable, parse_pattern, split_path


def table(*routes):
    return RouteTable(parse_pattern(*r) for r in routes)


def test_params_are_captured_and_literals_compare_case_insensitively():
    t = table(("orders.get", "/orders/{id}", ["GET"], 0), ("orders.create", "/orders", ["post"], 0))
    assert t.match("GET", split_path("Orders/123")) == ("orders.get", {"id": "123"})
    assert t.match("post", ["orders"]) == ("orders.create", {})
    assert t.match("GET", ["orders"]) is None
    assert t.match("GET", ["orders", "1", "x"]) is None


def test_priority_then_specificity_then_literals():
    t = table(("generic", "/a/{x}", [], 0), ("literal", "/a/b", [], 0), ("high", "/{p}/{q}", [], 5))
    assert t.match("GET", ["a", "b"])[0] == "high"
    t = table(("generic", "/a/{x}", [], 0), ("literal", "/a/b", [], 0))
    assert t.match("GET", ["a", "b"])[0] == "literal"
    assert t.match("GET", ["a", "c"]) == ("generic", {"x": "c"})


def test_empty_methods_accept_any_method_and_ties_keep_load_order():
    t = table(("first", "/x", [], 0), ("second", "/x", [], 0))
    assert t.match("DELETE", ["x"])[0] == "first"


def test_match_path_remembers_and_answers_like_match():
    t = table(("orders.get", "/orders/{id}", ["GET"], 0), ("orders.create", "/orders", ["POST"], 0))
    for _ in range(2):  # the second round is answered from memory
        assert t.match_path("GET", "orders/7") == ("orders.get", {"id": "7"})
        assert t.match_path("POST", "orders") == ("orders.create", {})
        assert t.match_path("GET", "nothing/here/at/all") is None


def test_match_path_hands_each_caller_its_own_params():
    t = table(("orders.get", "/orders/{id}", ["GET"], 0))
    _, first = t.match_path("GET", "orders/7")
    first["id"] = "changed by a task"
    assert t.match_path("GET", "orders/7") == ("orders.get", {"id": "7"})


def test_match_path_memory_stays_bounded(monkeypatch):
    monkeypatch.setattr("orion_kernel.routing.REMEMBERED_PATHS", 3)
    t = table(("orders.get", "/orders/{id}", ["GET"], 0))
    for i in range(10):
        assert t.match_path("GET", f"orders/{i}") == ("orders.get", {"id": str(i)})
    assert len(t._remembered) <= 3
