"""The CSV exports of the navigation outcomes page (/reports/equity/navigation.csv) and
the data-quality page (/reports/equity/quality.csv): every table under its title, the
same hidden cells as the page, each role's scope, bad parameters, and a bounded number
of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.equity.cohort import local_midnight
from navigator.equity.navigation import FUNNEL_STEPS, METHODS
from navigator.equity.navigation_export import TITLES
from navigator.equity.quality import METHOD_SENTENCES as QUALITY_METHODS
from navigator.equity.stats import METHOD_SENTENCES
from navigator.models import CaseStatus
from tests import factories
from tests.support.audit import AUDIT_QUERIES_NO_PATIENTS

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock("2026-08-15 16:00:00+00:00")]

PAGE = reverse("navigator:equity_navigation")
CSV = reverse("navigator:equity_navigation_csv")
QUALITY_PAGE = reverse("navigator:equity_quality")
QUALITY_CSV = reverse("navigator:equity_quality_csv")
# A count from 1 to the default threshold (10) written as a cell of its own.
SMALL_COUNT = re.compile(r"^(10|[1-9])$")


def a_case(clinic, navigator, *, race, complete=True):
    opened = local_midnight(timezone.localdate() - dt.timedelta(days=200)) + dt.timedelta(hours=10)
    return factories.CaseFactory(
        patient=factories.PatientFactory(clinic=clinic, race_ethnicity=[race]),
        navigator=navigator,
        program=factories.program("colorectal"),
        opened_at=opened,
        status=CaseStatus.COMPLETED if complete else CaseStatus.CONTACTING,
        completed_at=opened + dt.timedelta(days=20) if complete else None,
    )


@pytest.fixture
def world(db):
    """North: 12 Black patients' cases, all complete, and 14 White ones, 7 complete,
    Sam's; South: 3 Hispanic or Latino patients' cases, Maria's (a small group under
    the default threshold)."""
    north, south = factories.ClinicFactory(name="North"), factories.ClinicFactory(name="South")
    sam, maria = factories.NavigatorFactory(), factories.NavigatorFactory()
    for _ in range(12):
        a_case(north, sam, race="black")
    for index in range(14):
        a_case(north, sam, race="white", complete=index % 2 == 0)
    for _ in range(3):
        a_case(south, maria, race="hispanic")
    return {"north": north, "south": south, "sam": sam, "maria": maria}


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def section(rows: list[list[str]], title: str) -> list[list[str]]:
    """The rows of the table under `title`, its header first, up to the blank row."""
    start = rows.index([title]) + 1
    end = rows.index([], start) if [] in rows[start:] else len(rows)
    return rows[start:end]


def referred(rows: list[list[str]]) -> dict[str, str]:
    """The funnel's cases referred per group (the reference's " (reference)" left off)."""
    return {
        row[1].removesuffix(" (reference)"): row[3]
        for row in section(rows, TITLES["funnel"])
        if row[0] == "Reached"
    }


def titles_of(rows: list[list[str]]) -> set[str]:
    """The rows that stand alone after a blank row: each table's title."""
    return {row[0] for previous, row in zip(rows, rows[1:], strict=False) if not previous and row}


def test_the_navigation_csv_has_every_table_of_the_page_and_its_methods(client, world):
    client.force_login(factories.ManagerFactory())
    response = client.get(CSV, {"stratify": "race"})
    rows = rows_of(response)
    # Then every table the manager's page shows is there under its title
    assert set(TITLES.values()) <= titles_of(rows)
    # And a shown group's figures are written: the 12 Black patients' cases, all complete
    table = section(rows, TITLES["completion_180"])
    black = next(row for row in table if row[0] == "Black or African American alone")
    assert black[1:4] == ["12", "12", "100.0%"]
    # And the method sentences close the file
    sentences = {row[0] for row in rows if len(row) == 1}
    assert METHODS["funnel"] in sentences and METHODS["completion_180"] in sentences
    assert METHOD_SENTENCES["suppression"] in sentences
    assert rows[-1] == [METHOD_SENTENCES["suppression"]]
    # And the file is named by the programme and the date, nothing else
    assert response["Content-Disposition"] == (
        'attachment; filename="navigation-colorectal-20260815.csv"'
    )


