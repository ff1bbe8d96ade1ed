"""The benchmark fixtures provision cleanly and answer their expected responses (no load, fast)."""
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
