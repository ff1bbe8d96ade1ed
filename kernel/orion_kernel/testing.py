"""Test helpers: run one task function directly, a kernel in-process, or the real server.

Use from a conftest: ``pytest_plugins = ["orion_kernel.testing"]``. That provides the
``orion_client`` fixture; ``run_task``, ``provision`` and ``orion_server`` are plain imports.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from .context import RunInfo, TaskContext
from .errors import TaskError
from .expressions import ExpressionEngine
from .governance import PolicyCatalog, PolicySetup
from .message import Message
from .plugins import load_plugins
from .services import Services
from .task_inputs import prepare_params
from .testing_server import OrionServer, orion_server, to_toml
from .types import TaskFunction, TaskResult

__all__ = [
    "OrionServer",
    "STANDARD_FUNCTION_PLUGINS",
    "STANDARD_POLICY_PLUGINS",
    "policy_catalog",
    "default_config",
    "default_expression_engine",
    "in_memory_config",
    "orion_client",
    "orion_server",
    "provision",
    "run_task",
    "to_toml",
]

#: Entry points ``orion_client`` loads besides the essential ones (storage, expressions).
STANDARD_FUNCTION_PLUGINS = (
    "parse_json", "parse_xml", "filter", "map", "validation", "publish_json", "publish_xml", "log", "channel_call",
)
#: The built-in governance policies and stores ``orion_client`` loads too.
STANDARD_POLICY_PLUGINS = (
    "rate_limit", "cors", "validation_logic", "deduplication", "response_cache", "backpressure", "timeout", "redis",
)
ADMIN = "/api/v1/admin"


@lru_cache(maxsize=1)
def default_expression_engine() -> ExpressionEngine:
    """The expression engine the installed plugins provide (datalogic by default)."""
    engine = load_plugins().expression_engine
    if engine is None:
        raise RuntimeError("no expression-engine plugin is installed")
    return engine


def default_config() -> dict[str, Any]:
    from .config import load_config

    return load_config(None, env={})


def policy_catalog(config: Mapping[str, Any] | None = None) -> PolicyCatalog:
    """The installed policies over a fresh memory store, as a kernel would bind them (no server)."""
    cfg = in_memory_config(config)
    plugins = load_plugins()
    store = plugins.state_store("memory://", cfg["governance"])
    engine = default_expression_engine()
    return PolicyCatalog(plugins.policies.values(), PolicySetup(engine, cfg, store, store))


async def run_task(
    fn: TaskFunction,
    task_input: dict[str, Any],
    *,
    payload: Any = None,
    data: Any = None,
    metadata: dict[str, Any] | None = None,
    temp_data: dict[str, Any] | None = None,
    services: Services | None = None,
) -> tuple[TaskContext, TaskResult | TaskError]:
    """Prepare ``task_input`` like the engine does and run ``fn`` once on a fresh message.

    Returns the task context (message, recorded changes) and the result, or the TaskError the
    function raised. Invalid input raises ``ValueError`` listing the FieldErrors.
    """
    engine = services.expressions if services else default_expression_engine()
    params, errors = prepare_params(fn, task_input, engine)
    if errors:
        raise ValueError("; ".join(f"{e.path}: {e.code}: {e.message}" for e in errors))
    message = Message(payload if payload is not None else {}, metadata if metadata is not None else {})
    if data is not None:
        message.context["data"] = data
    if temp_data is not None:
        message.context["temp_data"] = temp_data
    run = RunInfo(services or Services(default_config(), engine), channel=message.metadata.get("channel"))
    ctx = TaskContext(message, run)
    ctx.workflow_id, ctx.task_id = "test-workflow", "test-task"
    try:
        result: TaskResult | TaskError = await fn.run(ctx, params)
    except TaskError as exc:
        result = exc
    return ctx, result


# --- a kernel in-process: the orion_client fixture ------------------------------------------------

Definition = str | os.PathLike[str] | Mapping[str, Any]


class AdminHttp(Protocol):
    """What :func:`provision` needs: an aiohttp ``TestClient`` or a ``ClientSession(base_url=...)``."""

    def post(self, path: str, **kwargs: Any) -> Any: ...

    def patch(self, path: str, **kwargs: Any) -> Any: ...


def in_memory_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The validated configuration for an in-process test kernel: defaults, in-memory SQLite,
    then ``overrides`` (nested like config.toml); the environment is ignored."""
    from .config import load_config

    settings = _merge({"storage": {"url": "sqlite::memory:"}}, overrides or {})
    handle, path = tempfile.mkstemp(prefix="orion-test-", suffix=".toml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(to_toml(settings))
        return load_config(path, env={})
    finally:
        os.unlink(path)


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _load_definitions(items: Iterable[Definition], base: Path) -> list[dict[str, Any]]:
    """Definitions as dicts: mappings as given, paths read as JSON (relative to ``base``, then cwd).

    A file may hold one object or a list of them.
    """
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Mapping):
            out.append(dict(item))
            continue
        path = Path(item)
        if not path.is_absolute() and (base / path).exists():
            path = base / path
        loaded = json.loads(path.read_text(encoding="utf-8"))
        out.extend(loaded if isinstance(loaded, list) else [loaded])
    return out