def test_a_small_group_is_suppressed_in_the_navigation_csv_and_its_count_is_nowhere(client, world):
    # Given the default rule: the three Hispanic or Latino cases are a small group
    client.force_login(factories.ManagerFactory())
    rows = rows_of(client.get(CSV, {"stratify": "race"}))
    labels = {"Hispanic or Latino alone", "", *(label for _, label in FUNNEL_STEPS)}
    hispanic = [
        [cell for cell in row if cell not in labels]
        for row in rows
        if "Hispanic or Latino alone" in row
    ]
    # Then the group's row reads "Suppressed" in each table that counts its cases (four
    # funnel steps, 90 and 180 days, medians); none of them has an abnormal stool test
    hidden = [figures for figures in hispanic if set(figures) == {"Suppressed"}]
    assert len(hidden) == 7
    assert all(set(figures) <= {"Suppressed", "0"} for figures in hispanic)
    # And no count from 1 to 10 is written anywhere, so neither is the three
    assert not [cell for row in rows for cell in row if SMALL_COUNT.match(cell)]


def test_a_hidden_cell_reads_the_same_in_the_csv_as_on_the_page(client, world):
    client.force_login(factories.ManagerFactory())
    page = client.get(PAGE, {"stratify": "race"})
    rows = rows_of(client.get(CSV, {"stratify": "race"}))
    shown = {line.label: line.denominator for line in page.context["funnel_lines"]}
    assert referred(rows) == shown
    assert shown["Hispanic or Latino alone"] == "Suppressed"


def test_clinic_staff_get_only_their_clinics_cases_and_no_per_navigator_table(
    client, world, settings
):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    client.force_login(factories.ClinicStaffFactory(clinic=world["north"]))
    rows = rows_of(client.get(CSV, {"stratify": "race"}))
    # Then South's three cases are not counted
    cases = referred(rows)
    assert (cases["White alone"], cases["Black or African American alone"]) == ("14", "12")
    assert (cases["All cases"], cases["Hispanic or Latino alone"]) == ("26", "0")
    assert TITLES["navigators"] not in titles_of(rows)


