"""Admin catalog routes (api-admin.md §6): the task functions and plugins this server has loaded.

``input_fields`` come from each function's input schema, the one create-time validation uses.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import fields, validate

from ..fields import AnyJson, Logic
from ..plugins import PluginSet
from ..types import TaskFunction
from .api_schemas import FunctionList, PluginList
from .common import json_response
from .keys import KERNEL
from .openapi import describe

# checked in order: subclasses before their bases
KINDS: tuple[tuple[type[fields.Field], str], ...] = (
    (Logic, "any"),
    (AnyJson, "any"),
    (fields.Boolean, "bool"),
    (fields.Number, "number"),
    (fields.String, "string"),
    (fields.List, "array"),
    (fields.Tuple, "array"),
    (fields.Dict, "object"),
)


def field_kind(field: fields.Field) -> str:
    """``string``, ``number``, ``bool``, ``object``, ``array`` or ``any``."""
    if isinstance(field, fields.Nested):
        return "array" if field.many else "object"
    return next((kind for cls, kind in KINDS if isinstance(field, cls)), "any")


def input_fields(fn: TaskFunction) -> list[dict[str, Any]]:
    """The top-level fields of a function's input schema (none when it declares no schema)."""
    if fn.input_schema is None:
        return []
    out = []
    for name, field in fn.input_schema().fields.items():
        entry: dict[str, Any] = {"name": field.data_key or name, "kind": field_kind(field), "required": field.required,
                                 "description": field.metadata.get("description", "")}
        if isinstance(field, Logic):
            entry["jsonlogic"] = True
        choices = next((v.choices for v in field.validators if isinstance(v, validate.OneOf)), None)
        if choices is not None:
            entry["allowed"] = list(choices)
        out.append(entry)
    return out


def describe_functions(plugins: PluginSet) -> list[dict[str, Any]]:
    """One entry per registered task function (aliases listed, not repeated), by name."""
    out = []
    for name in plugins.function_names():
        fn = plugins.functions[name]
        entry: dict[str, Any] = {
            "name": fn.name, "description": fn.description, "category": fn.category, "plugin": plugins.function_owners[name],
            "aliases": list(fn.aliases), "strict_input": fn.strict_input, "input_fields": input_fields(fn),
        }
        if fn.connector_kinds:
            entry["connector_kinds"] = list(fn.connector_kinds)
        out.append(entry)
    return out


@describe("List the registered task functions and their input fields", tag="Functions",
          responses={200: FunctionList})
async def list_functions(request: web.Request) -> web.Response:
    """List every registered task function with its input fields."""
    return json_response({"data": describe_functions(request.app[KERNEL].plugins)})


@describe("List the loaded plugins and the task functions each provides", tag="Functions",
          responses={200: PluginList})
async def list_plugins(request: web.Request) -> web.Response:
    """List the loaded plugins: name, module, distribution, version, hooks, and the task functions each provides."""
    plugins = request.app[KERNEL].plugins
    provided: dict[str, list[str]] = {}
    for name in plugins.function_names():
        provided.setdefault(plugins.function_owners[name], []).append(name)
    return json_response({"data": [{**plugin.to_json(), "functions": provided.get(plugin.name, [])} for plugin in plugins.plugins]})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/functions", list_functions)
    app.router.add_get("/api/v1/admin/plugins", list_plugins)
