"""Give the benchmark's fast tests the scenario module (loaded by path: works under any import mode)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_scenarios() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orion_bench_scenarios", Path(__file__).with_name("scenarios.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def scenarios() -> ModuleType:
    """The ``scenarios`` module: ``load``, ``load_all``, ``NAMES``, ``check_response``."""
    return _load_scenarios()
