"""The worklist's query compiled once per shape and run again
(navigator/worklist/compiled.py), and its API rows written without a serializer per
row (navigator.api.worklist_serializers.worklist_row_data): the same answers as before.

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone, translation
from rest_framework import serializers

from navigator.api.worklist_serializers import WorklistRowSerializer, _datetime, worklist_row_data
from navigator.models import CaseStatus, NavigationCase
from navigator.selectors.worklist import (
    worklist_cases,
    worklist_for,
    worklist_navigators,
    worklist_rows,
)
from navigator.worklist.rows import status_label
from navigator.worklist.rules import Moment
from tests import factories
from tests.navigator.test_worklist import NOW, TODAY, caseload
from tests.support.api import api_as

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def page(user, moment=None) -> list:
    moment = moment or Moment.current()
    navigators = worklist_navigators(user=user, on=moment.today)
    cases = worklist_cases(user=user, navigators=navigators, moment=moment)
    return worklist_rows(cases[0:50], user=user, moment=moment)


def test_a_page_lists_what_the_ranked_queryset_lists_in_its_order(navigator):
    # Given a caseload across every reason (and a covered colleague's case)
    caseload(navigator, 12)
    moment = Moment.current()

    # When the page is read through the compiled query, twice (the second from the cache)
    first, second = page(navigator.user, moment), page(navigator.user, moment)

    # Then both list what the ORM's ranked queryset lists, with the same annotations
    expected = worklist_rows(
        worklist_for(user=navigator.user, moment=moment), user=navigator.user, moment=moment
    )
    assert [c.pk for c in first] == [c.pk for c in second] == [c.pk for c in expected]
    assert [c.summary for c in second] == [c.summary for c in expected]
    assert [c.wl_priority for c in second] == [c.wl_priority for c in expected]


def test_a_page_read_again_sees_the_cases_changed_since(navigator):
    # Given a page read once (its query compiled and kept)
    case = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY + dt.timedelta(days=5))
    factories.ContactAttemptFactory(case=case, attempted_at=NOW - dt.timedelta(days=2))
    assert [c.summary for c in page(navigator.user)] == ["Next follow-up 29 Nov"]

    # When the patient calls back and a new case is assigned
    factories.ContactAttemptFactory(
        case=case, direction="inbound", outcome="reached", attempted_at=NOW
    )
    new = factories.CaseFactory(navigator=navigator)

    # Then the same page says so: what is kept is SQL, never rows
    rows = page(navigator.user)
    assert [c.pk for c in rows] == [case.pk, new.pk]
    assert rows[0].reasons[0].code == "called_back"


def test_the_kept_query_reads_the_clock_of_each_request(navigator, frozen_clock):
    # Given an appointment at 3 pm today, needing its prep call, read at 2 pm
    case = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY + dt.timedelta(days=5))
    factories.ContactAttemptFactory(case=case, attempted_at=NOW - dt.timedelta(days=2))
    factories.AppointmentFactory(case=case, scheduled_at=NOW + dt.timedelta(hours=1))
    assert [r.code for r in page(navigator.user)[0].reasons] == ["prep_call"]

    # When the same page is read at 4 pm the same day (same shape, same cache entry)
    frozen_clock.shift(dt.timedelta(hours=2))

    # Then the appointment has passed: no prep call, no next appointment
    row = page(navigator.user)[0]
    assert row.reasons == []
    assert row.next_appointment_at is None


def test_the_api_rows_are_what_the_serializer_says(navigator):
    # Given a caseload with every reason, row fact and a covered colleague's case
    caseload(navigator, 12)
    moment = Moment.current()
    rows = page(navigator.user, moment)

    # When the rows are written as plain values
    fast = [worklist_row_data(case) for case in rows]

    # Then they are exactly what the contract's serializer writes
    assert fast == WorklistRowSerializer(rows, many=True).data
    assert fast == api_as(navigator.user).get("/api/worklist/").json()["results"]


def test_a_status_label_is_what_get_status_display_says():
    statuses = [value for value, _label in CaseStatus.choices] + ["not-a-status", ""]
    for language in ("en-us", "es"):
        with translation.override(language):
            for status in statuses:
                case = NavigationCase(status=status)
                assert status_label(status) == case.get_status_display(), status


def test_a_row_datetime_is_what_drfs_field_writes():
    field = serializers.DateTimeField()
    values = [
        dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 24, 19, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC),  # the hour Boston skips
        dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC),  # the hour Boston lives twice
        dt.datetime(2026, 7, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")),
        dt.datetime(2026, 7, 1, 12, 0),  # naive: DRF's own path
        dt.datetime(1, 1, 1, 0, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")),  # overflow
        None,
    ]
    for zone in ("America/New_York", "UTC", "Asia/Kolkata"):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            tz = field.default_timezone()
            for value in values:
                try:
                    expected = None if value is None else field.to_representation(value)
                except serializers.ValidationError:
                    with pytest.raises(serializers.ValidationError):
                        _datetime(value, tz)
                    continue
                assert _datetime(value, tz) == expected, (zone, value)


def test_a_kept_page_and_count_build_no_queryset(navigator, monkeypatch):
    # Given a page and its count read once (their SQL compiled and kept)
    from navigator.selectors import worklist as selector

    caseload(navigator, 6)
    moment = Moment.current()
    navigators = worklist_navigators(user=navigator.user, on=moment.today)
    first = worklist_cases(user=navigator.user, navigators=navigators, moment=moment)
    expected = (first.count(), [c.pk for c in first[0:50]])
    built = []
    real = selector._listed  # noqa: SLF001 - the test watches the selector's builder

    def watched(*args):
        built.append(args)
        return real(*args)

    monkeypatch.setattr(selector, "_listed", watched)

    # When they are read again
    again = worklist_cases(user=navigator.user, navigators=navigators, moment=moment)
    answer = (again.count(), [c.pk for c in again[0:50]])

    # Then the same answer, and the scoped queryset was not built at all
    assert answer == expected
    assert expected[0] > 0
    assert built == []


def test_a_list_that_can_match_nothing_reads_nothing(navigator):
    # Given a user who may see no case (clinic staff: cases_visible_to is none()),
    # asking for a navigator's cases
    caseload(navigator, 3)
    staff = factories.ClinicStaffFactory()
    moment = Moment.current()
    cases = worklist_cases(user=staff, navigators=[navigator], moment=moment)

    # Then the page and its count are empty, read again too
    assert cases.count() == 0 and cases[0:50] == []
    assert cases.count() == 0 and cases[0:50] == []
