"""API documentation routes: ``/api/v1/openapi.json`` and the Swagger UI at ``/docs`` (config-and-ops.md §6.5).

The Swagger UI's files come from the installed ``swagger-ui-py`` distribution, so the page works
without network access. Neither route is behind admin authentication.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import orjson
from aiohttp import web

from ..errors import not_found
from .common import JSON_CONTENT_TYPE
from .middleware import CONTENT_SECURITY_POLICY
from .openapi import build_openapi, describe, undocumented

OPENAPI_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/docs"
STATIC_PATH = "/docs/static"
#: the Swagger UI files the page loads (the distribution ships more, e.g. the editor)
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")
# Swagger UI sets inline styles and data: images; everything else stays same-origin.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")

PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orion API</title>
<link rel="icon" type="image/png" href="{STATIC_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="{STATIC_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{STATIC_PATH}/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/swagger-initializer.js"></script>
</body>
</html>
"""

# validatorUrl null: the default badge would ask a public validator about the document.
INITIALIZER = f"""window.onload = function () {{
  window.ui = SwaggerUIBundle({{url: "{OPENAPI_PATH}", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null}});
}};
"""


class DocumentCache:
    """The serialized document of one application, built on first use (routes are fixed by then)."""

    def __init__(self) -> None:
        self.body: bytes | None = None


OPENAPI_CACHE = web.AppKey("openapi_cache", DocumentCache)


def openapi_json(app: web.Application) -> bytes:
    """The OpenAPI document of ``app`` as indented JSON: what the endpoint serves and ``dump-openapi`` prints."""
    return orjson.dumps(build_openapi(app), option=orjson.OPT_INDENT_2)


@describe("This OpenAPI document", tag="Operational", responses={200: JSON_CONTENT_TYPE})
async def openapi_document(request: web.Request) -> web.Response:
    cache = request.app[OPENAPI_CACHE]
    if cache.body is None:
        cache.body = openapi_json(request.app)
    return web.Response(body=cache.body, content_type=JSON_CONTENT_TYPE)


@describe("Swagger UI for this document", tag="Operational", responses={200: "text/html"})
async def swagger_ui(request: web.Request) -> web.Response:
    request[CONTENT_SECURITY_POLICY] = DOCS_CSP
    return web.Response(text=PAGE, content_type="text/html")


@undocumented("part of the Swagger UI page")
async def swagger_initializer(request: web.Request) -> web.Response:
    return web.Response(text=INITIALIZER, content_type="application/javascript")


@functools.cache
def assets_dir() -> Path | None:
    """The installed Swagger UI files, found without importing ``swagger_ui`` (its package imports jinja2)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@undocumented("Swagger UI assets")
async def swagger_asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    directory = assets_dir()
    if name not in ASSETS:
        raise not_found(f"No Swagger UI asset '{name[:64]}'")
    if directory is None or not (directory / name).is_file():
        raise not_found(f"Swagger UI asset '{name}' is not installed; reinstall orion-kernel (it depends on swagger-ui-py)")
    return web.FileResponse(directory / name, headers={"Cache-Control": "public, max-age=86400"})


def add_routes(app: web.Application) -> None:
    app[OPENAPI_CACHE] = DocumentCache()
    app.router.add_get(OPENAPI_PATH, openapi_document)
    app.router.add_get(DOCS_PATH, swagger_ui)
    app.router.add_get(DOCS_PATH + "/", swagger_ui)
    app.router.add_get(DOCS_PATH + "/swagger-initializer.js", swagger_initializer)
    app.router.add_get(STATIC_PATH + "/{name}", swagger_asset)
