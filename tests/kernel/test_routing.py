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
