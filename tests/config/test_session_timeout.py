"""Sessions end after 15 minutes without activity and 12 hours in all
(config.session_timeout); the session's status does not count as activity, "Stay
signed in" does. Pages carry the warning dialog and its script, never inline."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 4, 14, 0, tzinfo=dt.UTC)
HOME = reverse("home")
PAGE = reverse("api_tokens")  # any signed-in page
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def production_limits(settings):
    settings.EQUINAV_SESSION_IDLE_SECONDS = 900
    settings.EQUINAV_SESSION_MAX_SECONDS = 43_200


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def signed_in(client, clock):
    user = UserFactory()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def test_activity_keeps_the_session_and_fifteen_idle_minutes_end_it(signed_in, clock):
    # Activity every 14 minutes keeps the session going
    for _ in range(3):
        clock.shift(minutes(14))
        assert signed_in.get(PAGE).status_code == 200

    # Then 15 minutes without anything: signed out, sent to sign in, told why
    clock.shift(minutes(15))
    response = signed_in.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={PAGE.replace('/', '%2F')}"
    assert "_auth_user_id" not in signed_in.session
    [message] = list(get_messages(response.wsgi_request))
    assert "signed out after 15 minutes without activity" in str(message)


def test_asking_the_sessions_status_is_not_activity(signed_in, clock):
    clock.shift(minutes(10))
    status = signed_in.get(reverse("session_status")).json()
    assert status["idle_seconds_left"] == 5 * 60

    # (as the page's script asks: for JSON)
    clock.shift(minutes(5))
    assert signed_in.get(reverse("session_status"), headers=JSON).status_code == 401
    assert signed_in.get(PAGE).status_code == 302


def test_stay_signed_in_is_activity(signed_in, clock):
    clock.shift(minutes(13))
    response = signed_in.post(reverse("session_keep_alive"))
    assert response.json()["idle_seconds_left"] == 15 * 60

    clock.shift(minutes(13))
    assert signed_in.get(PAGE).status_code == 200


def test_twelve_hours_end_the_session_however_busy(signed_in, clock):
    for _ in range(71):  # every 10 minutes for 11 h 50 min
        clock.shift(minutes(10))
        assert signed_in.get(PAGE).status_code == 200

    clock.shift(minutes(10))
    response = signed_in.get(PAGE)
    assert response.status_code == 302
    [message] = list(get_messages(response.wsgi_request))
    assert "at most 12 hours" in str(message)


def test_htmx_and_api_calls_after_the_limit_get_401(client, clock):
    user = UserFactory()
    for headers, path in (({"HX-Request": "true"}, PAGE), ({}, "/api/auth/tokens/")):
        client.force_login(user)
        client.get(PAGE)
        clock.shift(minutes(16))

        response = client.get(path, headers=headers)

        assert response.status_code == 401
        assert "without activity" in response.json()["detail"]
        if headers:
            assert response["HX-Redirect"] == reverse("login")
        assert "_auth_user_id" not in client.session


def test_the_sign_out_is_recorded_with_its_reason(signed_in, clock, caplog):
    clock.shift(minutes(16))
    with caplog.at_level("INFO", logger="equinav.security"):
        signed_in.get(PAGE)
    assert any(
        r.getMessage().startswith("sign_out") and "reason=idle" in r.getMessage()
        for r in caplog.records
    )


def test_pages_carry_the_warning_dialog_and_its_script_from_a_file(signed_in):
    html = signed_in.get(PAGE).content.decode()

    assert '<script src="/static/js/session-timeout.js" defer></script>' in html
    dialog = re.search(r'<dialog id="session-timeout"[^>]*>', html)[0]
    assert 'role="alertdialog"' in dialog
    assert 'data-idle-seconds="900"' in dialog and 'data-warning-seconds="120"' in dialog
    assert "Stay signed in" in html
    # No inline script anywhere (the CSP would refuse it)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []


def test_the_sign_in_page_has_no_timer(client):
    html = client.get(reverse("login")).content.decode()
    assert "session-timeout" not in html


def test_an_api_call_with_a_token_gets_no_session():
    # A token caller is signed in by DRF inside the view: there is no session to time,
    # and none must be made for it (a cookie and a row per call).
    _, token = AuthToken.objects.create(user=UserFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.get("/api/auth/tokens/")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()
