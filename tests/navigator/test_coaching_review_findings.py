"""Findings of the adversarial review of the diabetes control programmes with coaching
(issue 16), each a test that failed before its fix: coaching only on a control case
(API and service), a mistyped staff-entered lab corrected, the dashboard refusing a
screening programme, the DSMT hours' period and its end, a GMI named as such, group
series only for control programmes, a past lab due said to be overdue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from navigator.models import CaseEvent, CoachingSession, GroupSeries
from navigator.services.coaching import coaching_session_book
from navigator.services.labs import case_lab_correct, case_lab_record
from patients.models import CareGap, CareGapStatus
from patients.services import care_gaps
from tests import factories
from tests.support.api import api_as
from tests.support.fhir import diabetes, ehr_resource, gmi, hba1c

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


POOR_CONTROL = (hba1c("2026-02-01", 9.6),)


def control_case(navigator=None, labs=POOR_CONTROL):
    person = factories.PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(person, diabetes("2019-03-01"))
    for lab in labs:
        ehr_resource(person, lab)
    care_gaps.care_gaps_recompute(patient_ids=[person.pk], as_of=NOW.date())
    return factories.CaseFactory(
        patient=person,
        program=factories.program("diabetes"),
        navigator=navigator or factories.NavigatorFactory(),
    )


# --- A screening case has no coaching, through every door ---------------------------------


def test_the_api_refuses_to_book_coaching_on_a_screening_case(navigator):
    # Given a colorectal screening case of the navigator's (the case page refuses
    # coaching on it: `views.coaching.control_only`)
    case = factories.CaseFactory(navigator=navigator)
    before = (CoachingSession.objects.count(), CaseEvent.objects.count())

    # When the navigator books a coaching session on it through the API
    response = api_as(navigator.user).post(
        "/api/coaching-sessions/",
        {"case": case.pk, "scheduled_at": (NOW + dt.timedelta(days=3)).isoformat()},
        format="json",
    )

    # Then it is refused on the case, and nothing is saved
    assert response.status_code == 400, response.content
    assert "case" in response.json()
    assert (CoachingSession.objects.count(), CaseEvent.objects.count()) == before


def test_the_booking_service_refuses_a_screening_case(navigator):
    case = factories.CaseFactory(navigator=navigator)
    with pytest.raises(ValidationError) as refused:
        coaching_session_book(
            case=case, scheduled_at=NOW + dt.timedelta(days=3), actor=navigator.user
        )
    assert "case" in refused.value.message_dict
    assert not CoachingSession.objects.exists()


# --- A mistyped lab cannot be corrected ------------------------------------------------------


def test_a_corrected_lab_of_the_same_day_is_what_the_gap_reads(navigator):
    # Given a case whose navigator copied 7.1 % from a report that said 9.1 %
    case = control_case(navigator=navigator, labs=())
    day = NOW.date() - dt.timedelta(days=3)
    typo = case_lab_record(
        case=case, test="hba1c", value=Decimal("7.1"), collected_on=day,
        source="Quest", actor=navigator.user,
    )  # fmt: skip

    # When they correct it to the report's true value (the decided door: a correction
    # withdraws the typo as entered in error, rather than a second value of the day)
    case_lab_correct(
        case=case, resource_pk=typo.pk, value=Decimal("9.1"), actor=navigator.user
    )  # fmt: skip

    # Then the care gap reads the patient as poorly controlled, not at target
    gap = CareGap.objects.get(patient=case.patient, program=case.program)
    assert gap.status == CareGapStatus.POOR_CONTROL


# --- Dashboard parameters ---------------------------------------------------------------------


@pytest.mark.parametrize("program", ["colorectal", "nope", "x" * 5000])
def test_the_control_dashboard_refuses_a_programme_that_is_not_a_control_one(
    client, manager, program
):
    client.force_login(manager)
    for name in ("navigator:equity_control", "navigator:equity_control_csv"):
        response = client.get(reverse(name), {"program": program})
        assert response.status_code == 400, (name, response.status_code)


# --- Education hours: the period is Medicare's, not the calendar year ------------------------


def hours_section(client, case) -> str:
    client.force_login(case.navigator.user)
    html = client.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()
    start = html.index('id="education-hours"')
    return html[start : html.index("</section>", start)]


def test_hours_counted_since_last_year_are_not_called_this_years(client):
    # Given a patient whose initial training began last September (45 minutes then)
    case = control_case()
    factories.CoachingSessionFactory(
        case=case, scheduled_at=dt.datetime(2025, 9, 10, 14, 0, tzinfo=dt.UTC),
        status="attended", minutes_spent=45,
    )  # fmt: skip

    # When the navigator reads the hours in June
    section = hours_section(client, case)

    # Then last September's 45 minutes are shown in the training's 12 months, which
    # the heading does not call "this year"
    assert "45 min" in section
    assert "Sep 10, 2025" in section
    assert "this year" not in section


def test_an_initial_training_that_ended_says_so_and_offers_no_hours_left(client):
    # Given a patient whose initial training began on March 2, 2025 and so ended
    # on March 2, 2026 (read in June 2026)
    case = control_case()
    factories.CoachingSessionFactory(
        case=case, scheduled_at=dt.datetime(2025, 3, 2, 15, 0, tzinfo=dt.UTC),
        status="attended", minutes_spent=60,
    )  # fmt: skip

    section = hours_section(client, case)

    # Then the page says the 12 months ended on their last day, that follow-up
    # training is covered from next year, and offers no hours "left"
    assert "ended on Mar 1, 2026" in section
    assert "covered from 2027" in section
    rows = section.split('data-testid="hours-row"')[1:]
    assert all('<td class="num">—</td></tr>' in row for row in rows), rows


# --- A GMI is not an HbA1c ------------------------------------------------------------------


def test_the_last_result_names_its_test_when_it_is_a_gmi(client):
    # Given a patient whose last value is a GMI from their glucose monitor, after a
    # lab HbA1c
    case = control_case(labs=(hba1c("2026-01-10", 9.4), gmi("2026-05-10", 7.4)))
    client.force_login(case.navigator.user)

    # When the navigator opens the case
    html = client.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()

    # Then "Last result" and the chart's description say it is a GMI, not a bare 7.4 %
    # a clinician would read as an HbA1c
    assert 'data-testid="lab-last">GMI 7.4 % on May 10, 2026<' in html
    assert "The last, GMI 7.4 % on May 10, 2026" in html


# --- Group classes belong to control programmes ----------------------------------------------


def test_a_class_series_cannot_be_set_up_for_a_screening_programme(client, manager, navigator):
    client.force_login(manager)

    response = client.post(
        reverse("navigator:group_series_create"),
        {
            "program": factories.program("colorectal").pk, "name": "Vivir bien",
            "curriculum": "dsmes-basics", "language": "es",
            "facilitator": navigator.user.pk, "capacity": 10, "location": "Sala 2",
        },
    )  # fmt: skip

    assert response.status_code == 400
    assert not GroupSeries.objects.exists()


# --- A lab due in the past is overdue -------------------------------------------------------


def test_a_next_lab_due_in_the_past_says_overdue(client):
    # Given a patient at target in January 2025 (next HbA1c due 6 months on, ADA),
    # not tested since (read in June 2026)
    case = control_case(labs=(hba1c("2025-01-10", 7.0),))
    client.force_login(case.navigator.user)

    html = client.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()

    # Then "Next lab due" says the date has passed, not a bare date a reader takes as
    # the next appointment
    start = html.index('data-testid="lab-next-due">')
    due = html[start : html.index("</dd>", start)]
    assert "Jul 10, 2025" in due
    assert "overdue" in due
