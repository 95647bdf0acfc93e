"""The navigation loop through the API: attempt, barrier, appointment, screening, close."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from navigator.models import (
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEventKind,
    CaseStatus,
)
from outreach.models import ContactAttempt
from patients.models import ScreeningEvent
from tests import factories
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES

pytestmark = pytest.mark.django_db


def in_days(days: int) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def case(navigator):
    return factories.CaseFactory(navigator=navigator)


@pytest.fixture
def client(navigator):
    return api_as(navigator.user)


def test_a_navigator_walks_a_case_from_first_call_to_closed(case, client):
    base = f"/api/cases/{case.pk}"

    # A first call that does not reach the patient moves the case to contacting
    response = client.post(f"{base}/attempts/", {"channel": "phone", "outcome": "no_answer"})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == CaseStatus.CONTACTING
    assert (
        response.json()["next_follow_up"]
        == (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    )

    # The patient is reached with an interpreter; a barrier is identified
    response = client.post(
        f"{base}/attempts/",
        {"channel": "phone", "outcome": "reached", "interpreter_used": True, "note": "Spanish"},
    )
    assert response.status_code == 201
    response = client.post(
        f"{base}/barriers/", {"barrier_type": "no-escort-after-sedation", "note": "Lives alone"}
    )
    assert response.status_code == 201, response.content
    barrier = response.json()["barriers"][0]
    assert barrier["status"] == BarrierStatus.IDENTIFIED

    # The navigator arranges an escort and resolves the barrier
    response = client.post(
        f"{base}/barriers/{barrier['id']}/",
        {"status": "resolved", "action": "Arranged a volunteer escort"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["barriers"][0]["status"] == BarrierStatus.RESOLVED

    # The colonoscopy is booked
    response = client.post(
        f"{base}/appointments/",
        {"scheduled_at": in_days(10), "site": "Endoscopy Center", "modality": "colonoscopy"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == CaseStatus.SCHEDULED

    # It happens ten days later, and the result is recorded
    with time_machine.travel(timezone.now() + dt.timedelta(days=10, hours=3), tick=False):
        response = client.post(
            f"{base}/screening/",
            {"modality": "colonoscopy", "performed_on": timezone.localdate().isoformat(),
             "result": "normal"},
        )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == CaseStatus.COMPLETED
    assert body["appointments"][0]["status"] == AppointmentStatus.KEPT
    assert body["screenings"][0]["result"] == "normal"

    # The loop is closed
    response = client.post(f"{base}/transition/", {"status": "closed", "note": "Normal; recall"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == CaseStatus.CLOSED

    # And every step is on the timeline, newest first
    kinds = [event["kind"] for event in body["timeline"]]
    for kind in (
        CaseEventKind.ATTEMPT_LOGGED,
        CaseEventKind.BARRIER_ADDED,
        CaseEventKind.BARRIER_UPDATED,
        CaseEventKind.APPOINTMENT_BOOKED,
        CaseEventKind.SCREENING_RECORDED,
        CaseEventKind.STATUS_CHANGED,
    ):
        assert kind in kinds
    assert kinds[0] == CaseEventKind.STATUS_CHANGED


def test_it_refuses_an_appointment_in_the_past(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/appointments/", {"scheduled_at": in_days(-1), "site": "Lab"}
    )
    assert response.status_code == 400
    assert "scheduled_at" in response.json()
    assert not case.appointments.exists()


def test_it_refuses_a_test_from_another_program(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/appointments/",
        {"scheduled_at": in_days(3), "site": "Lab", "modality": "mammography"},
    )
    assert response.status_code == 400
    assert "modality" in response.json()
    assert not case.appointments.exists()


def test_it_refuses_a_screening_dated_in_the_future(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/screening/",
        {"modality": "fit", "performed_on": "2099-01-01", "result": "normal"},
    )
    assert response.status_code == 400
    assert "performed_on" in response.json()
    case.refresh_from_db()
    assert case.status == CaseStatus.ASSIGNED


def test_it_refuses_an_attempt_on_a_closed_case(navigator, client):
    closed = factories.CaseFactory(navigator=navigator, status=CaseStatus.DECLINED)
    response = client.post(
        f"/api/cases/{closed.pk}/attempts/", {"channel": "phone", "outcome": "reached"}
    )
    assert response.status_code == 400
    assert "case" in response.json()
    assert not ContactAttempt.objects.exists()


def test_it_refuses_an_unknown_outcome_and_channel(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/attempts/", {"channel": "pigeon", "outcome": "maybe"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"channel", "outcome"}


def test_it_refuses_a_follow_up_in_the_past(case, client):
    response = client.post(f"/api/cases/{case.pk}/follow-up/", {"next_follow_up": "2020-01-01"})
    assert response.status_code == 400
    assert "next_follow_up" in response.json()


def test_it_refuses_a_barrier_that_is_not_on_the_case(navigator, case, client):
    other_case = factories.CaseFactory(navigator=navigator)
    barrier_type = BarrierType.objects.get(code="transportation")
    barrier = CaseBarrier.objects.create(
        case=other_case, barrier_type=barrier_type, created_by=navigator.user
    )

    response = client.post(f"/api/cases/{case.pk}/barriers/{barrier.pk}/", {"status": "resolved"})

    assert response.status_code == 404
    barrier.refresh_from_db()
    assert barrier.status == BarrierStatus.IDENTIFIED


def test_it_refuses_the_same_open_barrier_twice(case, client):
    client.post(f"/api/cases/{case.pk}/barriers/", {"barrier_type": "transportation"})
    response = client.post(f"/api/cases/{case.pk}/barriers/", {"barrier_type": "transportation"})
    assert response.status_code == 400
    assert case.barriers.count() == 1


def test_it_refuses_a_barrier_moving_backwards(case, client):
    response = client.post(f"/api/cases/{case.pk}/barriers/", {"barrier_type": "cost-insurance"})
    barrier_id = response.json()["barriers"][0]["id"]
    client.post(f"/api/cases/{case.pk}/barriers/{barrier_id}/", {"status": "resolved"})

    response = client.post(f"/api/cases/{case.pk}/barriers/{barrier_id}/", {"status": "identified"})

    assert response.status_code == 400
    assert CaseBarrier.objects.get().status == BarrierStatus.RESOLVED


def test_a_no_show_puts_the_case_back_to_contacting_with_a_follow_up_today(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/appointments/", {"scheduled_at": in_days(3), "site": "Lab"}
    )
    appointment_id = response.json()["appointments"][0]["id"]

    # When its time has come and gone without the patient
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, hours=2), tick=False):
        response = client.post(
            f"/api/cases/{case.pk}/appointments/{appointment_id}/", {"status": "no_show"}
        )

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == CaseStatus.CONTACTING
        assert body["appointments"][0]["status"] == AppointmentStatus.NO_SHOW
        assert body["next_follow_up"] == timezone.localdate().isoformat()


@pytest.mark.parametrize("outcome", ["kept", "no_show"])
def test_an_appointment_cannot_be_kept_or_missed_before_it_starts(case, client, outcome):
    # Given an appointment booked for three days from now
    response = client.post(
        f"/api/cases/{case.pk}/appointments/", {"scheduled_at": in_days(3), "site": "Lab"}
    )
    appointment_id = response.json()["appointments"][0]["id"]
    version = response.json()["version"]

    # When someone records today that it was kept, or missed
    response = client.post(
        f"/api/cases/{case.pk}/appointments/{appointment_id}/", {"status": outcome}
    )

    # Then it is refused, saying why and what can be done, and nothing changes
    assert response.status_code == 400
    message = response.json()["status"][0]
    assert "can be known only once it has begun" in message
    assert "Cancel it, or book it again to move it." in message
    assert case.appointments.get().status == AppointmentStatus.BOOKED
    assert client.get(f"/api/cases/{case.pk}/").json()["version"] == version


def test_an_appointment_can_be_cancelled_before_it_starts(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/appointments/", {"scheduled_at": in_days(3), "site": "Lab"}
    )
    appointment_id = response.json()["appointments"][0]["id"]

    response = client.post(
        f"/api/cases/{case.pk}/appointments/{appointment_id}/", {"status": "cancelled"}
    )

    assert response.status_code == 200, response.content
    assert case.appointments.get().status == AppointmentStatus.CANCELLED


def test_the_worklist_puts_overdue_follow_ups_first_then_by_due_date(navigator, client):
    today = timezone.localdate()
    later = factories.CaseFactory(navigator=navigator, next_follow_up=today + dt.timedelta(5))
    due_today = factories.CaseFactory(navigator=navigator, next_follow_up=today)
    very_overdue = factories.CaseFactory(
        navigator=navigator, next_follow_up=today - dt.timedelta(9)
    )
    overdue = factories.CaseFactory(navigator=navigator, next_follow_up=today - dt.timedelta(1))
    undated = factories.CaseFactory(navigator=navigator, next_follow_up=None)
    factories.CaseFactory(navigator=navigator, status=CaseStatus.DECLINED, next_follow_up=None)
    factories.CaseFactory(next_follow_up=today - dt.timedelta(30))  # someone else's

    response = client.get("/api/worklist/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [
        very_overdue.pk, overdue.pk, due_today.pk, later.pk, undated.pk
    ]  # fmt: skip
    assert [row["follow_up_overdue"] for row in rows] == [True, True, False, False, False]


def test_a_manager_cannot_use_the_navigator_worklist(manager):
    assert api_as(manager).get("/api/worklist/").status_code == 403


def make_cases(navigator, count: int) -> None:
    for index in range(count):
        case = factories.CaseFactory(navigator=navigator)
        if index % 2:
            ContactAttempt.objects.create(
                case=case, channel="phone", outcome="no_answer", created_by=navigator.user
            )


@pytest.mark.parametrize("count", [2, 40])
def test_the_worklist_makes_a_fixed_number_of_queries_whatever_its_size(
    navigator, client, count, django_assert_num_queries
):
    make_cases(navigator, count)
    # 1: whose cases (the navigator and any colleague they cover); 2: count for
    # pagination; 3: the page of cases with patient, program, navigator and every
    # worklist rule, barrier, attempt and reminder annotation; then the audit trail's
    # row and the patients listed (tests/support/audit.py).
    with django_assert_num_queries(3 + AUDIT_QUERIES):
        response = client.get("/api/worklist/?page_size=100")
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [2, 40])
def test_the_case_list_makes_a_fixed_number_of_queries_whatever_its_size(
    manager, count, django_assert_num_queries
):
    make_cases(factories.NavigatorFactory(), count)
    client = api_as(manager)
    # 1: count for pagination; 2: the page of cases with their joins and annotations;
    # then the audit trail's row and the patients listed.
    with django_assert_num_queries(2 + AUDIT_QUERIES):
        response = client.get("/api/cases/?page_size=100")
    assert len(response.json()["results"]) == count


def test_the_case_list_filters_by_status_and_program(manager):
    nav = factories.NavigatorFactory()
    contacting = factories.CaseFactory(navigator=nav, status=CaseStatus.CONTACTING)
    factories.CaseFactory(navigator=nav, status=CaseStatus.ASSIGNED)
    breast = factories.CaseFactory(navigator=nav, program=factories.program("breast"))

    client = api_as(manager)
    ids = [r["id"] for r in client.get("/api/cases/?status=contacting").json()["results"]]
    assert ids == [contacting.pk]
    ids = [r["id"] for r in client.get("/api/cases/?program=breast").json()["results"]]
    assert ids == [breast.pk]


def test_it_refuses_an_appointment_outcome_on_a_closed_case(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/appointments/", {"scheduled_at": in_days(3), "site": "Lab"}
    )
    appointment_id = response.json()["appointments"][0]["id"]
    client.post(f"/api/cases/{case.pk}/transition/", {"status": "declined"})

    response = client.post(
        f"/api/cases/{case.pk}/appointments/{appointment_id}/", {"status": "kept"}
    )

    assert response.status_code == 400
    assert case.appointments.get().status == AppointmentStatus.BOOKED


def test_it_refuses_a_retired_test(case, client):
    case.program.modalities.filter(code="gfobt").update(active=False)
    response = client.post(
        f"/api/cases/{case.pk}/screening/",
        {"modality": "gfobt", "performed_on": timezone.localdate().isoformat(), "result": "normal"},
    )
    assert response.status_code == 400
    assert "modality" in response.json()


# --- Dates out of range are refused by the services, for the API as for the pages --------


def test_it_refuses_a_follow_up_more_than_two_years_ahead(case, client):
    response = client.post(f"/api/cases/{case.pk}/follow-up/", {"next_follow_up": "2062-01-01"})

    assert response.status_code == 400
    assert "two years ahead" in response.json()["next_follow_up"][0]
    case.refresh_from_db()
    assert case.next_follow_up != dt.date(2062, 1, 1)


def test_it_refuses_an_appointment_more_than_two_years_ahead(case, client):
    response = client.post(
        f"/api/cases/{case.pk}/appointments/", {"scheduled_at": in_days(800), "site": "Lab"}
    )

    assert response.status_code == 400
    assert "two years ahead" in response.json()["scheduled_at"][0]
    assert not case.appointments.exists()


def test_it_refuses_an_attempt_dated_months_ago_or_a_follow_up_years_ahead(case, client):
    old = (timezone.now() - dt.timedelta(days=120)).isoformat()

    response = client.post(
        f"/api/cases/{case.pk}/attempts/",
        {"channel": "phone", "outcome": "no_answer", "attempted_at": old,
         "next_follow_up": "2062-01-01"},
    )  # fmt: skip

    assert response.status_code == 400
    assert "more than 90 days ago" in response.json()["attempted_at"][0]
    assert "two years ahead" in response.json()["next_follow_up"][0]
    assert not case.attempts.exists()


def test_a_result_dated_before_its_test_or_in_the_future_is_refused_and_nothing_is_written(
    case, client
):
    base = f"/api/cases/{case.pk}"
    today = timezone.localdate()
    version = client.get(f"{base}/").json()["version"]

    # A result back the day before the colonoscopy that produced it
    before = client.post(
        f"{base}/screening/",
        {"modality": "colonoscopy", "performed_on": today.isoformat(), "result": "normal",
         "resulted_on": (today - dt.timedelta(days=1)).isoformat()},
    )  # fmt: skip
    # A result dated tomorrow
    ahead = client.post(
        f"{base}/screening/",
        {"modality": "colonoscopy", "performed_on": today.isoformat(), "result": "normal",
         "resulted_on": (today + dt.timedelta(days=1)).isoformat()},
    )  # fmt: skip

    assert before.status_code == 400
    assert before.json()["resulted_on"] == [
        f"A result cannot come back before its test (done {today:%Y-%m-%d})."
    ]
    assert ahead.status_code == 400
    assert ahead.json()["resulted_on"] == ["A result cannot be dated in the future."]
    assert not ScreeningEvent.objects.filter(case=case).exists()
    assert client.get(f"{base}/").json()["version"] == version


def test_a_result_keeps_the_day_it_came_back(case, client):
    base = f"/api/cases/{case.pk}"
    today = timezone.localdate()

    response = client.post(
        f"{base}/screening/",
        {"modality": "colonoscopy", "performed_on": (today - dt.timedelta(days=9)).isoformat(),
         "result": "normal", "resulted_on": (today - dt.timedelta(days=2)).isoformat()},
    )  # fmt: skip

    assert response.status_code == 201, response.content
    assert (
        response.json()["screenings"][0]["resulted_on"]
        == (today - dt.timedelta(days=2)).isoformat()
    )


def test_a_result_recorded_without_its_day_is_dated_today(navigator):
    case = factories.CaseFactory(navigator=navigator)
    client = api_as(navigator.user)

    response = client.post(
        f"/api/cases/{case.pk}/screening/",
        {"modality": "fit", "performed_on": timezone.localdate().isoformat(), "result": "normal"},
    )

    assert response.status_code == 201, response.content
    assert ScreeningEvent.objects.get(case=case).resulted_on == timezone.localdate()
