"""The plugin manager: discovery, disabling, essential plugins, clashes, registries."""
from __future__ import annotations

import types

import pytest

from orion_kernel import PluginError, TaskFunction, hookimpl
from orion_kernel.governance import ChannelPolicy
from orion_kernel.plugins import load_plugins


async def _noop(ctx, params):
    return None


def plugin_module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    module.ORION_PLUGIN_NAME = name
    for hook_name, impl in hooks.items():
        setattr(module, hook_name, hookimpl(impl))
    return module


def functions_plugin(name: str, *function_names: str) -> types.ModuleType:
    def orion_task_functions():
        return [TaskFunction(name=fn, run=_noop) for fn in function_names]

    return plugin_module(name, orion_task_functions=orion_task_functions)


def test_builtins_are_discovered_through_entry_points():
    plugins = load_plugins()
    names = {p.name for p in plugins.plugins}
    assert {"datalogic", "sqlite", "map", "parse_json", "channel_call"} <= names
    assert plugins.function_owners["map"] == "map"
    assert plugins.functions["validate"] is plugins.functions["validation"]
    builtin = next(p for p in plugins.plugins if p.name == "map")
    assert builtin.distribution == "orion-kernel" and builtin.hooks == ("orion_task_functions",)


def test_orion_task_functions_from_an_extra_module_are_registered():
    plugins = load_plugins(modules=[functions_plugin("extra", "shout")])
    assert plugins.function_owners["shout"] == "extra"
    assert "shout" in plugins.function_names()


def test_a_function_name_clash_names_both_plugins():
    with pytest.raises(PluginError, match="'map' is provided by both plugin 'map' and plugin 'rogue'"):
        load_plugins(modules=[functions_plugin("rogue", "map")])


def test_disabled_plugins_are_not_registered(monkeypatch):
    plugins = load_plugins(disabled=["log"])
    assert "log" not in plugins.functions
    monkeypatch.setenv("ORION_DISABLE_PLUGINS", "map, filter")
    plugins = load_plugins()
    assert "map" not in plugins.functions and "filter" not in plugins.functions


@pytest.mark.parametrize("name", ["datalogic", "sqlite", "memory"])
def test_essential_plugins_refuse_to_be_disabled(name):
    with pytest.raises(PluginError, match=f"'{name}' .*is essential"):
        load_plugins(disabled=[name])


def test_only_limits_discovery_but_keeps_essentials():
    plugins = load_plugins(only=["map"])
    assert {p.name for p in plugins.plugins} == {"datalogic", "sqlite", "memory", "map"}


def test_orion_storage_backend_for_url_first_result_wins_and_unknown_scheme_is_clear():
    seen = []

    def orion_storage_backend_for_url(url, options):
        seen.append(url)
        return None

    plugins = load_plugins(modules=[plugin_module("observer", orion_storage_backend_for_url=orion_storage_backend_for_url)])
    backend = plugins.storage_backend("sqlite::memory:", {})
    assert backend.name == "sqlite" and seen == ["sqlite::memory:"]
    with pytest.raises(PluginError, match="Unsupported database URL scheme: redis://x"):
        plugins.storage_backend("redis://x", {})


def test_orion_expression_engine_comes_from_a_plugin():
    engine = load_plugins().expression_engine
    assert engine.name == "datalogic"
    assert engine.compile({"+": [1, {"var": "a"}]}).evaluate({"a": 2}) == 3


def test_orion_state_store_for_url_first_result_wins_and_unknown_scheme_is_clear():
    seen = []

    def orion_state_store_for_url(url, options):
        seen.append(url)
        return None

    plugins = load_plugins(modules=[plugin_module("watcher", orion_state_store_for_url=orion_state_store_for_url)])
    store = plugins.state_store("memory://", {"memory_max_keys": 10})
    assert store.name == "memory" and store.max_keys == 10 and seen == ["memory://"]
    with pytest.raises(PluginError, match="Unsupported governance store URL: nats://x"):
        plugins.state_store("nats://x", {})


def test_orion_channel_policies_are_collected_by_config_key_and_clashes_are_refused():
    def bind(block, setup, channel):
        return None

    def orion_channel_policies():
        yield ChannelPolicy(name="quota", config_key="quota", order=150, bind=bind)

    plugins = load_plugins(modules=[plugin_module("quota", orion_channel_policies=orion_channel_policies)])
    assert plugins.policies["quota"].name == "quota" and plugins.policy_owners["quota"] == "quota"
    with pytest.raises(PluginError, match="'quota' is claimed by policy plugins 'quota' and 'quota2'"):
        load_plugins(modules=[plugin_module("quota", orion_channel_policies=orion_channel_policies),
                              plugin_module("quota2", orion_channel_policies=orion_channel_policies)])
