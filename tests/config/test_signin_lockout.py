"""Sign-in lockout (django-axes): a username is locked after five failures from any
addresses, an address after five failures against any usernames; while locked not even
the right password works, no password is checked at all, and the page says so without
telling whether the account exists. The API's token endpoint shares the same lockout."""

from __future__ import annotations

import datetime as dt
import logging
import re
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.hashers import get_hasher
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


def sign_in(client, username, password, address="203.0.113.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def alert(response) -> str:
    return re.search(
        r'<div class="form-alert" role="alert">(.*?)</div>', response.content.decode(), re.S
    )[1]


@pytest.fixture
def verify_spy():
    """Counts every password the hasher is asked to verify."""
    hasher = type(get_hasher())
    with mock.patch.object(hasher, "verify", autospec=True, side_effect=hasher.verify) as spy:
        yield spy


def test_a_hundred_guesses_from_a_hundred_addresses_check_at_most_five_passwords(
    client, verify_spy
):
    # Given an account
    user = UserFactory()

    # When someone tries 100 wrong passwords on it, each from a different address
    for n in range(100):
        sign_in(client, user.username, f"guess-{n}", address=f"198.51.100.{n + 1}")

    # Then only the first five passwords were ever checked
    assert verify_spy.call_count <= 5
    # And the right password, from yet another address, does not sign in while locked
    response = sign_in(client, user.username, PASSWORD, address="192.0.2.200")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert verify_spy.call_count <= 5


def test_the_locked_page_says_so_plainly_and_alike_for_a_username_that_does_not_exist(client):
    user = UserFactory()
    for n in range(5):
        sign_in(client, user.username, f"guess-{n}", address=f"198.51.100.{n + 1}")
        sign_in(client, "nobody-by-this-name", f"guess-{n}", address=f"198.51.100.{n + 50}")

    real = sign_in(client, user.username, PASSWORD, address="192.0.2.7")
    made_up = sign_in(client, "nobody-by-this-name", PASSWORD, address="192.0.2.8")

    # Then both answers are 429 with Retry-After and the same words, shown as an alert
    for response in (real, made_up):
        assert response.status_code == 429
        assert int(response["Retry-After"]) == 15 * 60
        html = response.content.decode()
        assert 'role="alert"' in html
        assert "Too many failed sign-in attempts" in html
        assert "15 minutes" in html
    assert alert(real) == alert(made_up)


def test_an_address_is_locked_after_five_failures_against_different_usernames(client):
    # Given five failures from one address, each against another account
    users = UserFactory.create_batch(6)
    for user in users[:5]:
        sign_in(client, user.username, "wrong-password", address="203.0.113.9")

    # When the sixth account's owner signs in correctly from that address
    response = sign_in(client, users[5].username, PASSWORD, address="203.0.113.9")

    # Then the address is locked, but the same account from elsewhere is fine
    assert response.status_code == 429
    assert sign_in(client, users[5].username, PASSWORD, address="203.0.113.10").status_code == 302


def test_four_failures_then_the_right_password_signs_in_and_clears_the_count(client):
    user = UserFactory()
    for n in range(4):
        sign_in(client, user.username, f"guess-{n}")

    assert sign_in(client, user.username, PASSWORD).status_code == 302
    client.logout()
    for n in range(4):
        sign_in(client, user.username, f"guess-again-{n}")
    assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, settings):
    user = UserFactory()
    start = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for n in range(5):
            sign_in(client, user.username, f"guess-{n}")
        assert sign_in(client, user.username, PASSWORD).status_code == 429

        # A failure while locked started the cool-off again; 15 minutes after it, open.
        clock.shift(dt.timedelta(minutes=16))
        assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_the_token_endpoint_shares_the_lockout(client, api):
    # Given five failures on the sign-in page
    user = UserFactory()
    for n in range(5):
        sign_in(client, user.username, f"guess-{n}", address=f"198.51.100.{n + 1}")

    # When the right password is sent to the API's token endpoint from elsewhere
    response = api.post(
        "/api/auth/token/",
        {"username": user.username, "password": PASSWORD},
        REMOTE_ADDR="192.0.2.44",
    )

    # Then no token: 429 with a JSON reason and Retry-After
    assert response.status_code == 429
    assert "token" not in response.json()
    assert "Too many failed sign-in attempts" in response.json()["detail"]
    assert response["Retry-After"]


def test_failures_on_the_token_endpoint_lock_the_sign_in_page_too(client, api):
    user = UserFactory()
    statuses = [
        api.post(
            "/api/auth/token/",
            {"username": user.username, "password": f"guess-{n}"},
            REMOTE_ADDR=f"198.51.100.{n + 1}",
        ).status_code
        for n in range(5)
    ]

    # The fifth failure is the one that locks: it is answered as locked already
    assert statuses == [400, 400, 400, 400, 429]

    assert sign_in(client, user.username, PASSWORD, address="192.0.2.45").status_code == 429


def test_failures_and_the_lockout_are_logged_without_the_passwords(client, caplog):
    user = UserFactory()
    with caplog.at_level(logging.INFO, logger="equinav.security"):
        for n in range(6):
            sign_in(client, user.username, f"secret-guess-{n}")

    lines = [r.getMessage() for r in caplog.records if r.name == "equinav.security"]
    assert sum(line.startswith("sign_in_failed") for line in lines) == 6
    assert any(line.startswith("lockout") and user.username in line for line in lines)
    assert not any("secret-guess" in line for line in lines)
    assert not any("secret-guess" in r.getMessage() for r in caplog.records)
