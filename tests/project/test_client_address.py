"""Whose address the audit trail and the lockouts record: X-Forwarded-For is believed
only as far as our own proxies are configured (config/client_address.py)."""

from __future__ import annotations

import pytest

from config.client_address import client_address


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        # No proxy configured: a forged header changes nothing.
        (0, "203.0.113.9", "10.0.0.5"),
        # One proxy: the client is the last hop it appended.
        (1, "203.0.113.9", "203.0.113.9"),
        # One proxy, and a client that prepended a forged hop: the forgery is ignored.
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        # Two proxies: two hops from the right.
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        # Fewer hops than proxies, or garbage: the connection's own address.
        (2, "203.0.113.9", "10.0.0.5"),
        (1, "not-an-address", "10.0.0.5"),
    ],
)
def test_the_client_is_read_as_many_hops_from_the_right_as_we_have_proxies(
    rf, settings, proxies, forwarded, expected
):
    settings.EQUINAV_TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == expected
