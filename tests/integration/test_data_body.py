"""Reading the data-API body: whole on arrival or in pieces, the size limit both ways (api-data.md §3)."""
from __future__ import annotations

import asyncio

import orjson
import pytest


LIMIT = 4096
JSON = {"Content-Type": "application/json"}
WORKFLOW = {"workflow_id": "echo", "name": "echo", "channel": "echo",
            "tasks": [{"id": "parse", "name": "parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": "in"}}}]}


@pytest.fixture
async def client(orion_client):
    return await orion_client(workflows=[WORKFLOW], config={"ingest": {"max_payload_size": LIMIT}})


async def slowly(body: bytes):
    """The body in pieces with pauses, so the handler starts before all of it has arrived."""
    for start in range(0, len(body), 100):
        yield body[start:start + 100]
        await asyncio.sleep(0.005)


async def test_a_body_arriving_in_pieces_is_read_whole(client):
    body = orjson.dumps({"data": {"text": "x" * 1000}})
    resp = await client.post("/api/v1/data/echo", data=slowly(body), headers=JSON)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["data"] == {"in": {"text": "x" * 1000}}


@pytest.mark.parametrize("pieces", [False, True], ids=["whole", "in-pieces"])
async def test_a_body_over_the_limit_is_refused(client, pieces):
    body = orjson.dumps({"data": "x" * (LIMIT + 10)})
    resp = await client.post("/api/v1/data/echo", data=slowly(body) if pieces else body, headers=JSON)
    payload = await resp.json()
    assert resp.status == 413 and payload["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_of_exactly_the_limit_is_accepted(client):
    padding = LIMIT - len(orjson.dumps({"data": ""}))
    body = orjson.dumps({"data": "x" * padding})
    assert len(body) == LIMIT
    resp = await client.post("/api/v1/data/echo", data=body, headers=JSON)
    assert resp.status == 200
