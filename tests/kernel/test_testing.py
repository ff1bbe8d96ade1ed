"""The test helpers themselves: the orion_client fixture, provisioning, TOML rendering."""
from __future__ import annotations

import tomllib
from types import ModuleType

import pytest

from orion_kernel import ConfigError, TaskFunction, hookimpl
from orion_kernel.http.keys import KERNEL
from orion_kernel.testing import STANDARD_FUNCTION_PLUGINS, STANDARD_POLICY_PLUGINS, in_memory_config, provision, to_toml


def shout_plugin() -> ModuleType:
    """A plugin module built in the test: one ``shout`` function."""
    module = ModuleType("orion_test_shout")

    async def shout(ctx, params):
        ctx.write("data.shout", str(ctx.message.payload).upper())

    @hookimpl
    def orion_task_functions():
        yield TaskFunction(name="shout", run=shout)

    module.orion_task_functions = orion_task_functions
    return module


async def test_orion_client_loads_only_the_standard_functions_and_the_given_plugins(orion_client):
    client = await orion_client(plugins=[shout_plugin()])
    plugins = client.app[KERNEL].plugins
    names = {p.name for p in plugins.plugins}
    assert names == {*STANDARD_FUNCTION_PLUGINS, *STANDARD_POLICY_PLUGINS, "datalogic", "sqlite", "memory", "orion_test_shout"}
    assert "shout" in plugins.functions and "parse_json" in plugins.functions


async def test_orion_client_provisions_files_dicts_and_channels(orion_client):
    shouting = {"workflow_id": "shouting", "name": "shouting", "channel": "shout",
                "tasks": [{"id": "s", "name": "s", "function": {"name": "shout", "input": {}}}]}
    client = await orion_client(
        plugins=[shout_plugin()],
        workflows=["fixtures/echo.json", shouting],  # a path relative to this test file, and a dict
        channels=[{"name": "echo", "workflow_id": "echo"}],
    )
    resp = await client.post("/api/v1/data/echo", json={"data": {"a": 1}})
    assert resp.status == 200
    assert (await resp.json())["data"] == {"echo": {"a": 1}}
    resp = await client.post("/api/v1/data/shout", json={"data": "hi"})
    assert (await resp.json())["data"] == {"shout": "HI"}


async def test_orion_client_applies_config_overrides(orion_client):
    client = await orion_client(config={"engine": {"health_check_timeout_secs": 7}})
    cfg = client.app[KERNEL].config
    assert cfg["engine"]["health_check_timeout_secs"] == 7
    assert cfg["storage"]["url"] == "sqlite::memory:"


def test_invalid_overrides_are_configuration_errors():
    with pytest.raises(ConfigError, match="server.port must be an integer"):
        in_memory_config({"server": {"port": "eighty"}})


async def test_a_failed_provisioning_step_names_the_call_and_the_answer(orion_client):
    client = await orion_client()
    with pytest.raises(AssertionError, match=r"POST /api/v1/admin/workflows answered 400, expected 201: .*VALIDATION_ERROR"):
        await provision(client, [{"workflow_id": "bad", "name": "bad", "tasks": [{"id": "x", "function": {"name": "nope"}}]}])


def test_to_toml_round_trips_nested_tables_lists_and_arrays_of_tables():
    data = {
        "environment": "qa",
        "server": {"port": 0, "tls": {"enabled": False}},
        "storage": {"url": 'sqlite:/tmp/a "b".db'},
        "kafka": {"brokers": ["a:1", "b:2"], "topics": [{"topic": "t1", "channel": "c1"}, {"topic": "t2", "channel": "c2"}]},
        "tracing": {"sample_rate": 0.5},
        "channels": {},
    }
    assert tomllib.loads(to_toml(data)) == data
