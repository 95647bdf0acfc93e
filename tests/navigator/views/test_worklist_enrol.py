"""The worklist row's "Enrol in the next Spanish-language series"
(navigator/views/worklist_enrol.py, navigator/services/group_placement.py): shown on a
control case's row whose programme runs series, the next series in the patient's
language with room taken over HTMX or a plain POST, each refusal said in words with
nothing changed, and each role's scope.

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from navigator.models import CaseEvent, CaseEventKind, CaseStatus, EnrolmentStatus, GroupEnrolment
from navigator.selectors.worklist import worklist_for, worklist_rows
from navigator.worklist.row_html import row_html, rows_html
from navigator.worklist.rules import Moment
from tests import factories

NOW = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def control_case(navigator, language: str = "es", **kwargs):
    return factories.CaseFactory(
        navigator=navigator,
        program=factories.program("diabetes"),
        patient__preferred_language=language,
        **kwargs,
    )


def series(language: str = "es", *, days_ahead: int = 7, capacity: int = 8, name: str = ""):
    made = factories.GroupSeriesFactory(
        program=factories.program("diabetes"),
        language=language,
        capacity=capacity,
        **({"name": name} if name else {}),
    )
    factories.GroupSessionFactory(series=made, starts_at=NOW + dt.timedelta(days=days_ahead))
    return made


def enrol_url(case) -> str:
    return reverse("navigator:worklist_group_enrol", args=[case.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def enrolments(case) -> list[tuple[int, str]]:
    return list(
        GroupEnrolment.objects.filter(patient=case.patient)
        .order_by("pk")
        .values_list("series_id", "status")
    )


# --- The row ----------------------------------------------------------------------------


def rows_of(user):
    moment = Moment.current()
    return worklist_rows(worklist_for(user=user, moment=moment), user=user, moment=moment)


def test_only_a_control_case_whose_programme_runs_series_offers_to_enrol(navigator):
    # Given a Spanish speaker's diabetes case, a screening case, and a Vietnamese
    # speaker's diabetes case before any series exists
    spanish = control_case(navigator)
    screening = factories.CaseFactory(navigator=navigator, patient__preferred_language="es")
    assert {row.enrol_series_label for row in rows_of(navigator.user)} == {""}

    # When the programme has a series (in any language)
    series("en")
    vietnamese = control_case(navigator, language="vi")

    # Then each control row offers the next series in its patient's language
    labels = {row.pk: row.enrol_series_label for row in rows_of(navigator.user)}
    assert labels == {
        spanish.pk: "Enrol in the next Spanish-language series",
        vietnamese.pk: "Enrol in the next Vietnamese-language series",
        screening.pk: "",
    }


def test_the_rows_form_is_drawn_as_the_template_draws_it(navigator):
    control_case(navigator)
    factories.CaseFactory(navigator=navigator)
    series()
    rows = rows_of(navigator.user)
    token = "tok<&>"

    for row in rows:
        by_template = render_to_string(
            "navigator/_worklist_row.html", {"case": row, "csrf_token": token}
        ).strip()
        assert rows_html([row], csrf_token=token) == by_template
        assert (
            row_html(row) == render_to_string("navigator/_worklist_row.html", {"case": row}).strip()
        )
    page = rows_html(rows, csrf_token=token)
    assert page.count('data-testid="enrol-next-series"') == 1
    assert 'name="language" value="es"' in page
    assert 'value="tok&lt;&amp;&gt;"' in page


def test_the_worklist_page_carries_the_form_with_a_csrf_token(client, navigator):
    case = control_case(navigator)
    series()
    client.force_login(navigator.user)

    page = client.get(reverse("navigator:worklist")).content.decode()

    assert f'hx-post="{enrol_url(case)}"' in page
    assert 'name="csrfmiddlewaretoken" value=""' not in page


# --- Enrolling --------------------------------------------------------------------------


def test_htmx_enrols_in_the_soonest_series_in_the_patients_language_with_room(client, navigator):
    # Given three Spanish series ahead, the soonest full, and an English one sooner
    case = control_case(navigator)
    full = series(days_ahead=3, capacity=2, name="Llena")
    factories.GroupEnrolmentFactory(series=full)
    factories.GroupEnrolmentFactory(series=full)
    series("en", days_ahead=2)
    soonest = series(days_ahead=10, name="Vivir bien con diabetes")
    series(days_ahead=20)
    client.force_login(navigator.user)

    # When the row's button posts over HTMX
    response = client.post(enrol_url(case), {"language": "es"}, **HTMX)

    # Then the patient is on the soonest Spanish series with a seat, the row says so,
    # and the timeline records who did it
    assert response.status_code == 200
    assert f"Case #{case.pk}'s patient is enrolled in Vivir bien con diabetes." in text(response)
    assert enrolments(case) == [(soonest.pk, EnrolmentStatus.ENROLLED)]
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.GROUP_ENROLLED)
    assert event.actor == navigator.user


def test_without_javascript_it_goes_back_to_the_worklist_with_a_message(client, navigator):
    case = control_case(navigator)
    chosen = series()
    client.force_login(navigator.user)

    response = client.post(enrol_url(case), {"language": "es"}, follow=True)

    assert response.redirect_chain == [(reverse("navigator:worklist"), 302)]
    assert f"enrolled in {chosen.name}" in text(response)
    assert enrolments(case) == [(chosen.pk, EnrolmentStatus.ENROLLED)]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_no_series_with_room_in_the_language_says_so_and_changes_nothing(client, navigator, htmx):
    # Given a Spanish speaker, a full Spanish series, one already begun, an English one
    case = control_case(navigator)
    full = series(capacity=2)
    factories.GroupEnrolmentFactory(series=full)
    factories.GroupEnrolmentFactory(series=full)
    series(days_ahead=-1)
    series("en")
    client.force_login(navigator.user)

    response = client.post(enrol_url(case), {"language": "es"}, **(HTMX if htmx else {}))

    assert response.status_code == (200 if htmx else 400)
    assert (
        "No Spanish-language series of Diabetes control has a seat free with its first "
        "class still ahead." in text(response)
    )
    assert enrolments(case) == []


def test_a_series_in_another_language_is_not_the_patients(client, navigator):
    # Given only a Vietnamese series, for a Spanish speaker
    case = control_case(navigator)
    series("vi")
    client.force_login(navigator.user)

    response = client.post(enrol_url(case), {"language": "es"}, **HTMX)

    assert "No Spanish-language series" in text(response)
    assert enrolments(case) == []


def test_a_patient_already_on_a_series_is_not_put_on_a_second(client, navigator):
    case = control_case(navigator)
    current = series(name="Vivir bien", days_ahead=2)
    factories.GroupEnrolmentFactory(series=current, case=case)
    series(days_ahead=9)
    client.force_login(navigator.user)

    response = client.post(enrol_url(case), {"language": "es"}, **HTMX)

    assert "The patient is already enrolled in Vivir bien." in text(response)
    assert enrolments(case) == [(current.pk, EnrolmentStatus.ENROLLED)]


def test_a_series_that_is_over_does_not_keep_the_patient_from_the_next(client, navigator):
    case = control_case(navigator)
    over = series(days_ahead=-30)
    factories.GroupEnrolmentFactory(series=over, case=case)
    following = series(days_ahead=9)
    client.force_login(navigator.user)

    client.post(enrol_url(case), {"language": "es"}, **HTMX)

    assert enrolments(case) == [
        (over.pk, EnrolmentStatus.ENROLLED),
        (following.pk, EnrolmentStatus.ENROLLED),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Say in which language the series should be."),
        ({"language": "zz"}, "“zz” is not a language code (e.g. es for Spanish)."),
        ({"language": "x" * 40}, "Ensure this value has at most 8 characters"),
    ],
    ids=["none", "unknown", "too-long"],
)
def test_bad_input_is_refused_in_words_and_changes_nothing(client, navigator, data, message):
    case = control_case(navigator)
    series()
    client.force_login(navigator.user)

    response = client.post(enrol_url(case), data)

    assert response.status_code == 400
    assert message in text(response)
    assert enrolments(case) == []


def test_a_screening_case_or_a_closed_case_is_refused(client, navigator):
    screening = factories.CaseFactory(navigator=navigator)
    closed = control_case(navigator, status=CaseStatus.CLOSED)
    series()
    client.force_login(navigator.user)

    refused_screening = client.post(enrol_url(screening), {"language": "es"})
    refused_closed = client.post(enrol_url(closed), {"language": "es"})

    assert refused_screening.status_code == refused_closed.status_code == 400
    assert "only a control programme's patients" in text(refused_screening)
    assert "it can no longer change" in text(refused_closed)
    assert GroupEnrolment.objects.count() == 0


# --- Who may --------------------------------------------------------------------------


def test_another_navigators_case_is_not_found_and_nothing_changes(client, navigator):
    other = control_case(factories.NavigatorFactory())
    series()
    client.force_login(navigator.user)

    response = client.post(enrol_url(other), {"language": "es"}, **HTMX)

    assert response.status_code == 404
    assert enrolments(other) == []


def test_a_covered_colleagues_case_and_a_manager_may(client, navigator, manager):
    colleague = factories.NavigatorFactory()
    factories.CoverageFactory(absent=colleague, covering=navigator)
    covered = control_case(colleague)
    own_by_other = control_case(factories.NavigatorFactory())
    series()

    client.force_login(navigator.user)
    assert client.post(enrol_url(covered), {"language": "es"}, **HTMX).status_code == 200
    client.force_login(manager)
    assert client.post(enrol_url(own_by_other), {"language": "es"}, **HTMX).status_code == 200

    assert len(enrolments(covered)) == len(enrolments(own_by_other)) == 1


def test_clinic_staff_are_refused_and_a_get_is_not_allowed(client, navigator):
    case = control_case(navigator)
    series()
    client.force_login(factories.ClinicStaffFactory())

    assert client.post(enrol_url(case), {"language": "es"}).status_code == 403
    client.force_login(navigator.user)
    assert client.get(enrol_url(case)).status_code == 405
    assert enrolments(case) == []
