"""``channel_call``: run another channel's workflows in-process, with cycle and depth limits."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
from marshmallow import Schema, fields, validate

from orion_kernel import (
    ApiError,
    ChannelNotFound,
    ExpressionError,
    LogicError,
    Message,
    RunAborted,
    TaskContext,
    TaskError,
    TaskFunction,
    TaskTimeout,
    ValidationFailure,
    field_error,
    hookimpl,
)
from orion_kernel import fields as orion_fields

DEPTH_KEY = "_orion_call_depth"
CHAIN_KEY = "_orion_call_chain"


class ChannelCallInput(Schema):
    channel = fields.String(metadata={"description": "Target channel name"})
    channel_logic = orion_fields.Logic(metadata={"description": "JSONLogic computing the target channel name; wins over channel"})
    data = orion_fields.AnyJson(metadata={"description": "Literal payload for the child message"})
    data_logic = orion_fields.Logic(metadata={"description": "JSONLogic computing the child payload; wins over data"})
    response_path = fields.String(metadata={"description": "Where to store the child's final data (default: merged into data)"})
    timeout_ms = fields.Integer(validate=validate.Range(min=1), metadata={"description": "Time limit of the whole child run"})


def check_target(params: dict[str, Any]) -> list:
    """Either ``channel`` or ``channel_logic`` is required."""
    if "channel" not in params and "channel_logic" not in params:
        return [field_error("", "REQUIRED", "config for function 'channel_call': one of 'channel' or 'channel_logic' is required")]
    return []


def _target(ctx: TaskContext, params: dict[str, Any]) -> str:
    if "channel_logic" in params:
        try:
            target = params["channel_logic"].evaluate(ctx.context)
        except ExpressionError as exc:
            raise LogicError(str(exc)) from None
        if not isinstance(target, str):
            raise ValidationFailure("channel_logic must evaluate to a string")
    else:
        target = params["channel"]
    if not target:
        raise ValidationFailure("channel_call: target channel name must not be empty")
    return target


def _child_payload(ctx: TaskContext, params: dict[str, Any]) -> Any:
    if "data_logic" in params:
        try:
            return params["data_logic"].evaluate(ctx.context)
        except ExpressionError as exc:
            raise LogicError(str(exc)) from None
    if "data" in params:
        return orjson.loads(orjson.dumps(params["data"]))
    return ctx.payload


async def run(ctx: TaskContext, params: dict[str, Any]) -> None:
    target = _target(ctx, params)
    metadata = ctx.metadata
    max_depth = ctx.services.config["engine"]["max_channel_call_depth"]
    depth = metadata.get(DEPTH_KEY, 0)
    chain = list(metadata.get(CHAIN_KEY) or ([metadata["channel"]] if metadata.get("channel") else []))
    if depth >= max_depth:
        raise ValidationFailure(f"channel_call: max call depth {max_depth} exceeded (chain: {' -> '.join(chain + [target])})")
    if target in chain:
        raise ValidationFailure(f"channel_call: cycle detected: {' -> '.join(chain + [target])}")

    child_metadata = orjson.loads(orjson.dumps({k: v for k, v in metadata.items() if k != "channel"}))
    child_metadata[DEPTH_KEY] = depth + 1
    child_metadata[CHAIN_KEY] = chain + [target]
    child = Message(_child_payload(ctx, params), child_metadata)
    timeout_ms = params.get("timeout_ms") or ctx.services.config["engine"]["default_channel_call_timeout_ms"]
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            await ctx.services.run_channel(target, child, request_id=ctx.request_id)
    except TimeoutError:
        raise TaskTimeout(f"channel_call to '{target}' timed out after {timeout_ms}ms") from None
    except ChannelNotFound:
        raise TaskError(f"channel_call to '{target}' failed: channel not found") from None
    except RunAborted as exc:
        raise TaskError(f"channel_call to '{target}' failed: {exc}") from None
    except ApiError as exc:  # a policy of the target channel refused the call (rate limit, validation, ...)
        if exc.code == "TIMEOUT":
            raise TaskTimeout(f"channel_call to '{target}' timed out: {exc.message}") from None
        raise TaskError(f"channel_call to '{target}' was refused: {exc.code}: {exc.message}") from None
    for key in [k for k in child.context["metadata"] if k.startswith("_orion_")]:
        del child.context["metadata"][key]
    ctx.write_output(params.get("response_path") or "data", child.context["data"])


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="channel_call",
        run=run,
        input_schema=ChannelCallInput,
        description="Invoke another channel's workflows in-process",
        category="composition",
        check_input=check_target,
    )
