"""Plugin manager: discovers ``orion_kernel`` entry points and turns hook results into registries."""
from __future__ import annotations

import importlib
import importlib.metadata as md
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .config import redact_url
from .errors import PluginError
from .expressions import ExpressionEngine
from .governance import ChannelPolicy, StateStore
from .storage import StorageBackend
from .types import TaskFunction

ENTRY_POINT_GROUP = "orion_kernel"
DISABLE_ENV = "ORION_DISABLE_PLUGINS"
hookimpl = pluggy.HookimplMarker("orion_kernel")


@dataclass(frozen=True)
class LoadedPlugin:
    """One registered plugin, as ``orion-kernel plugins`` and the admin API list it."""

    name: str
    module: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    essential: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "essential": self.essential,
        }


@dataclass
class PluginSet:
    """Every loaded plugin and the registries built from their hooks."""

    manager: pluggy.PluginManager
    plugins: list[LoadedPlugin]
    functions: dict[str, TaskFunction] = field(default_factory=dict)
    function_owners: dict[str, str] = field(default_factory=dict)
    expression_engine: ExpressionEngine | None = None
    policies: dict[str, ChannelPolicy] = field(default_factory=dict)  # by config key
    policy_owners: dict[str, str] = field(default_factory=dict)

    def storage_backend(self, url: str, options: dict[str, Any]) -> StorageBackend:
        """The backend for ``url``; raise PluginError when no plugin claims its scheme."""
        backend = self.manager.hook.orion_storage_backend_for_url(url=url, options=options)
        if backend is None:
            raise PluginError(
                f"Unsupported database URL scheme: {redact_url(url)}. Expected sqlite:, postgres://, or mysql:// "
                "(is the storage plugin for this scheme installed?)"
            )
        return backend

    def state_store(self, url: str, options: dict[str, Any]) -> StateStore:
        """The state store for ``url``; raise PluginError when no plugin claims its scheme."""
        store = self.manager.hook.orion_state_store_for_url(url=url, options=options)
        if store is None:
            raise PluginError(
                f"Unsupported governance store URL: {redact_url(url)}. Expected memory:// or redis:// "
                "(is the store plugin for this scheme installed?)"
            )
        return store

    def function_names(self) -> list[str]:
        """Canonical function names (aliases excluded), sorted."""
        return sorted({fn.name for fn in self.functions.values()})


def disabled_from_env() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {item.strip() for item in raw.split(",") if item.strip()}


