"""A staff-entered lab mistyped is corrected or withdrawn as entered in error, from the
control case's page (navigator/views/coaching.py `lab_fix`, services
navigator/services/labs.py and patients/services/labs.py): never an EHR feed's
result, never outside one's caseload, and bad input changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from navigator.models import CaseEvent
from navigator.services.labs import case_lab_record
from patients.models import CareGap, ClinicalResource, Patient
from patients.services import care_gaps
from patients.services.labs import ENTERED_IN_ERROR
from tests import factories
from tests.support.fhir import diabetes, ehr_resource, hba1c

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 5, 20)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


def control_case(labs=()):
    person = factories.PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(person, diabetes("2019-03-01"))
    for lab in labs:
        ehr_resource(person, lab)
    care_gaps.care_gaps_recompute(patient_ids=[person.pk], as_of=NOW.date())
    return factories.ControlCaseFactory(patient=person)


def typed(case, value="7.1") -> ClinicalResource:
    """The navigator copies a value from Quest's report (mistyped, say)."""
    return case_lab_record(
        case=case, test="hba1c", value=Decimal(value), collected_on=DAY, source="Quest",
        actor=case.navigator.user,
    )  # fmt: skip


def fix(client, case, resource_pk, **data):
    case.refresh_from_db()
    url = reverse("navigator:lab_fix", args=[case.pk, resource_pk])
    return client.post(url, {"version": case.version, **data}, HTTP_HX_REQUEST="true")


def gap_status(case) -> str:
    return CareGap.objects.get(patient=case.patient, program=case.program).status


def state(case) -> tuple:
    """Everything a refused correction must leave as it was."""
    return (
        sorted(ClinicalResource.objects.values_list("pk", "resource")),
        CaseEvent.objects.filter(case=case).count(),
        gap_status(case),
        Patient.objects.get(pk=case.patient_id).clinical_data_changed_at,
    )


def test_the_case_page_offers_correction_for_staff_entered_labs_only(client):
    # Given an EHR HbA1c and a staff-entered one
    case = control_case(labs=(hba1c("2026-02-01", 9.6),))
    mine = typed(case)
    client.force_login(case.navigator.user)

    html = client.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()

    # Then one row offers "Correct" and "Entered in error", for the staff-entered lab
    assert html.count('data-testid="lab-fix-row"') == 1
    assert reverse("navigator:lab_fix", args=[case.pk, mine.pk]) in html
    assert ">Correct</button>" in html and ">Entered in error</button>" in html


def test_a_mistyped_lab_is_corrected_and_the_gap_follows(client):
    # Given a patient at target only because 9.1 % was typed as 7.1 %
    case = control_case()
    old = typed(case)
    assert gap_status(case) == "at_target"
    Patient.objects.filter(pk=case.patient_id).update(
        clinical_data_changed_at=NOW - dt.timedelta(days=2)
    )
    client.force_login(case.navigator.user)

    # When the navigator corrects it
    response = fix(client, case, old.pk, action="correct", value="9.1")

    # Then the typo is kept, marked entered in error, and the right value is stored
    assert response.status_code == 200
    old.refresh_from_db()
    assert old.resource["status"] == ENTERED_IN_ERROR
    new = ClinicalResource.objects.exclude(pk=old.pk).get(resource_id__startswith="staff-")
    assert (new.resource["status"], new.resource["valueQuantity"]["value"]) == ("final", 9.1)
    assert new.resource["effectiveDateTime"] == DAY.isoformat()
    assert new.resource["performer"] == [{"display": "Quest"}]
    # And the care gap reads it at once, the patient's data moved
    assert gap_status(case) == "poor_control"
    assert Patient.objects.get(pk=case.patient_id).clinical_data_changed_at == NOW
    # And the timeline says who corrected what, from and to, as a correction
    event = CaseEvent.objects.filter(case=case, kind="lab_corrected").latest("pk")
    assert event.actor == case.navigator.user
    assert (event.data["from"], event.data["to"], event.data["corrects"]) == (
        "7.1", "9.1", old.pk,
    )  # fmt: skip
    assert "corrected to 9.1 %" in event.summary
    assert "9.1 % on May 20, 2026" in response.content.decode()
    assert 'data-kind="lab_corrected"' in response.content.decode()
    assert "Lab result corrected" in response.content.decode()


