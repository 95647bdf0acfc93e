"""The address a request came from, for the audit trail and sign-in lockouts.

Behind a load balancer every request's `REMOTE_ADDR` is the balancer's, and the
client's address is in `X-Forwarded-For` - a header any client can also send, with
any address in it. So the header is believed only as far as it is configured:
`EQUINAV_TRUSTED_PROXY_COUNT` proxies of ours each append the address they saw, and
the client is the entry that many places from the right. Zero (the default, no proxy)
reads `REMOTE_ADDR` alone.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    proxies = getattr(settings, "EQUINAV_TRUSTED_PROXY_COUNT", 0)
    remote = _valid(request.META.get("REMOTE_ADDR", ""))
    if proxies <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        # Fewer hops than proxies: the request did not come through them all.
        return remote
    return _valid(hops[-proxies]) or remote
