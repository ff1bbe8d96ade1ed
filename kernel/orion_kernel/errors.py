"""Error types shared by the kernel and plugins: task failures and API errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- task failures: what a task function raises -----------------------------------------------

VALIDATION = "Validation error"
FUNCTION = "Function execution error"
TIMEOUT = "Timeout error"
LOGIC = "Logic evaluation error"
IO = "IO error"
HTTP = "HTTP error"
TASK = "Task error"


class TaskError(Exception):
    """A task failed; ``str()`` is ``"<kind>: <message>"`` as Orion renders it.

    The kind is the error class a caller sees as the text prefix; the data API picks the HTTP
    status from it when the failure stops a message (validation → 400, timeout → 504, else 500).
    """

    kind: str = FUNCTION

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class ValidationFailure(TaskError):
    """A task failed because its input or data is invalid (HTTP 400 when it stops a run)."""

    kind = VALIDATION


class TaskTimeout(TaskError):
    """A task ran out of time (HTTP 504 ``TIMEOUT_ERROR`` when it stops a run)."""

    kind = TIMEOUT


class LogicError(TaskError):
    """A JSONLogic expression in a task input failed to evaluate."""

    kind = LOGIC


class ExpressionError(Exception):
    """A JSONLogic expression failed to compile or evaluate."""


# --- API errors: what an HTTP handler raises ----------------------------------------------------


@dataclass
class FieldError:
    """One field-level problem, pointing into the submitted JSON (api-admin.md §1.5)."""

    path: str
    code: str
    message: str
    expected: Any = None
    got: Any = None
    has_got: bool = field(default=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "code": self.code, "message": self.message}
        if self.expected is not None:
            out["expected"] = self.expected
        if self.has_got:
            out["got"] = self.got
        return out


def field_error(path: str, code: str, message: str, **extra: Any) -> FieldError:
    """Build a FieldError; pass ``got=`` to include the received value (even ``None``)."""
    has_got = "got" in extra
    return FieldError(path, code, message, extra.get("expected"), extra.get("got"), has_got)


STATUS_BY_CODE: dict[str, int] = {
    "BAD_REQUEST": 400,
    "VALIDATION_ERROR": 400,
    "SERIALIZATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "UNPROCESSABLE": 422,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "CONFIG_ERROR": 500,
    "STORAGE_ERROR": 500,
    "QUEUE_ERROR": 500,
    "ENGINE_ERROR": 500,
    "RESPONSE_TOO_LARGE": 502,
    "SERVICE_UNAVAILABLE": 503,
    "CIRCUIT_OPEN": 503,
    "TIMEOUT": 504,
    "TIMEOUT_ERROR": 504,
}


class ApiError(Exception):
    """An HTTP error answered in the documented envelope ``{"error": {...}}``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS_BY_CODE.get(code, 500)
        self.details = details
        self.headers = headers

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            err["details"] = [d.to_json() for d in self.details]
        if request_id:
            err["request_id"] = request_id
        return {"error": err}


def not_found(message: str) -> ApiError:
    return ApiError("NOT_FOUND", message)


def bad_request(message: str) -> ApiError:
    return ApiError("BAD_REQUEST", message)


def conflict(message: str) -> ApiError:
    return ApiError("CONFLICT", message)


def validation_error(message: str, details: list[FieldError]) -> ApiError:
    return ApiError("VALIDATION_ERROR", message, details=details)


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the fix."""


class PluginError(Exception):
    """A plugin could not be loaded or clashes with another; the message names both and the fix."""


class RunAborted(Exception):
    """A task failure stopped the processing of a message (no further workflows ran)."""

    def __init__(self, cause: TaskError, workflow_id: str | None = None, task_id: str | None = None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.workflow_id = workflow_id
        self.task_id = task_id

    def __str__(self) -> str:
        return str(self.cause)
