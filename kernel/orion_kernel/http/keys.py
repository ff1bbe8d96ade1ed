"""Typed application keys for aiohttp app state."""
from __future__ import annotations

from aiohttp import web

from ..kernel import Kernel

KERNEL = web.AppKey("kernel", Kernel)
