"""Every hook is documented with its exact signature and exercised by a test."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from orion_kernel import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOK_DOC = (ROOT / "docs" / "plugins" / "hooks.md").read_text()
HOOKS = sorted(name for name, obj in vars(hookspecs).items() if name.startswith("orion_") and callable(obj))


def signature_text(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_there_are_hooks():
    assert HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_exact_signature(hook):
    assert f"### `{signature_text(hook)}`" in HOOK_DOC


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    test_files = [p for p in (ROOT / "tests").rglob("test_*.py") if p.name != "test_docs.py"]
    assert any(hook in p.read_text() for p in test_files), f"no test mentions {hook}"
