"""orion-kernel: the small core of Orion. Plugins import only what this module exports."""
from __future__ import annotations

from . import fields, sql
from .context import RunInfo, TaskContext
from .errors import (
    ApiError,
    ConfigError,
    ExpressionError,
    FieldError,
    LogicError,
    PluginError,
    RunAborted,
    TaskError,
    TaskTimeout,
    ValidationFailure,
    field_error,
)
from .expressions import Expr, ExpressionEngine, Literal, compile_expression
from .message import Message, rfc3339_now, storage_now
from .paths import ROOTS, get_path, set_path, write_output
from .plugins import hookimpl
from .services import ChannelNotFound, Services
from .storage import StorageBackend, StorageConflict, StorageError, StorageTransaction
from .types import HALT, HALT_STATUS, SKIP, Outcome, TaskFunction, TaskResult

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "ChannelNotFound",
    "ConfigError",
    "Expr",
    "ExpressionEngine",
    "ExpressionError",
    "FieldError",
    "HALT",
    "HALT_STATUS",
    "Literal",
    "LogicError",
    "Message",
    "Outcome",
    "PluginError",
    "ROOTS",
    "RunAborted",
    "RunInfo",
    "Services",
    "SKIP",
    "StorageBackend",
    "StorageConflict",
    "StorageError",
    "StorageTransaction",
    "TaskContext",
    "TaskError",
    "TaskFunction",
    "TaskResult",
    "TaskTimeout",
    "ValidationFailure",
    "__version__",
    "compile_expression",
    "field_error",
    "fields",
    "get_path",
    "hookimpl",
    "rfc3339_now",
    "set_path",
    "sql",
    "storage_now",
    "write_output",
]
