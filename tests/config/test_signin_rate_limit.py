"""Posting the sign-in page is limited per address, beside the lockout: an address may
not try more than EQUINAV_THROTTLE_SIGNIN a minute, even with right passwords."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def user(db):
    user = factories.UserFactory(username="rate")
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(client, address: str):
    return client.post(
        "/accounts/login/",
        {"username": "rate", "password": PASSWORD},
        REMOTE_ADDR=address,
    )


def test_the_twenty_first_sign_in_in_a_minute_from_one_address_waits(client, user, settings):
    # Given the limit of 20 a minute from an address
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates["signin"] == "20/min"

    # When one address signs in 20 times, then once more
    answers = [_sign_in(client, "203.0.113.7").status_code for _ in range(20)]
    refused = _sign_in(client, "203.0.113.7")

    # Then the 20 went through and the 21st is told to wait, in words and in the header
    assert answers == [302] * 20
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Too many sign-in attempts from this address" in refused.content.decode()


def test_another_address_is_not_held_back_by_the_first(client, user):
    for _ in range(21):
        _sign_in(client, "203.0.113.7")

    assert _sign_in(client, "198.51.100.4").status_code == 302


def test_showing_the_page_is_not_limited(client):
    for _ in range(30):
        assert client.get("/accounts/login/", REMOTE_ADDR="203.0.113.7").status_code == 200
