"""Where a webhook may go: http(s) only, and never (unless allowed) to a private address (SSRF)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

MAX_URL = 2048


class TargetRefused(ValueError):
    """The target URL is malformed or resolves somewhere a webhook must not go; says why."""


def check_shape(url: str) -> str:
    """A well-formed absolute http(s) URL with a host and no credentials; returns it stripped."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise TargetRefused(f"target_url must be an http(s) URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise TargetRefused("target_url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("target_url must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise TargetRefused("target_url must not carry a user name or password")
    return url


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass(frozen=True)
class Pinned:
    """A target with its address fixed at check time: `url` names the checked address, and the
    request carries the original `host` (Host header) and, for https, `sni` (TLS server name and
    certificate check), so a DNS answer that changes between the check and the connection
    (rebinding) cannot send the request somewhere else."""

    url: str
    host: str | None = None
    sni: str | None = None


async def pin_target(url: str, allow_private: bool) -> Pinned:
    """Refuse a target that resolves (any of its addresses) to a private, loopback or link-local
    network, and pin the request to an address that was checked. Checked when subscribing and
    again before every attempt, since DNS can change."""
    url = check_shape(url)
    if allow_private:
        return Pinned(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"target host {host!r} does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(_forbidden(address) for address in addresses):
        raise TargetRefused(
            f"target host {host!r} resolves to a private, loopback or link-local address"
        )
    address = addresses[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Pinned(pinned, parts.netloc, host if parts.scheme == "https" else None)


async def check_target(url: str, allow_private: bool) -> str:
    """`pin_target` for callers that only need the verdict (a subscription being created)."""
    await pin_target(url, allow_private)
    return check_shape(url)
