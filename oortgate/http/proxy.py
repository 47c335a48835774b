"""Deployment behind a proxy: X-Forwarded-Proto/-Host/-For, honoured only from the
addresses the operator trusts (``trusted_proxies``); anyone else could forge them."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from oortgate.networks import Network


def is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@dataclass(slots=True)  # one per request: not frozen, for a cheap __init__
class Origin:
    host: str | None  # the Host the client used (what it signed)
    client: str  # the client's address (anonymous rate limits)
    https: bool  # whether the client's own connection was HTTPS


def origin(
    peer: str, headers: Mapping[str, str], https: bool, networks: tuple[Network, ...]
) -> Origin:
    host = headers.get("host")
    if not networks or not is_trusted(peer, networks):
        return Origin(host, peer, https)
    forwarded_host = headers.get("x-forwarded-host", "").split(",")[0].strip() or host
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    # The client is the right-most address that is not one of our proxies.
    hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    client = next((h for h in reversed(hops) if not is_trusted(h, networks)), peer)
    return Origin(forwarded_host, client, proto == "https" if proto else https)
