"""Governance: the policy chain around every channel run (channels.md §4).

A policy plugin yields :class:`ChannelPolicy` descriptors; the kernel binds each channel's config
blocks to them when a snapshot is built and composes one chain per ingress path, so a channel
without policies calls its run directly.
"""
from .catalog import PolicyCatalog
from .client import ClientAddress
from .policy import (
    ALL_INGRESS,
    INGRESS_ASYNC,
    INGRESS_CALL,
    INGRESS_KAFKA,
    INGRESS_SYNC,
    ChannelPolicy,
    ChannelRequest,
    Policy,
    PolicyConfigError,
    PolicySetup,
    Proceed,
    Reply,
    load_block,
)
from .rate_limiter import STORE_FALLBACKS, RateLimiter, default_burst, platform_key, platform_limiter, refusal
from .store_failures import StoreFailures
from .stores import RateDecision, StateStore, StoreUnavailable

__all__ = [
    "ALL_INGRESS",
    "INGRESS_ASYNC",
    "INGRESS_CALL",
    "INGRESS_KAFKA",
    "INGRESS_SYNC",
    "STORE_FALLBACKS",
    "ChannelPolicy",
    "ChannelRequest",
    "ClientAddress",
    "Policy",
    "PolicyCatalog",
    "PolicyConfigError",
    "PolicySetup",
    "Proceed",
    "RateDecision",
    "RateLimiter",
    "Reply",
    "StateStore",
    "StoreFailures",
    "StoreUnavailable",
    "default_burst",
    "load_block",
    "platform_key",
    "platform_limiter",
    "refusal",
]
