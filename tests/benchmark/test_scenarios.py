"""The benchmark's fast checks (no load): the fixtures answer their expected responses, wrk reports are read right."""
from __future__ import annotations

import orjson
import pytest

NAMES = ("simple", "complex", "multi")


@pytest.mark.parametrize("name", NAMES)
async def test_fixture_answers_its_expected_response(orion_client, scenarios, name):
    scenario = scenarios.load(name)
    client = await orion_client(workflows=scenario.workflows, channels=scenario.channels)
    resp = await client.post(scenario.url_path, data=orjson.dumps(scenario.body),
                             headers={"Content-Type": "application/json", **scenario.headers})
    body = await resp.json()
    assert scenarios.check_response(scenario, resp.status, body) == []


def test_every_fixture_is_listed(scenarios):
    assert scenarios.NAMES == NAMES
    assert sorted(path.stem for path in scenarios.FIXTURES.glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
async def test_a_wrong_branch_is_caught(orion_client, scenarios, name):
    """The check is strict: a response whose data differs in one value fails it."""
    scenario = scenarios.load(name)
    client = await orion_client(workflows=scenario.workflows, channels=scenario.channels)
    resp = await client.post(scenario.url_path, data=orjson.dumps(scenario.body),
                             headers={"Content-Type": "application/json", **scenario.headers})
    body = await resp.json()
    first = next(iter(body["data"]))
    body["data"][first] = "changed"
    assert scenarios.check_response(scenario, resp.status, body) != []


def test_placeholders_match_only_their_form(scenarios):
    assert list(scenarios.mismatches("<uuid>", "5f0c1c1e-8a8e-4f5e-9d2a-0c1d2e3f4a5b")) == []
    assert list(scenarios.mismatches("<uuid>", "not-a-uuid")) != []
    assert list(scenarios.mismatches("<timestamp>", "2026-05-09T07:35:25.123456Z")) == []
    assert list(scenarios.mismatches({"a": 1}, {"a": True})) != []


WRK_REPORT = """Running 20s test @ http://127.0.0.1:40123/api/v1/data/bench-simple
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.15ms    3.02ms  48.31ms   74.87%
    Req/Sec     8.50k     1.11k   10.52k    70.50%
  Latency Distribution
     50%    5.71ms
     75%    7.63ms
     90%    9.83ms
     99%   18.48ms
  169107 requests in 20.00s, 73.70MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   8455.12
Transfer/sec:      3.69MB
"""


def test_the_wrk_report_is_read(wrk_module):
    result = wrk_module.parse_wrk(WRK_REPORT)
    assert (result.requests, result.rps, result.avg_ms, result.p99_ms) == (169107, 8455.12, 6.15, 18.48)
    assert (result.non_2xx, result.socket_errors, result.failed) == (4, 3, 7)
    assert wrk_module.parse_wrk(WRK_REPORT.replace("6.15ms", "950.00us")).avg_ms == pytest.approx(0.95)
    with pytest.raises(ValueError):
        wrk_module.parse_wrk("wrk: connection refused")