def test_a_lab_entered_in_error_no_longer_counts(client):
    # Given a patient poorly controlled in February (EHR), and a staff-entered 7.1 %
    # typed on the wrong patient's record
    case = control_case(labs=(hba1c("2026-02-01", 9.6),))
    wrong = typed(case)
    assert gap_status(case) == "at_target"
    client.force_login(case.navigator.user)

    # When it is marked entered in error (twice: the second changes nothing)
    response = fix(client, case, wrong.pk, action="entered_in_error")
    fix(client, case, wrong.pk, action="entered_in_error")

    # Then it is kept, withdrawn, and the gap reads the February value again
    assert response.status_code == 200
    assert "Lab marked entered in error" in response.content.decode()
    wrong.refresh_from_db()
    assert wrong.resource["status"] == ENTERED_IN_ERROR
    assert "Marked entered in error by" in wrong.resource["note"][-1]["text"]
    assert gap_status(case) == "poor_control"
    [event] = CaseEvent.objects.filter(case=case, summary__contains="entered in error")
    assert event.kind == "lab_entered_in_error"
    assert "Lab result entered in error" in response.content.decode()
    assert (event.actor, event.data["from"], event.data["to"]) == (
        case.navigator.user, "7.1", None,
    )  # fmt: skip
    # And the page offers no correction of it any more
    assert 'data-testid="lab-fix-row"' not in response.content.decode()


def test_an_ehr_feeds_result_is_refused_and_nothing_changes(client):
    case = control_case(labs=(hba1c("2026-02-01", 9.6),))
    ehr = ClinicalResource.objects.get(resource_type="Observation", patient=case.patient,
                                       resource__code__coding__0__code="4548-4")  # fmt: skip
    before = state(case)
    client.force_login(case.navigator.user)

    for data in ({"action": "correct", "value": "8.0"}, {"action": "entered_in_error"}):
        response = fix(client, case, ehr.pk, **data)
        assert "came from the EHR" in response.content.decode()

    assert state(case) == before


def test_another_navigators_case_is_not_found(client):
    case = control_case()
    lab = typed(case)
    before = state(case)
    client.force_login(factories.NavigatorFactory().user)

    response = fix(client, case, lab.pk, action="entered_in_error")

    assert response.status_code == 404
    assert state(case) == before


@pytest.mark.parametrize(
    "data, says",
    [
        ({"action": "correct"}, "Enter the value the report says"),
        ({"action": "correct", "value": "42"}, "outside what a lab reports"),
        ({"action": "correct", "value": "7.1"}, "already reads 7.1"),
        ({"action": "correct", "value": "abc"}, "Enter a number"),
        ({"action": "delete"}, "Select a valid choice"),
        ({}, "This field is required"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_changes_nothing(client, data, says):
    case = control_case()
    lab = typed(case)
    before = state(case)
    client.force_login(case.navigator.user)

    case.refresh_from_db()
    url = reverse("navigator:lab_fix", args=[case.pk, lab.pk])
    response = client.post(url, {"version": case.version, **data})

    assert response.status_code == 400
    assert says in response.content.decode()
    assert state(case) == before


def test_a_lab_of_another_patient_is_refused(client):
    case = control_case()
    other = control_case()
    theirs = typed(other)
    before = (state(case), state(other))
    client.force_login(case.navigator.user)

    response = fix(client, case, theirs.pk, action="entered_in_error")

    assert "This lab is not one of the patient" in response.content.decode()
    assert (state(case), state(other)) == before
