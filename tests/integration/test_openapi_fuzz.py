"""Schema-driven fuzzing of the admin API with schemathesis: no request may get a 5xx.

The real application runs in-process on a SQLite file, served on a loopback port by a thread of
its own (schemathesis calls it synchronously). The schema is the document ``dump-openapi`` prints
(built at collection time from an application whose kernel is never started; the served bytes
are the same, see tests/kernel/test_openapi.py).
Every admin operation is fuzzed with generated path ids (mostly unknown entities); the ones on
``/{id}`` once more with the id of a workflow and a channel that exist (re-created whenever a
fuzzed call deleted them), so the generated bodies reach validation and the lifecycle rules.
Besides "no 5xx", every status, content type and body must be the documented ones. Bounded: 20
examples per operation, under a minute on two cores.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from orion_kernel.config import load_config
from orion_kernel.http.app import create_app
from orion_kernel.http.openapi import build_openapi
from orion_kernel.kernel import Kernel

ADMIN_PATHS = "^/api/v1/admin/"
ADMIN_PATHS_WITH_ID = r"^/api/v1/admin/.*\{id\}"
SEEDED_ID = "fuzz-target"
WORKFLOW = {"workflow_id": SEEDED_ID, "name": "Fuzz target",
            "tasks": [{"id": "log", "name": "Log", "function": {"name": "log", "input": {"message": "hi"}}}]}
CHANNEL = {"channel_id": SEEDED_ID, "name": "fuzz-target", "workflow_id": SEEDED_ID}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = hypothesis.settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is reproducible
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)

pytestmark = pytest.mark.integration


class AppThread:
    """The application served on 127.0.0.1 by an event loop in a background thread."""

    def __init__(self, directory: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="orion-fuzz-app", daemon=True)
        self.directory = directory
        self.url = ""

    def run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def _start(self) -> None:
        self.kernel = Kernel(load_config(None, env={"ORION_STORAGE__URL": f"sqlite:{self.directory}/orion.db",
                                                    "ORION_STORAGE__BACKUP_DIR": f"{self.directory}/backups"}))
        await self.kernel.start()
        self.runner = web.AppRunner(create_app(self.kernel))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        await self.runner.cleanup()
        await self.kernel.stop()

    def __enter__(self) -> AppThread:
        self.thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with AppThread(str(tmp_path_factory.mktemp("fuzz"))) as app:
        yield app.url


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def ensure_seeded(http: requests.Session, base: str) -> None:
    """(Re-)create the workflow and the channel with ``SEEDED_ID`` if a fuzzed call deleted them."""
    for kind, body in (("workflows", WORKFLOW), ("channels", CHANNEL)):
        if http.get(f"{base}/api/v1/admin/{kind}/{SEEDED_ID}", timeout=10).status_code == 404:
            created = http.post(f"{base}/api/v1/admin/{kind}", json=body, timeout=10)
            assert created.status_code == 201, created.text


def document_schema() -> schemathesis.BaseSchema:
    """The whole document, positive and negative cases."""
    document = build_openapi(create_app(Kernel(load_config(None, env={"ORION_STORAGE__URL": "sqlite::memory:"}))))
    config = schemathesis.Config.from_dict({"generation": {"mode": "all"}})
    return schemathesis.openapi.from_dict(document, config=config)


schema = document_schema()


@schema.include(path_regex=ADMIN_PATHS).parametrize()
@SETTINGS
def test_generated_ids_never_get_a_server_error(case: schemathesis.Case, app_url: str, http: requests.Session) -> None:
    case.call_and_validate(base_url=app_url, session=http, checks=CHECKS)


@schema.include(path_regex=ADMIN_PATHS_WITH_ID).parametrize()
@SETTINGS
def test_existing_entities_never_get_a_server_error(case: schemathesis.Case, app_url: str, http: requests.Session) -> None:
    ensure_seeded(http, app_url)
    case.path_parameters["id"] = SEEDED_ID
    case.call_and_validate(base_url=app_url, session=http, checks=CHECKS)
