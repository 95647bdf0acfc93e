"""A navigator away hands their caseload to a colleague for a date range."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from navigator.models import CaseEventKind, Coverage
from navigator.selectors.visibility import cases_visible_to
from navigator.services.coverage import coverage_cancel, coverage_create
from outreach.models import ContactAttempt, FollowUpReminder
from outreach.services.follow_up_reminders import follow_up_reminders_create
from tests import factories
from tests.support.api import api_as

TODAY = dt.date(2026, 11, 23)
NOON = dt.datetime(2026, 11, 23, 17, 0, tzinfo=dt.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOON)]


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def test_a_navigator_hands_their_caseload_to_a_colleague_who_then_works_it():
    # Given Ana away this week, covered by Luis
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=ana)
    coverage_create(absent=ana, covering=luis, starts_on=TODAY, ends_on=days(4), actor=ana.user)

    # When Luis logs an attempt on Ana's case
    response = api_as(luis.user).post(
        f"/api/cases/{case.pk}/attempts/",
        {"channel": "phone", "outcome": "no_answer"},
        format="json",
    )

    # Then he could see it, and what he logged is his
    assert response.status_code == 201, response.content
    assert case in cases_visible_to(luis.user)
    attempt = ContactAttempt.objects.get(case=case)
    assert attempt.created_by == luis.user
    assert case.events.get(kind=CaseEventKind.ATTEMPT_LOGGED).actor == luis.user
    # The case stays Ana's
    case.refresh_from_db()
    assert case.navigator == ana


def test_the_colleague_can_add_a_barrier_on_the_covered_case_page(client):
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=ana)
    factories.CoverageFactory(absent=ana, covering=luis)
    client.force_login(luis.user)

    response = client.post(
        f"/cases/{case.pk}/barriers/",
        {"barrier_type": factories.barrier_type("transportation").pk, "version": case.version},
    )

    assert response.status_code == 302
    barrier = case.barriers.get()
    assert barrier.created_by == luis.user


def test_access_ends_with_the_cover():
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=ana)
    coverage_create(absent=ana, covering=luis, starts_on=TODAY, ends_on=days(2), actor=ana.user)

    with time_machine.travel(NOON + dt.timedelta(days=3), tick=False):
        assert case not in cases_visible_to(luis.user)
        response = api_as(luis.user).get(f"/api/cases/{case.pk}/")
        assert response.status_code == 404


def test_access_starts_on_the_first_day_not_before():
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=ana)
    coverage_create(absent=ana, covering=luis, starts_on=days(1), ends_on=days(2), actor=ana.user)

    assert case not in cases_visible_to(luis.user)
    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        assert case in cases_visible_to(luis.user)


def test_a_cancelled_cover_gives_no_access():
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=ana)
    coverage = coverage_create(
        absent=ana, covering=luis, starts_on=TODAY, ends_on=days(2), actor=ana.user
    )

    coverage_cancel(coverage=coverage, actor=ana.user)

    assert case not in cases_visible_to(luis.user)


def test_a_third_navigator_sees_nothing_of_the_covered_caseload():
    ana = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=ana)
    factories.CoverageFactory(absent=ana)
    outsider = factories.NavigatorFactory()

    assert case not in cases_visible_to(outsider.user)


def test_follow_up_reminders_go_to_the_colleague_while_covering():
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=ana, next_follow_up=TODAY)
    factories.CoverageFactory(absent=ana, covering=luis)

    follow_up_reminders_create(today=TODAY)

    assert FollowUpReminder.objects.get(case=case).navigator == luis


def test_a_manager_arranges_cover_for_anyone():
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()

    coverage = coverage_create(
        absent=ana,
        covering=luis,
        starts_on=TODAY,
        ends_on=TODAY,
        actor=factories.ManagerFactory(),
        note="Jury duty",
    )

    assert coverage.pk and coverage.note == "Jury duty"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"covering": "absent"}, "covering", "Choose a colleague, not the navigator who is away."),
        ({"covering": "inactive"}, "covering", "is not an active navigator."),
        ({"starts_on": 3, "ends_on": 2}, "ends_on", "The last day cannot be before the first."),
        ({"starts_on": -1}, "starts_on", "Cover cannot start in the past."),
        ({"ends_on": 800}, "ends_on", "more than two years ahead"),
    ],
)
def test_it_refuses_bad_cover_and_writes_nothing(change, field, message):
    ana = factories.NavigatorFactory()
    colleagues = {
        "absent": ana,
        "inactive": factories.NavigatorFactory(active=False),
        "ok": factories.NavigatorFactory(),
    }
    covering = colleagues[change.get("covering", "ok")]

    with pytest.raises(ValidationError) as refused:
        coverage_create(
            absent=ana,
            covering=covering,
            starts_on=days(change.get("starts_on", 0)),
            ends_on=days(change.get("ends_on", 2)),
            actor=ana.user,
        )

    assert message in refused.value.message_dict[field][0]
    assert not Coverage.objects.exists()


def test_it_refuses_cover_overlapping_an_existing_one():
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    coverage_create(absent=ana, covering=luis, starts_on=TODAY, ends_on=days(5), actor=ana.user)

    with pytest.raises(ValidationError) as refused:
        coverage_create(
            absent=ana,
            covering=factories.NavigatorFactory(),
            starts_on=days(5),
            ends_on=days(9),
            actor=ana.user,
        )

    assert refused.value.message_dict["starts_on"][0] == (
        f"{luis} already covers {ana} from {TODAY:%Y-%m-%d} to {days(5):%Y-%m-%d}."
    )
    assert Coverage.objects.count() == 1


def test_a_navigator_cannot_hand_on_someone_elses_caseload():
    ana = factories.NavigatorFactory()
    meddler = factories.NavigatorFactory()

    with pytest.raises(ValidationError) as refused:
        coverage_create(
            absent=ana, covering=meddler, starts_on=TODAY, ends_on=days(1), actor=meddler.user
        )

    assert "only your own caseload" in refused.value.message_dict["absent"][0]
    assert not Coverage.objects.exists()


def test_only_the_navigator_away_or_a_manager_ends_a_cover():
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    coverage = factories.CoverageFactory(absent=ana, covering=luis)

    with pytest.raises(ValidationError):
        coverage_cancel(coverage=coverage, actor=luis.user)
    coverage.refresh_from_db()
    assert coverage.cancelled_at is None

    coverage_cancel(coverage=coverage, actor=factories.ManagerFactory())
    coverage.refresh_from_db()
    assert coverage.cancelled_at is not None


def test_the_cover_page_lets_a_navigator_hand_on_their_caseload(client):
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    client.force_login(ana.user)

    response = client.post(
        "/coverage/",
        {
            "absent": ana.pk,
            "covering": luis.pk,
            "starts_on": TODAY.isoformat(),
            "ends_on": days(3).isoformat(),
        },
        follow=True,
    )

    assert response.status_code == 200
    assert f"{luis} covers {ana}" in response.content.decode()
    assert Coverage.objects.get().created_by == ana.user


def test_the_cover_page_offers_a_navigator_only_their_own_caseload(client):
    ana = factories.NavigatorFactory()
    other = factories.NavigatorFactory()
    client.force_login(ana.user)

    response = client.post(
        "/coverage/",
        {
            "absent": other.pk,
            "covering": ana.pk,
            "starts_on": TODAY.isoformat(),
            "ends_on": days(3).isoformat(),
        },
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Coverage.objects.exists()


def test_the_cover_page_shows_a_refusal_on_its_field(client):
    ana = factories.NavigatorFactory()
    luis = factories.NavigatorFactory()
    client.force_login(ana.user)

    response = client.post(
        "/coverage/",
        {
            "absent": ana.pk,
            "covering": luis.pk,
            "starts_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
            "ends_on": days(3).isoformat(),
        },
    )

    assert response.status_code == 400
    assert "Cover cannot start in the past." in response.content.decode()
    assert not Coverage.objects.exists()


def test_clinic_staff_cannot_reach_the_cover_page(client):
    client.force_login(factories.ClinicStaffFactory())

    assert client.get("/coverage/").status_code == 403
