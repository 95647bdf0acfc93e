"""API tokens (django-rest-knox): stored as digests, expiring, listed and revoked by
their owner, all revoked when the password changes; the token endpoint and the SMS
webhooks are rate-limited."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from navigator.services.passwords import user_password_set
from tests.factories import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-longer-new-passphrase-42"


def issue(user, **extra) -> dict:
    response = APIClient().post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD, **extra}
    )
    assert response.status_code == 200, response.content
    return response.json()


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_is_stored_only_as_a_digest_and_expires_after_ten_hours():
    user = UserFactory()
    start = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        body = issue(user)
        token = body["token"]

        # Stored: the digest and the first characters only
        row = AuthToken.objects.get(user=user)
        assert token not in {row.digest, row.token_key} and token.startswith(row.token_key)
        assert row.expiry == start + dt.timedelta(hours=10)
        assert with_token(token).get("/api/auth/tokens/").status_code == 200

        # Ten hours on, refused with the challenge that says how to authenticate
        clock.shift(dt.timedelta(hours=10, seconds=1))
        response = with_token(token).get("/api/auth/tokens/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def test_the_owner_lists_only_their_own_tokens_and_sees_which_one_they_used():
    user, other = UserFactory(), UserFactory()
    first, second = issue(user), issue(user)
    issue(other)

    rows = with_token(second["token"]).get("/api/auth/tokens/").json()

    assert {row["token_key"] for row in rows} == {first["token_key"], second["token_key"]}
    assert [row["current"] for row in rows if row["token_key"] == second["token_key"]] == [True]
    assert all("token" not in row for row in rows)


def test_a_revoked_token_stops_working_and_another_users_token_cannot_be_revoked():
    user, other = UserFactory(), UserFactory()
    mine, spare, theirs = issue(user), issue(user), issue(other)
    client = with_token(mine["token"])

    assert client.delete(f"/api/auth/tokens/{theirs['token_key']}/").status_code == 404
    assert with_token(theirs["token"]).get("/api/auth/tokens/").status_code == 200

    assert client.delete(f"/api/auth/tokens/{spare['token_key']}/").status_code == 204
    assert with_token(spare["token"]).get("/api/auth/tokens/").status_code == 401


def test_revoke_all_ends_every_token_of_the_caller_only():
    user, other = UserFactory(), UserFactory()
    tokens = [issue(user)["token"] for _ in range(3)]
    theirs = issue(other)["token"]

    response = with_token(tokens[0]).post("/api/auth/tokens/revoke-all/")

    assert response.json() == {"revoked": 3}
    assert all(with_token(t).get("/api/auth/tokens/").status_code == 401 for t in tokens)
    assert with_token(theirs).get("/api/auth/tokens/").status_code == 200


def test_a_password_change_revokes_all_the_users_tokens():
    user = UserFactory()
    token = issue(user)["token"]

    user_password_set(user=user, password=NEW_PASSWORD)

    assert with_token(token).get("/api/auth/tokens/").status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()


def test_a_weak_password_is_refused_and_the_tokens_stay():
    user = UserFactory()
    token = issue(user)["token"]

    with pytest.raises(Exception) as refused:
        user_password_set(user=user, password="short")

    assert "password" in refused.value.message_dict
    assert with_token(token).get("/api/auth/tokens/").status_code == 200


def test_the_admins_password_form_goes_through_the_service_and_revokes_tokens(client):
    admin = AdminFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    token = issue(user)["token"]
    client.force_login(admin)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert with_token(token).get("/api/auth/tokens/").status_code == 401


def test_a_user_has_at_most_ten_live_tokens():
    user = UserFactory()
    for _ in range(10):
        AuthToken.objects.create(user=user)

    response = APIClient().post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}
    )

    assert response.status_code == 403
    assert "revoke one" in response.json()["detail"]


def test_the_token_endpoint_allows_ten_requests_a_minute_from_an_address():
    user = UserFactory()
    client = APIClient()
    statuses = [
        client.post(
            "/api/auth/token/",
            {"username": user.username, "password": PASSWORD},
            REMOTE_ADDR="203.0.113.77",
        ).status_code
        for _ in range(11)
    ]
    # (ten tokens is also the per-user ceiling; the eleventh is refused by the rate first)
    assert statuses[:10] == [200] * 10
    response = client.post(
        "/api/auth/token/",
        {"username": user.username, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.77",
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"]


def test_the_sms_webhooks_are_rate_limited_per_address(settings, monkeypatch):
    # (DRF reads the rates once, into the throttle class)
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "webhook": "3/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    settings.TWILIO_AUTH_TOKEN = "webhook-token"
    client = APIClient()
    statuses = [
        client.post(reverse("api:sms-inbound"), {}, format="multipart").status_code
        for _ in range(4)
    ]
    # Unsigned requests are refused (403) until the limit, then slowed down (429)
    assert statuses == [403, 403, 403, 429]


def test_the_api_tokens_page_lists_and_revokes_the_owners_tokens(client):
    user = UserFactory()
    first, second = issue(user), issue(user)
    client.force_login(user)

    page = client.get(reverse("api_tokens")).content.decode()
    assert first["token_key"] in page and second["token_key"] in page
    assert first["token"] not in page

    client.post(reverse("api_tokens"), {"token_key": first["token_key"]})
    assert with_token(first["token"]).get("/api/auth/tokens/").status_code == 401
    client.post(reverse("api_tokens"), {"revoke_all": "1"})
    assert with_token(second["token"]).get("/api/auth/tokens/").status_code == 401
