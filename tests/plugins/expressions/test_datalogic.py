"""The datalogic expression engine: a rule sees only the context roots it reads, with the same results."""
from __future__ import annotations

import datalogic_py
import pytest

from orion_builtins.expressions.datalogic import DatalogicEngine

CONTEXT = {
    "data": {"order": {"amount": 250, "country": "UK", "items": [3, 5, 8]}, "min": 4},
    "metadata": {"headers": {"x-client": "bench"}, "http_method": "POST"},
    "temp_data": {"flag": True},
}

RULES = [
    {">=": [{"var": "data.order.amount"}, 100]},
    {"cat": [{"var": "data.order.country"}, "-", {"var": "metadata.headers.x-client"}]},
    {"if": [{"var": "temp_data.flag"}, {"var": "data.order.amount"}, {"var": "metadata.http_method"}]},
    {"filter": [{"var": "data.order.items"}, {">": [{"var": ""}, 4]}]},
    {"map": [{"var": "data.order.items"}, {"*": [{"var": ""}, 2]}]},
    {"reduce": [{"var": "data.order.items"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]},
    {"missing": ["data.order.amount", "data.nope", "metadata.nope"]},
    {"val": ["metadata", "headers", "x-client"]},
    {"var": ["data.absent", "fallback"]},
    {"var": {"cat": ["data.order.", "country"]}},  # a computed path: reads cannot be known
    {"var": ""},  # the whole context
    {"var": "nowhere.at.all"},
    {"now": []},
    {"total": {"var": "data.order.amount"}, "who": [{"var": "metadata.headers.x-client"}]},  # a template
]


@pytest.fixture(scope="module")
def engine():
    return DatalogicEngine()


@pytest.mark.parametrize("rule", RULES, ids=[str(i) for i in range(len(RULES))])
def test_a_rule_gives_what_it_gives_on_the_whole_context(engine, rule):
    expected = datalogic_py.Engine(templating=True).compile(rule).evaluate(CONTEXT)
    got = engine.compile(rule).evaluate(CONTEXT)
    if "now" in rule:
        assert isinstance(got, str) and isinstance(expected, str)
    else:
        assert got == expected


def test_the_whole_context_reaches_a_rule_that_reads_it(engine):
    assert engine.compile({"var": ""}).evaluate(CONTEXT) == CONTEXT


def test_a_context_that_is_not_a_dict_is_passed_as_it_is(engine):
    assert engine.compile({"var": "1"}).evaluate([10, 20]) == 20
