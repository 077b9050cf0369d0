"""Who a request comes from (for throttling and the audit log), given how many proxies
in front of the app are trusted.

Each proxy appends the address it received the connection from to `X-Forwarded-For`, so
with N trusted proxies the client is the entry N from the right: everything left of it
was written by the client and is ignored (a browser can send any `X-Forwarded-For`).
With no trusted proxies the header is ignored and the connection's peer is the client.
"""

from __future__ import annotations

from ipaddress import ip_address

from core.security.rate_limits import UNKNOWN_CLIENT


def client_from(peer: str | None, headers: dict[str, str], *, trusted_proxies: int = 0) -> str:
    """The client's address, or `UNKNOWN_CLIENT` when it cannot be told (no peer address,
    as for a same-host proxy, or a forwarded chain shorter than the trusted proxies)."""
    if trusted_proxies > 0:
        forwarded = ",".join(v for k, v in headers.items() if k.lower() == "x-forwarded-for")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) < trusted_proxies:
            return UNKNOWN_CLIENT  # a request that did not pass through every trusted proxy
        return _address(hops[-trusted_proxies])
    return _address(peer) if peer else UNKNOWN_CLIENT


def _address(text: str) -> str:
    """`text` as a normalised IP address (so one client is one bucket), or UNKNOWN_CLIENT."""
    try:
        return str(ip_address(text.strip().strip("[]")))
    except ValueError:
        return UNKNOWN_CLIENT
