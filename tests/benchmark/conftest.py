"""The benchmark's modules for its fast tests, loaded by path (so any pytest import mode works)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"orion_bench_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def scenarios() -> ModuleType:
    """``scenarios.py``: ``load``, ``load_all``, ``NAMES``, ``check_response``."""
    return _load("scenarios")


@pytest.fixture(scope="session")
def wrk_module() -> ModuleType:
    """``wrk.py``: ``parse_wrk`` and friends."""
    return _load("wrk")
