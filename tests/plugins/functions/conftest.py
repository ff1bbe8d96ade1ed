"""Fixtures for the built-in task function tests: a real expression engine, no server.

Helpers are fixtures (not importable functions) so the tests work under any pytest import mode.
"""
from __future__ import annotations

from typing import Any

import pytest

from orion_builtins.expressions.datalogic import DatalogicEngine
from orion_kernel import Services, TaskFunction
from orion_kernel.task_inputs import prepare_params
from orion_kernel.testing import run_task

ENGINE = DatalogicEngine()


@pytest.fixture
def run():
    """``await run(fn, input, payload=..., data=..., metadata=..., temp_data=...)`` → (ctx, result)."""
    services = Services({}, ENGINE)

    async def _run(fn: TaskFunction, task_input: dict[str, Any], **message: Any):
        return await run_task(fn, task_input, services=services, **message)

    return _run


@pytest.fixture
def prepare():
    """``prepare(fn, input)`` → params loaded and compiled like the engine does; asserts validity."""

    def _prepare(fn: TaskFunction, task_input: Any) -> dict[str, Any]:
        params, errors = prepare_params(fn, task_input, ENGINE)
        assert errors == [], errors
        return params

    return _prepare


@pytest.fixture
def input_errors():
    """``input_errors(fn, input)`` → ``[(path, code, message), ...]`` the engine reports."""

    def _errors(fn: TaskFunction, task_input: Any) -> list[tuple[str, str, str]]:
        _, errors = prepare_params(fn, task_input, ENGINE)
        return [(e.path, e.code, e.message) for e in errors]

    return _errors
