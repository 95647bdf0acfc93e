"""A control programme's case (diabetes) on its page and through the services and API:
its status menu offers only its own moves (never "screening complete"), a refused move
changes nothing and says why, and every refusal chosen for it names the programme, not
a screening (navigator.cases.CONTROL_TRANSITIONS, case_refuse_screening_work,
case_result_recorded_refusal)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from navigator.models import (
    AppointmentStatus,
    CaseEvent,
    CaseStatus,
    KitMailing,
    NavigationCase,
)
from navigator.services.appointments import appointment_book, appointment_set_status
from navigator.services.screenings import case_record_screening, kit_mail
from patients.models import ScreeningEvent
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
CONTROL_REFUSAL = "Diabetes control has no screening test, kit or result"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


def diabetes_case(status: str = CaseStatus.ASSIGNED) -> NavigationCase:
    """A diabetes case in a status (set directly: test setup only)."""
    return factories.CaseFactory(status=status, program=factories.program("diabetes"))


def menu(client, case) -> list[str]:
    response = client.get(reverse("navigator:case_detail", args=[case.pk]))
    assert response.status_code == 200
    form = response.context.get("status_form")
    return [] if form is None else [v for v, _ in form.fields["status"].widget.choices if v]


def post_status(client, case, status: str, note: str = "a reason"):
    return client.post(
        reverse("navigator:case_transition", args=[case.pk]),
        {"status": status, "note": note, "version": case.version},
        **HTMX,
    )


def fit_test():
    return factories.program("colorectal").modalities.get(code="fit")


# --- The status menu --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (CaseStatus.NEW, ["declined", "ineligible"]),
        (CaseStatus.ASSIGNED, ["contacting", "declined", "ineligible"]),
        (CaseStatus.CONTACTING, ["declined", "ineligible"]),
        (CaseStatus.SCHEDULED, ["contacting", "declined", "ineligible"]),
        # Only data written before the control table could be so; it may go on or close.
        (CaseStatus.COMPLETED, ["contacting", "declined", "ineligible"]),
    ],
)
def test_the_menu_of_a_control_case_offers_only_its_own_moves(client, status, offered):
    # Given a diabetes case and its navigator
    case = diabetes_case(status)
    client.force_login(case.navigator.user)

    # When the navigator opens it, then the menu offers its moves and no screening status
    assert menu(client, case) == offered


def test_a_completed_screening_case_is_still_offered_closing_as_screened(client):
    # Given a screening case whose result completed it
    case = factories.CaseFactory(status=CaseStatus.COMPLETED)
    client.force_login(case.navigator.user)

    # Then its menu still closes it as screened: the rule is the control kind's alone
    assert menu(client, case) == ["closed"]


@pytest.mark.parametrize("status", [CaseStatus.COMPLETED, CaseStatus.CLOSED, CaseStatus.TREATMENT])
def test_a_screening_status_posted_for_a_control_case_is_refused_on_the_page(client, status):
    # Given a diabetes case being contacted
    case = diabetes_case(CaseStatus.CONTACTING)
    client.force_login(case.navigator.user)
    events = CaseEvent.objects.filter(case=case).count()

    # When a screening status is posted for it (a page from elsewhere, a crafted form)
    response = post_status(client, case, status)

    # Then the form comes back saying why, and nothing changed
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="status-form"' in html
    assert "Diabetes control is not a screening" in html
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.CONTACTING
    assert CaseEvent.objects.filter(case=case).count() == events


def test_a_control_case_is_declined_from_its_menu(client):
    case = diabetes_case(CaseStatus.CONTACTING)
    client.force_login(case.navigator.user)

    post_status(client, case, CaseStatus.DECLINED, note="Prefers her own doctor's programme")

    case.refresh_from_db()
    assert (case.status, case.closed_at) == (CaseStatus.DECLINED, timezone.now())


# --- The API ----------------------------------------------------------------------------


def test_the_api_offers_a_control_case_its_moves_and_refuses_completion():
    # Given a diabetes case being contacted, and its navigator on the API
    case = diabetes_case(CaseStatus.CONTACTING)
    api = api_as(case.navigator.user)

    # When the navigator reads it and asks to complete it
    detail = api.get(f"/api/cases/{case.pk}/").json()
    refused = api.post(
        f"/api/cases/{case.pk}/transition/", {"status": "completed", "note": "A1c 7.1"}
    )

    # Then it offers declining or ineligibility only, and completion is refused with why
    assert detail["next_statuses"] == ["declined", "ineligible"]
    assert refused.status_code == 400
    assert refused.json()["status"][0].startswith("Diabetes control is not a screening")
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.CONTACTING


def test_the_api_refuses_a_screening_recorded_on_a_control_case_in_its_words():
    case = diabetes_case(CaseStatus.CONTACTING)

    response = api_as(case.navigator.user).post(
        f"/api/cases/{case.pk}/screening/",
        {"modality": "fit", "performed_on": "2026-05-30", "result": "normal"},
    )

    assert response.status_code == 400
    assert response.json()["modality"][0].startswith(CONTROL_REFUSAL)
    assert not ScreeningEvent.objects.filter(case=case).exists()


# --- Refusals chosen for a case name its programme ---------------------------------------


def test_a_lab_visit_schedules_a_control_case_and_a_cancellation_returns_it_to_contacting():
    # Given a diabetes case being contacted
    case = diabetes_case(CaseStatus.CONTACTING)
    actor = case.navigator.user

    # When a lab draw is booked, then cancelled
    visit = appointment_book(
        case=case, scheduled_at=NOW + dt.timedelta(days=4), site="Lab", actor=actor
    )
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.SCHEDULED
    appointment_set_status(appointment=visit, status=AppointmentStatus.CANCELLED, actor=actor)

    # Then the case is back to contacting, still open
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.CONTACTING


def test_a_screening_or_kit_on_a_control_case_is_refused_in_its_words():
    case = diabetes_case(CaseStatus.CONTACTING)
    actor = case.navigator.user

    with pytest.raises(ValidationError) as screening:
        case_record_screening(
            case=case, modality=fit_test(), performed_on=NOW.date(), result="normal", actor=actor
        )
    with pytest.raises(ValidationError) as kit:
        kit_mail(case=case, modality=fit_test(), mailed_on=NOW.date(), actor=actor)

    for refused in (screening, kit):
        assert refused.value.message_dict["modality"][0].startswith(CONTROL_REFUSAL)
        assert "record its lab value (HbA1c or GMI)" in refused.value.message_dict["modality"][0]
    assert not ScreeningEvent.objects.filter(case=case).exists()
    assert not KitMailing.objects.filter(case=case).exists()
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.CONTACTING


def test_booking_on_a_completed_case_names_its_programme():
    # Given a completed screening case, and a diabetes case left "completed" by old data
    screening = factories.CaseFactory(status=CaseStatus.COMPLETED)
    control = diabetes_case(CaseStatus.COMPLETED)

    refusals = {}
    for case in (screening, control):
        with pytest.raises(ValidationError) as refused:
            appointment_book(
                case=case,
                scheduled_at=NOW + dt.timedelta(days=4),
                site="Lab",
                actor=case.navigator.user,
            )
        refusals[case.program.code] = refused.value.message_dict["case"][0]

    # Then each refusal speaks of its own programme
    assert refusals["colorectal"] == (
        f"The {screening.program.label.lower()} is already recorded on this case."
    )
    assert refusals["diabetes"].startswith("Diabetes control has no result that ends it")
    assert refusals["diabetes"].endswith("move it back to contacting to go on.")
    assert not control.appointments.exists()