async def _admin_call(http: AdminHttp, method: str, path: str, body: Any, expected: int, what: str) -> dict[str, Any]:
    async with getattr(http, method)(path, json=body) as resp:
        text = await resp.text()
        if resp.status != expected:
            raise AssertionError(f"provisioning {what}: {method.upper()} {path} answered {resp.status}, "
                                 f"expected {expected}: {text}")
        return json.loads(text)["data"]


async def provision(
    http: AdminHttp,
    workflows: Iterable[Mapping[str, Any]] = (),
    channels: Iterable[Mapping[str, Any]] = (),
) -> None:
    """Create and activate ``workflows``, then ``channels``, through the admin API.

    A workflow with a ``channel`` key runs on the channel of that name; when no given channel has
    that name, a minimal one (``{"name": ...}``: sync, POST ``/<name>``) is created for it.
    Raises AssertionError naming the call and the response when any step fails.
    """
    channels = [dict(c) for c in channels]
    named = {c.get("name") for c in channels}
    for workflow in workflows:
        created = await _admin_call(http, "post", f"{ADMIN}/workflows", workflow, 201,
                                    f"workflow {workflow.get('workflow_id') or workflow.get('name')!r}")
        workflow_id = created["workflow_id"]
        await _admin_call(http, "patch", f"{ADMIN}/workflows/{workflow_id}/status", {"status": "active"}, 200,
                          f"workflow {workflow_id!r}")
        bound = workflow.get("channel")
        if isinstance(bound, str) and bound not in named:
            channels.append({"name": bound})
            named.add(bound)
    for channel in channels:
        created = await _admin_call(http, "post", f"{ADMIN}/channels", channel, 201,
                                    f"channel {channel.get('channel_id') or channel.get('name')!r}")
        channel_id = created["channel_id"]
        await _admin_call(http, "patch", f"{ADMIN}/channels/{channel_id}/status", {"status": "active"}, 200,
                          f"channel {channel_id!r}")


OrionClientFactory = Callable[..., Awaitable[TestClient]]


@pytest_asyncio.fixture
async def orion_client(aiohttp_client: Any, request: pytest.FixtureRequest) -> OrionClientFactory:
    """Factory: ``client = await orion_client(plugins=[module], workflows=["wf.json"], channels=[...],
    config={...})`` starts a kernel on in-memory SQLite with the essential built-ins, the standard
    task functions and ``plugins`` (no other entry points), provisions the definitions (paths are
    relative to the test file) and returns the aiohttp test client. Stopped after the test.
    """
    from .http.app import create_app
    from .kernel import Kernel

    base = Path(str(request.path)).parent

    async def start(
        *,
        plugins: Iterable[ModuleType | str] = (),
        workflows: Iterable[Definition] = (),
        channels: Iterable[Definition] = (),
        config: Mapping[str, Any] | None = None,
    ) -> TestClient:
        cfg = in_memory_config(config)
        plugin_set = load_plugins(
            only=(*STANDARD_FUNCTION_PLUGINS, *STANDARD_POLICY_PLUGINS),
            modules=[*plugins, *cfg["plugins"]["modules"]],
            disabled=cfg["plugins"]["disabled"],
        )
        kernel = Kernel(cfg, plugin_set)
        await kernel.start(migrate=True, watch=False)
        app = create_app(kernel)

        async def stop_kernel(_: Any) -> None:
            await kernel.stop()

        app.on_cleanup.append(stop_kernel)
        client: TestClient = await aiohttp_client(app)
        await provision(client, _load_definitions(workflows, base), _load_definitions(channels, base))
        return client

    return start