def test_a_navigator_gets_their_own_caseload_and_no_per_navigator_table(client, world, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    client.force_login(world["maria"].user)
    rows = rows_of(client.get(CSV))
    cases = referred(rows)
    assert cases["All cases"] == cases["Hispanic or Latino alone"] == "3"
    assert cases["White alone"] == cases["Black or African American alone"] == "0"
    assert TITLES["navigators"] not in titles_of(rows)
    assert not [row for row in rows if row and row[0] == "Navigator"]


def test_a_manager_gets_each_navigators_outcomes(client, world, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    client.force_login(factories.ManagerFactory())
    rows = rows_of(client.get(CSV))
    assert TITLES["navigators"] in titles_of(rows)
    start = rows.index([TITLES["navigators"]])
    assert rows[start + 1][:2] == ["Step", "Navigator"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period_start": "not-a-date"}, "period_start"),
        ({"period_start": "2026-06-01", "period_end": "2026-01-01"}, "period_end"),
        ({"stratify": "shoe_size"}, "stratify"),
        ({"program": "unicorn"}, "program"),
        ({"overdue_measure": "CMS125"}, "overdue_measure"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, params, field):
    client.force_login(factories.ManagerFactory())
    response = client.get(CSV, params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith(f"{field}: ")


def test_the_page_links_to_its_csv_with_the_same_parameters(client, world):
    client.force_login(factories.ManagerFactory())
    page = client.get(PAGE, {"stratify": "sex", "period_start": "2025-01-01"}).content.decode()
    link = re.search(r'href="([^"]+)" data-testid="navigation-csv"', page).group(1)
    assert link.startswith(f"{CSV}?")
    assert "stratify=sex" in link and "period_start=2025-01-01" in link
    assert "Tables (CSV)" in page


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for url in (CSV, QUALITY_CSV):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# Queries of the page and its CSV for a manager: the session, the user, the programme,
# then one per section (funnel, diagnostic follow-up, navigated versus not, close
# reasons, completion, medians, barriers, per navigator); the page's form adds its
# programme choices (3). The CSV has no form, so it stays under the page's bound.
# Last, the audit trail's row (counts name no patient: tests/support/audit.py).
NAVIGATION_QUERIES = 14 + AUDIT_QUERIES_NO_PATIENTS


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_the_navigation_page_and_its_csv_are_a_bounded_number_of_queries(
    client, world, url, django_assert_max_num_queries
):
    client.force_login(factories.ManagerFactory())
    with django_assert_max_num_queries(NAVIGATION_QUERIES):
        response = client.get(url, {"stratify": "race"})
    assert response.status_code == 200


# --- The data-quality CSV ------------------------------------------------------------


@pytest.fixture
def registered(db):
    """This month: North registers 12 patients with race, South 12 without."""
    north, south = factories.ClinicFactory(name="North"), factories.ClinicFactory(name="South")
    for _ in range(12):
        factories.PatientFactory(clinic=north, race_ethnicity=["white"])
        factories.PatientFactory(clinic=south)
    return {"north": north, "south": south}


def table_of(rows: list[list[str]]) -> list[dict[str, str]]:
    """The CSV's table as dicts by header, up to the blank row before the methods."""
    start = next(i for i, row in enumerate(rows) if row[:2] == ["Clinic", "Month registered"])
    end = rows.index([], start)
    return [dict(zip(rows[start], row, strict=True)) for row in rows[start + 1 : end]]


def test_the_quality_csv_has_a_row_per_clinic_month_and_field_and_the_methods(client, registered):
    client.force_login(factories.ManagerFactory())
    response = client.get(QUALITY_CSV, {"months": "3"})
    rows = rows_of(response)
    table = table_of(rows)
    month = f"{timezone.localdate():%Y-%m}"
    race = {row["Clinic"]: row for row in table if row["Field"] == "Race and ethnicity"}
    # Then North's twelve are recorded (100%), South's twelve never asked
    assert race["North"]["Month registered"] == month
    assert (race["North"]["Recorded"], race["North"]["Recorded (share)"]) == ("12", "100%")
    assert (race["South"]["Never asked"], race["South"]["Never asked (share)"]) == ("12", "100%")
    # And each of the three fields has its rows and its all-clinics row
    assert {row["Field"] for row in table} == {
        "Race and ethnicity",
        "Preferred language",
        "English proficiency",
    }
    assert len(table) == 3 * 3  # two clinics and "All clinics", per field
    # And the method sentences close the file; the name has the months and the date
    assert rows[-len(QUALITY_METHODS) :] == [[sentence] for sentence in QUALITY_METHODS]
    assert response["Content-Disposition"] == (
        'attachment; filename="data-quality-3-months-20260815.csv"'
    )


def test_the_quality_csv_hides_a_small_clinic_month_as_the_page_does(client, registered):
    # Given East registered 3 patients this month: a small clinic-month
    east = factories.ClinicFactory(name="East")
    for _ in range(3):
        factories.PatientFactory(clinic=east, race_ethnicity=["white"])
    client.force_login(factories.ManagerFactory())
    table = table_of(rows_of(client.get(QUALITY_CSV)))
    east_rows = [row for row in table if row["Clinic"] == "East"]
    # Then East's three patients read "Suppressed", and so does each count of them
    assert east_rows and all(row["Patients"] == "Suppressed" for row in east_rows)
    for row in east_rows:
        figures = [value for key, value in row.items() if key not in ("Clinic", "Field")]
        figures.remove(row["Month registered"])
        assert set(figures) <= {"Suppressed", "0", "", "n/a"}, row
        assert row["Recorded"] == row["Recorded (share)"] == "Suppressed"
    # And no count from 1 to 10 is written anywhere in the table
    assert not [v for row in table for v in row.values() if SMALL_COUNT.match(v)]
    # And the page shows the same cells
    page = client.get(QUALITY_PAGE).content.decode()
    assert "Suppressed" in page and 'data-testid="quality-csv"' in page


def test_clinic_staff_get_only_their_clinic_in_the_quality_csv(client, registered):
    client.force_login(factories.ClinicStaffFactory(clinic=registered["north"]))
    table = table_of(rows_of(client.get(QUALITY_CSV)))
    assert {row["Clinic"] for row in table} == {"North", "All clinics"}
    assert "South" not in client.get(QUALITY_CSV).content.decode()


@pytest.mark.parametrize("months", ["7", "x", "0"])
def test_the_quality_csv_refuses_other_months_with_a_400_naming_the_parameter(client, months):
    client.force_login(factories.ManagerFactory())
    response = client.get(QUALITY_CSV, {"months": months})
    assert response.status_code == 400
    assert response.content.decode().startswith("months: ")


def test_navigators_may_not_have_the_quality_csv(client):
    client.force_login(factories.NavigatorFactory().user)
    assert client.get(QUALITY_CSV).status_code == 403


# Queries of the quality page and its CSV: the session, the user, the one grouped query,
# the audit trail's row.
QUALITY_QUERIES = 3 + AUDIT_QUERIES_NO_PATIENTS


@pytest.mark.parametrize("url", [QUALITY_PAGE, QUALITY_CSV])
def test_the_quality_page_and_its_csv_are_a_bounded_number_of_queries(
    client, registered, url, django_assert_max_num_queries
):
    client.force_login(factories.ManagerFactory())
    with django_assert_max_num_queries(QUALITY_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