def _distribution_of(ep: md.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"], dist.version


def _module_distribution(module: ModuleType) -> tuple[str, str]:
    top = module.__name__.split(".")[0]
    for dist_name in md.packages_distributions().get(top, []):
        try:
            return dist_name, md.version(dist_name)
        except md.PackageNotFoundError:
            continue
    return "local", "unknown"


def _hook_names(module: ModuleType) -> tuple[str, ...]:
    return tuple(sorted(name for name in dir(module) if name.startswith("orion_") and callable(getattr(module, name))))


def _discover(disabled: set[str], only: set[str] | None = None) -> list[tuple[str, ModuleType, str, str]]:
    found: dict[str, tuple[md.EntryPoint, str, str]] = {}
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist, version = _distribution_of(ep)
        if ep.name in found:
            prev_ep, prev_dist, prev_version = found[ep.name]
            if prev_ep.value == ep.value:
                continue  # the same distribution seen twice on sys.path
            raise PluginError(
                f"plugin name '{ep.name}' is registered twice: by {prev_dist} {prev_version} "
                f"({prev_ep.value}) and by {dist} {version} ({ep.value}); uninstall one of them"
            )
        found[ep.name] = (ep, dist, version)
    loaded = []
    for name, (ep, dist, version) in sorted(found.items()):
        try:
            module = ep.load()
        except Exception as exc:  # a broken third-party module must not look like a kernel bug
            if name in disabled or (only is not None and name not in only):
                continue
            raise PluginError(
                f"plugin '{name}' from {dist} {version} failed to load: {type(exc).__name__}: {exc}; "
                f"fix or uninstall it, or disable it with {DISABLE_ENV}={name} or plugins.disabled = [\"{name}\"]"
            ) from exc
        if only is not None and name not in only and not getattr(module, "ORION_ESSENTIAL", False):
            continue
        loaded.append((name, module, dist, version))
    return loaded


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise PluginError(
            f"plugin module '{name}' (plugins.modules) failed to import: {type(exc).__name__}: {exc}; "
            "check the name and that its package is installed"
        ) from exc


def load_plugins(
    *,
    disabled: Iterable[str] = (),
    modules: Iterable[str | ModuleType] = (),
    discover: bool = True,
    only: Iterable[str] | None = None,
) -> PluginSet:
    """Register entry-point plugins (unless ``discover`` is False) plus ``modules``.

    With ``only``, just the entry points of those names and every essential one
    (``ORION_ESSENTIAL = True``) are registered; tests use it to load a known set.

    Raises PluginError for a broken plugin, a name clash, a clash of task function names, or an
    attempt to disable an essential plugin.
    """
    disabled_set = set(disabled) | disabled_from_env()
    manager = pluggy.PluginManager("orion_kernel")
    manager.add_hookspecs(hookspecs)

    candidates: list[tuple[str, ModuleType, str, str]] = _discover(disabled_set, None if only is None else set(only)) if discover else []
    for item in modules:
        module = _import_module(item) if isinstance(item, str) else item
        dist, version = _module_distribution(module)
        name = getattr(module, "ORION_PLUGIN_NAME", module.__name__.rsplit(".", 1)[-1])
        if any(existing[0] == name for existing in candidates):
            if any(existing[1] is module for existing in candidates):
                continue
            raise PluginError(f"plugin name '{name}' is registered twice ({module.__name__}); rename one")
        candidates.append((name, module, dist, version))

    plugins: list[LoadedPlugin] = []
    for name, module, dist, version in candidates:
        essential = bool(getattr(module, "ORION_ESSENTIAL", False))
        if name in disabled_set:
            if essential:
                raise PluginError(f"plugin '{name}' ({dist}) is essential and cannot be disabled; remove it from the disabled list")
            continue
        manager.register(module, name=name)
        plugins.append(LoadedPlugin(name, module.__name__, dist, version, _hook_names(module), essential))

    plugin_set = PluginSet(manager=manager, plugins=plugins)
    _collect_functions(plugin_set)
    _collect_policies(plugin_set)
    plugin_set.expression_engine = manager.hook.orion_expression_engine()
    return plugin_set


def _collect_functions(plugin_set: PluginSet) -> None:
    manager = plugin_set.manager
    for impl in manager.hook.orion_task_functions.get_hookimpls():
        owner = impl.plugin_name
        for fn in impl.function() or ():
            for key in (fn.name, *fn.aliases):
                if key in plugin_set.functions:
                    other = plugin_set.function_owners[key]
                    raise PluginError(
                        f"task function '{key}' is provided by both plugin '{other}' and plugin '{owner}'; "
                        f"disable one with {DISABLE_ENV}"
                    )
                plugin_set.functions[key] = fn
                plugin_set.function_owners[key] = owner


def _collect_policies(plugin_set: PluginSet) -> None:
    for impl in plugin_set.manager.hook.orion_channel_policies.get_hookimpls():
        owner = impl.plugin_name
        for policy in impl.function() or ():
            key = policy.config_key
            if key in plugin_set.policies:
                other = plugin_set.policy_owners[key]
                raise PluginError(
                    f"channel config block '{key}' is claimed by policy plugins '{other}' and '{owner}'; "
                    f"disable one with {DISABLE_ENV}"
                )
            plugin_set.policies[key] = policy
            plugin_set.policy_owners[key] = owner
