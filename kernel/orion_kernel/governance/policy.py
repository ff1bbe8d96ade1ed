"""The types a governance policy plugin works with: its descriptor, the request it sees, its reply."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from marshmallow import Schema, ValidationError

if TYPE_CHECKING:
    from ..expressions import ExpressionEngine
    from ..message import Message
    from .stores import StateStore

INGRESS_SYNC = "sync"  # POST /api/v1/data/{channel} and REST routes
INGRESS_ASYNC = "async"  # .../async submissions: policies run before the message is queued
INGRESS_CALL = "call"  # channel_call from another workflow, in-process
INGRESS_KAFKA = "kafka"  # a record consumed from a topic
ALL_INGRESS = frozenset({INGRESS_SYNC, INGRESS_ASYNC, INGRESS_CALL, INGRESS_KAFKA})


class ChannelRequest:
    """One message arriving at a channel, as every policy and the final run see it.

    ``message`` carries the payload and the metadata (``headers`` lower-cased, ``query``,
    ``params``); ``body`` is the raw request body when the message came over HTTP.
    ``client_ip`` is the client address (``resolve_client`` computes it on first use, so a channel
    whose policies never ask pays nothing for it).
    ``response_headers`` collects headers policies add to whatever the answer is (success or error).
    ``run_timeout`` (seconds, set by the ``timeout_ms`` policy) bounds the workflow run: the
    terminal runs the workflows inside ``asyncio.timeout(run_timeout)`` and lets TimeoutError out.
    """

    __slots__ = ("channel", "ingress", "message", "request_id", "body", "profile", "response_headers", "run_timeout",
                 "_client_ip", "_resolve_client")

    def __init__(
        self,
        channel: str,
        ingress: str,
        message: Message,
        request_id: str | None,
        client_ip: str | None = None,
        body: bytes | None = None,
        profile: bool = False,
        *,
        resolve_client: Callable[[], str] | None = None,
    ) -> None:
        self.channel = channel
        self.ingress = ingress
        self.message = message
        self.request_id = request_id
        self.body = body
        self.profile = profile
        self.response_headers: dict[str, str] = {}
        self.run_timeout: float | None = None
        self._client_ip = client_ip
        self._resolve_client = resolve_client

    @property
    def client_ip(self) -> str:
        if self._client_ip is None:
            self._client_ip = self._resolve_client() if self._resolve_client is not None else "unknown"
        return self._client_ip

    @property
    def headers(self) -> Mapping[str, str]:
        headers = self.message.context["metadata"].get("headers")
        return headers if isinstance(headers, dict) else {}


@dataclass(slots=True)
class Reply:
    """The outcome of a channel run: HTTP status, the serialized body, extra headers.

    ``message`` is the run's message when there was one (a cache hit or a replay has none).
    """

    status: int
    body: bytes
    headers: dict[str, str] | None = None
    message: Message | None = None


Proceed = Callable[[ChannelRequest], Awaitable[Reply]]


class Policy(Protocol):
    """A bound policy: answer early (raise ``ApiError`` or return a Reply) or call ``proceed``."""

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply: ...


class PolicyConfigError(Exception):
    """A channel config block a policy cannot bind; ``problems`` are ``(sub-path, message)`` pairs.

    Shape problems are reported at ``channel.config`` as a ChannelConfig shape mismatch
    (channels.md §3.2); with ``at_path`` (e.g. JSONLogic that does not compile) each problem is
    reported at its own path, ``channel.config.<block>.<sub-path>``.
    """

    def __init__(self, problems: list[tuple[str, str]], *, at_path: bool = False) -> None:
        super().__init__("; ".join(f"{path}: {text}" if path else text for path, text in problems))
        self.problems = problems
        self.at_path = at_path


@dataclass(frozen=True)
class PolicySetup:
    """What a policy may use when it binds: the engine, the server config, the shared state store."""

    expressions: ExpressionEngine
    config: Mapping[str, Any]
    store: StateStore
    local_store: StateStore  # this process's memory store (the fallback when ``store`` is remote)


@dataclass(frozen=True)
class ChannelPolicy:
    """A governance policy type, as a plugin registers it.

    ``bind(block, setup, channel)`` turns the channel's config block into a :class:`Policy`, or
    None when the block asks for nothing; it must not do I/O, and raises
    :class:`PolicyConfigError` for a block it cannot use (checked at channel create/update, so a
    bad block never reaches a request). ``order`` places it in the chain (lower runs first);
    ``ingress`` lists the paths it applies to. With ``binds_without_block`` it is also bound
    (with ``block=None``) for channels that don't configure it, e.g. a platform-wide default.
    """

    name: str
    config_key: str
    order: int
    bind: Callable[[Any, PolicySetup, str], Policy | None]
    ingress: frozenset[str] = ALL_INGRESS
    binds_without_block: bool = False
    description: str = ""


def load_block(schema: Schema, block: Any) -> dict[str, Any]:
    """Load a config block with a marshmallow schema; PolicyConfigError listing every problem."""
    if not isinstance(block, dict):
        raise PolicyConfigError([("", "Invalid input type.")])  # marshmallow's words for a non-object
    try:
        return schema.load(block)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        _flatten(exc.messages, "", problems)
        raise PolicyConfigError(problems) from None


def _flatten(messages: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    if isinstance(messages, dict):
        for key, sub in messages.items():
            path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            _flatten(sub, path, out)
    else:
        for text in messages if isinstance(messages, list) else [messages]:
            out.append((prefix, str(text)))
