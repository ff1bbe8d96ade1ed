"""Who the client is: the TCP peer, or the forwarded address when the peer is a trusted proxy."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

UNKNOWN = "unknown"


class ClientAddress:
    """Resolves the client address of a request (``server.trusted_proxies``)."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.networks = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        self._trusted = lru_cache(maxsize=1024)(self._is_trusted)

    def _is_trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def resolve(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """The peer address, unless it is a trusted proxy that names the client.

        Then the nearest ``X-Forwarded-For`` entry that is not itself a trusted proxy (read from
        the right: entries further left were written by the client and may be forged), else
        ``X-Real-IP``. Forwarded headers from any other peer are ignored, so a client cannot
        choose its own rate-limit bucket.
        """
        if not peer:
            return UNKNOWN
        if not self.networks or not self._trusted(peer):
            return peer
        hops = [hop.strip() for hop in headers.get("x-forwarded-for", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        if hops:
            return hops[0]
        return headers.get("x-real-ip", "").strip() or peer
