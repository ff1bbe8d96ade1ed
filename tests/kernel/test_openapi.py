"""The OpenAPI document (config-and-ops.md §6.5): valid, complete, served, printed by ``dump-openapi``."""
from __future__ import annotations

import orjson
import pytest
from aiohttp import web
from openapi_spec_validator import validate

from orion_kernel import __version__
from orion_kernel.cli import main
from orion_kernel.config import load_config
from orion_kernel.http.api_docs import ASSETS, DOCS_CSP, OPENAPI_CACHE, openapi_json
from orion_kernel.http.app import create_app
from orion_kernel.http.keys import KERNEL
from orion_kernel.http.middleware import SECURITY_HEADERS
from orion_kernel.http.openapi import (
    ANY_METHOD,
    TAGS,
    Undocumented,
    build_openapi,
    describe,
    description_of,
    undescribed_routes,
    undocumented,
)
from orion_kernel.kernel import Kernel

ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def make_app(tmp_path, **env: str) -> web.Application:
    """The application of a kernel that is never started (building the document needs no storage)."""
    return create_app(Kernel(load_config(None, env={"ORION_STORAGE__URL": f"sqlite:{tmp_path / 'orion.db'}", **env})))


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def document(app):
    return build_openapi(app)


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_info_tags_and_the_shared_error_envelope(document):
    assert document["info"]["title"] == "Orion — Declarative Services Runtime API"
    assert document["info"]["version"] == __version__
    assert document["info"]["license"]["name"] == "Apache-2.0"
    assert [tag["name"] for tag in document["tags"]] == [
        "Workflows", "Channels", "Connectors", "Engine", "Functions", "Data", "Operational"]
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message"}
    assert body["properties"]["details"]["items"] == {"$ref": "#/components/schemas/FieldError"}


def test_every_registered_route_is_described(app):
    assert undescribed_routes(app) == [], (
        "describe these handlers with @describe(...) from orion_kernel.http.openapi "
        "(or @undocumented(reason) for a route that is not part of the API)")


def test_every_described_route_is_in_the_document(app, document):
    """Method and path of each route of ``app.router`` (aiohttp's ``{id}`` paths), HEAD aside."""
    seen = 0
    for route in app.router.routes():
        path, method = route.resource.canonical, route.method
        if method == "HEAD" and any(r.method == "GET" for r in route.resource):
            continue
        if isinstance(description_of(route.handler), Undocumented):
            assert path not in document["paths"]
            continue
        for verb in ANY_METHOD if method == "*" else (method.lower(),):
            assert verb in document["paths"].get(path, {}), f"{verb.upper()} {path} is missing from the document"
            seen += 1
    assert seen == sum(len(operations) for operations in document["paths"].values())


def test_the_paths_the_spec_names_are_there(document):
    for path in ("/api/v1/data/traces", "/api/v1/data/traces/{id}", "/health", "/healthz", "/readyz",
                 "/api/v1/openapi.json", "/docs", "/api/v1/admin/workflows/{id}/rollout", "/api/v1/admin/channels/{id}"):
        assert path in document["paths"], path


def test_each_operation_has_a_summary_a_known_tag_and_enveloped_errors(document):
    ids = []
    for path, operations in document["paths"].items():
        for verb, operation in operations.items():
            where = f"{verb.upper()} {path}"
            assert operation["summary"], where
            assert len(operation["tags"]) == 1 and operation["tags"][0] in TAGS, where
            ids.append(operation["operationId"])
            for status, response in operation["responses"].items():
                probe_body = status == "503" and path in ("/health", "/readyz")  # a degraded probe answers its own body
                if status == "default" or (int(status) >= 400 and not probe_body):
                    assert response["content"]["application/json"]["schema"] == ERROR_REF, f"{where} {status}"
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == set(path.replace("}", "{").split("{")[1::2]), where
    assert len(ids) == len(set(ids))


