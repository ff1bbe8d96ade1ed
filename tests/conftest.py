"""Shared pytest set-up: the kernel's own test helpers (the ``orion_client`` fixture)."""

pytest_plugins = ["orion_kernel.testing"]
