"""Two enrolments in the last seat of a series at the same moment, on PostgreSQL."""

from __future__ import annotations

from functools import partial

import pytest
from django.core.exceptions import ValidationError

from navigator.models import GroupEnrolment
from navigator.services.group_classes import group_enrol
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_enrolments_at_once_never_take_more_seats_than_the_series_has(at_once):
    # Given a series of two with one seat taken, and two patients' cases
    series = factories.GroupSeriesFactory(capacity=2)
    factories.GroupEnrolmentFactory(series=series)
    first, second = factories.ControlCaseFactory(), factories.ControlCaseFactory()

    # When both are enrolled from two threads released together
    outcomes = at_once(
        [
            partial(group_enrol, case=case.pk, series=series.pk, actor=case.navigator.user)
            for case in (first, second)
        ],
        timeout=30,
    )

    # Then one has the seat, the other is told the series is full
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert len(errors) == 1 and isinstance(errors[0], ValidationError), outcomes
    assert "is full" in errors[0].message_dict["series"][0]
    assert GroupEnrolment.objects.filter(series=series, status="enrolled").count() == 2
