"""The case page's coaching booking sent again (a second click, a form re-submitted
after reloading) books nothing more (navigator/views/coaching.py `coaching_book`): the
form comes back with an error naming the session already booked."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from navigator.models import CaseEvent, CoachingSession
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)
FORM = {
    "scheduled_at": "2026-06-03T10:00",
    "duration_minutes": "45",
    "language": "en",
    "interpreter_modality": "phone",
}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


def book(client, case, *, htmx: bool):
    case.refresh_from_db()  # the form drawn again: the case's version now
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = reverse("navigator:coaching_book", args=[case.pk])
    return client.post(url, {"version": case.version, **FORM}, **headers)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain form"])
def test_booking_the_same_time_again_shows_the_session_already_booked(client, htmx):
    # Given a session booked from the case page
    case = factories.ControlCaseFactory()
    client.force_login(case.navigator.user)
    assert book(client, case, htmx=True).status_code == 200
    session = CoachingSession.objects.get()
    events = CaseEvent.objects.filter(case=case).count()

    # When the same booking is submitted again from a freshly drawn form
    response = book(client, case, htmx=htmx)

    # Then the form says which session is there, and nothing more is written
    assert response.status_code == (200 if htmx else 400)
    html = response.content.decode()
    assert f"session #{session.pk}" in html and "nothing was booked" in html
    assert CoachingSession.objects.count() == 1
    assert CaseEvent.objects.filter(case=case).count() == events
