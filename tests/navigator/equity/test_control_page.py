"""The control programme dashboard's page and CSV: what each role sees (managers
everyone, clinic staff their clinic, navigators their caseload, the compliance officer
nothing), "lower is better" said, small cells hidden on the page and in the CSV alike,
bad parameters refused by name, and a fixed number of queries."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.urls import reverse

from navigator.equity.control_page import ControlQuery, control_page
from navigator.models import Role
from tests import factories
from tests.navigator.equity.control_world import TODAY, at, gap
from tests.support.audit import AUDIT_QUERIES_NO_PATIENTS
from tests.support.fhir import ehr_resource, hba1c

pytestmark = pytest.mark.django_db
URL = "/reports/equity/control/"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def programme_patient(*, navigator, clinic=None, sex="female", status="poor_control", coach=True):
    patient = factories.PatientFactory(sex=sex, **({"clinic": clinic} if clinic else {}))
    gap(patient, status)
    case = factories.CaseFactory(
        patient=patient, program=factories.program("diabetes"), navigator=navigator
    )
    if coach:
        factories.CoachingSessionFactory(
            case=case, scheduled_at=at("2026-02-02"), status="attended", minutes_spent=60
        )
        ehr_resource(patient, hba1c("2026-01-10", 9.6))
        ehr_resource(patient, hba1c("2026-07-10", 8.4))
    return patient


@pytest.fixture
def world():
    """Clinic A: 14 women and 12 men of navigator Ana's; clinic B: 13 women of Ben's."""
    a, b = factories.ClinicFactory(), factories.ClinicFactory()
    ana, ben = factories.NavigatorFactory(), factories.NavigatorFactory()
    for index in range(14):
        programme_patient(navigator=ana, clinic=a, status="at_target" if index % 2 else "untested")
    for _ in range(12):
        programme_patient(navigator=ana, clinic=a, sex="male")
    for _ in range(13):
        programme_patient(navigator=ben, clinic=b)
    # Outside the programme: counted nowhere
    programme_patient(navigator=ana, clinic=a, status="not_eligible")
    return {"a": a, "b": b, "ana": ana, "ben": ben}


def page_as(client, user, **params):
    client.force_login(user)
    return client.get(URL, {"stratify": "sex", **params})


def all_patients_line(content: str) -> str:
    start = content.index('data-testid="control-poor-table"')
    table = content[start : content.index("</table>", start)]
    return table[table.index("All patients") :]


def test_a_manager_sees_every_section_and_is_told_lower_is_better(client, world):
    response = page_as(client, factories.ManagerFactory())

    assert response.status_code == 200
    content = response.content.decode()
    for section in ("population", "coaching", "change", "statistics"):
        assert f'data-testid="section-{section}"' in content
    assert "lower is better" in content
    assert "not the effect of coaching" in content
    assert "<svg" in content
    # 39 patients in the programme, 32 of them above 9% or untested (7 untested women,
    # 12 men and Ben's 13 poorly controlled)
    total = all_patients_line(content)
    assert ">32<" in total and ">39<" in total


def test_navigators_see_their_caseload_and_clinic_staff_their_clinic(client, world):
    ben_page = control_page(
        user=world["ben"].user, query=ControlQuery("diabetes", "sex"), today=TODAY.date()
    )
    staff = factories.ClinicStaffFactory(clinic=world["a"])
    clinic_page = control_page(
        user=staff, query=ControlQuery("diabetes", "sex"), today=TODAY.date()
    )

    assert ben_page.shares.totals["poor"].denominator == 13
    assert clinic_page.shares.totals["poor"].denominator == 26
    assert page_as(client, world["ben"].user).status_code == 200
    assert page_as(client, staff).status_code == 200


def test_the_compliance_officer_and_strangers_see_nothing(client, world):
    compliance = factories.UserFactory(role=Role.COMPLIANCE)

    assert page_as(client, compliance).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302


def test_a_navigator_cannot_stratify_by_clinic_and_a_bad_dimension_is_named(client, world):
    response = page_as(client, world["ana"].user, stratify="clinic")
    assert response.status_code == 400
    assert "cannot stratify" in response.content.decode()

    response = page_as(client, factories.ManagerFactory(), stratify="shoe_size")
    assert response.status_code == 400
    assert "Unknown dimension" in response.content.decode()

    response = page_as(client, factories.ManagerFactory(), program="colorectal")
    assert response.status_code == 400
    assert "no control programme" in response.content.decode()


def test_small_groups_are_suppressed_on_the_page_and_in_the_csv(client, world):
    # Given a navigator whose caseload is 14 women and 12 men, plus 3 patients of no
    # recorded sex (a small cell)
    for _ in range(3):
        programme_patient(navigator=world["ana"], clinic=world["a"], sex="unknown")
    manager = factories.ManagerFactory()

    page = control_page(user=manager, query=ControlQuery("diabetes", "sex"), today=TODAY.date())
    rows = {row.key: row for row in page.shares.tables["poor"]}

    # Then "not recorded" (3) is hidden with a complement, and no figure of it shows
    assert rows["not_recorded"].suppressed and rows["not_recorded"].denominator is None
    assert sum(row.suppressed for row in rows.values()) >= 2 or page.shares.total_hidden
    change = {row.key: row for row in page.change}
    assert change["not_recorded"].suppressed and change["not_recorded"].mean is None
    coaching = {line.label: line for line in page.coaching}
    assert coaching["Not recorded"].coached == "Suppressed"

    client.force_login(manager)
    response = client.get(reverse("navigator:equity_control_csv"), {"stratify": "sex"})
    assert response.status_code == 200
    rows_csv = list(csv.reader(io.StringIO(response.content.decode())))
    not_recorded = [row for row in rows_csv if row and row[0].startswith("Not recorded")]
    assert not_recorded and all("3" not in row[1:3] for row in not_recorded)
    assert all(row[1] == "Suppressed" for row in not_recorded)
    assert any("lower is better" in " ".join(row) for row in rows_csv)


def test_the_page_costs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    manager = factories.ManagerFactory()
    client.force_login(manager)
    # session, user, the control programmes (form), the programme, the grouped
    # figures, the all-patients median, the change's cohort, the programme's lab
    # concepts, their codes (2), the cohort's Observations, the audit row
    with django_assert_num_queries(11 + AUDIT_QUERIES_NO_PATIENTS) as few:
        assert client.get(URL, {"stratify": "sex"}).status_code == 200
    for _ in range(5):
        programme_patient(navigator=world["ana"], sex="male")
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(URL, {"stratify": "race"}).status_code == 200


def test_the_equity_dashboard_links_to_the_control_dashboard(client):
    client.force_login(factories.ManagerFactory())

    content = client.get("/reports/equity/").content.decode()

    assert 'data-testid="equity-control-link"' in content and URL in content