def test_admin_writes_document_their_bodies_and_responses(document):
    paths = document["paths"]
    schema_of = lambda operation: operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]  # noqa: E731
    assert schema_of(paths["/api/v1/admin/workflows"]["post"]) == "WorkflowInput"
    assert schema_of(paths["/api/v1/admin/workflows/{id}"]["put"]) == "WorkflowUpdate"
    assert schema_of(paths["/api/v1/admin/workflows/{id}/status"]["patch"]) == "WorkflowStatusBody"
    assert schema_of(paths["/api/v1/admin/workflows/{id}/rollout"]["patch"]) == "RolloutBody"
    assert schema_of(paths["/api/v1/admin/channels"]["post"]) == "ChannelInput"
    assert schema_of(paths["/api/v1/admin/channels/{id}/status"]["patch"]) == "ChannelStatusBody"
    assert paths["/api/v1/data/{path}"]["post"]["requestBody"]["required"] is False
    created = paths["/api/v1/admin/workflows"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WorkflowEnvelope"}
    assert "content" not in paths["/api/v1/admin/workflows/{id}"]["delete"]["responses"]["204"]
    listing = {p["name"] for p in paths["/api/v1/admin/channels"]["get"]["parameters"]}
    assert listing == {"limit", "offset", "sort_by", "sort_order", "status", "channel_type", "protocol"}
    imported = paths["/api/v1/admin/workflows/import"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert imported == {"type": "array", "items": {"$ref": "#/components/schemas/WorkflowInput"}, "maxItems": 1000}
    assert list(paths["/api/v1/admin/backups/{name}"]["get"]["responses"]["200"]["content"]) == ["application/vnd.sqlite3"]
    status = document["components"]["schemas"]["WorkflowStatusBody"]
    assert status["properties"]["status"]["enum"] == ["draft", "active", "archived"]
    assert status["additionalProperties"] is False  # unknown keys are refused, as load_body does


def test_a_route_without_a_description_is_reported_and_left_out(app):
    async def described(request: web.Request) -> web.Response:
        return web.Response()

    async def bare(request: web.Request) -> web.Response:
        return web.Response()

    async def hidden(request: web.Request) -> web.Response:
        return web.Response()

    extra = web.Application()
    extra[KERNEL] = app[KERNEL]
    extra.router.add_get("/described/{name}", describe("Described", tag="Operational")(described))
    extra.router.add_post("/bare", bare)
    extra.router.add_get("/hidden", undocumented("a test")(hidden))
    assert undescribed_routes(extra) == ["POST /bare"]
    document = build_openapi(extra)
    assert list(document["paths"]) == ["/described/{name}"]
    [param] = document["paths"]["/described/{name}"]["get"]["parameters"]
    assert param == {"in": "path", "name": "name", "required": True, "schema": {"type": "string"}}


def test_describe_refuses_an_unknown_tag():
    with pytest.raises(ValueError, match="OpenAPI tag 'Admin'"):
        describe("x", tag="Admin")


@pytest.mark.parametrize(("header", "scheme"), [
    ("Authorization", {"type": "http", "scheme": "bearer"}),
    ("X-API-Key", {"type": "apiKey", "in": "header", "name": "X-API-Key"}),
])
def test_admin_auth_declares_the_admin_credential_on_admin_routes_only(tmp_path, header, scheme):
    app = make_app(tmp_path, ORION_ADMIN_AUTH__ENABLED="true", ORION_ADMIN_AUTH__API_KEY="s3cret",
                   ORION_ADMIN_AUTH__HEADER=header)
    document = build_openapi(app)
    validate(document)
    declared = document["components"]["securitySchemes"]["adminApiKey"]
    assert {key: declared[key] for key in scheme} == scheme
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert ("security" in operation) == path.startswith("/api/v1/admin"), path


async def test_the_documentation_is_not_behind_admin_auth(aiohttp_client, tmp_path):
    app = make_app(tmp_path, ORION_ADMIN_AUTH__ENABLED="true", ORION_ADMIN_AUTH__API_KEY="s3cret")
    client = await aiohttp_client(app)
    for path in ("/api/v1/openapi.json", "/docs", "/docs/swagger-initializer.js", "/docs/static/swagger-ui.css"):
        assert (await client.get(path)).status == 200, path
    assert (await client.get("/api/v1/admin/functions")).status == 401


def test_without_admin_auth_nothing_declares_a_credential(document):
    assert "securitySchemes" not in document.get("components", {})


async def test_the_endpoint_serves_the_document_built_once(aiohttp_client, app):
    client = await aiohttp_client(app)
    first = await client.get("/api/v1/openapi.json")
    assert first.status == 200
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    body = await first.read()
    assert body == openapi_json(app)
    cached = app[OPENAPI_CACHE].body
    assert await (await client.get("/api/v1/openapi.json")).read() == body
    assert app[OPENAPI_CACHE].body is cached


@pytest.mark.parametrize("path", ["/docs", "/docs/"])
async def test_the_docs_page_loads_only_local_files_with_a_relaxed_csp(aiohttp_client, app, path):
    client = await aiohttp_client(app)
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.headers["Content-Security-Policy"] == DOCS_CSP
    page = await resp.text()
    assert "/docs/static/swagger-ui-bundle.js" in page and "/docs/swagger-initializer.js" in page
    assert "http:" not in page and "https:" not in page and "//" not in page.replace("<!DOCTYPE", "")
    initializer = await client.get("/docs/swagger-initializer.js")
    assert initializer.headers["Content-Type"].startswith("application/javascript")
    assert '"/api/v1/openapi.json"' in await initializer.text()
    # every other response keeps the strict policy
    assert (await client.get("/healthz")).headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]


async def test_swagger_ui_assets_come_from_the_installed_package(aiohttp_client, app):
    client = await aiohttp_client(app)
    for name in ASSETS:
        resp = await client.get(f"/docs/static/{name}")
        assert resp.status == 200, name
        assert len(await resp.read()) > 100, name
    for name in ("swagger-editor-bundle.js", "..%2f__init__.py", "index.html"):
        resp = await client.get(f"/docs/static/{name}")
        assert resp.status == 404, name
        assert (await resp.json())["error"]["code"] == "NOT_FOUND"


def test_dump_openapi_prints_the_served_document_without_opening_storage(capsysbinary, monkeypatch, tmp_path, app):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORION_STORAGE__URL", f"sqlite:{tmp_path / 'dump.db'}")
    assert main(["dump-openapi"]) == 0
    out = capsysbinary.readouterr().out
    assert out == openapi_json(app) + b"\n"
    assert orjson.loads(out)["openapi"] == "3.1.0"
    assert not (tmp_path / "dump.db").exists()
