"""The same coaching booking sent twice at the same moment, on PostgreSQL: the case's
row lock lets one through and refuses the other (navigator/services/coaching.py)."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from django.utils import timezone

from navigator.models import CaseEvent, CaseEventKind, CoachingSession
from navigator.services.coaching import DuplicateCoachingSessionError, coaching_session_book
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_identical_bookings_at_once_book_one_session(at_once):
    # Given a control case and a time two days ahead
    case = factories.ControlCaseFactory()
    at = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    book = partial(coaching_session_book, case=case.pk, scheduled_at=at, actor=case.navigator.user)

    # When the same booking is sent from two threads released together
    outcomes = at_once([book, book], timeout=30)

    # Then one booked it and the other was told which session is there
    booked = [outcome.value for outcome in outcomes if outcome.error is None]
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert len(booked) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], DuplicateCoachingSessionError)
    assert errors[0].existing.pk == booked[0].pk
    assert CoachingSession.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.COACHING_BOOKED).count() == 1
