"""A diabetes control case's page shows the HbA1c/GMI trend: an SVG chart drawn on the
server with the target line, the last value's date and the next lab due, a text
alternative, scoped to who may see the case, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.services import care_gaps
from tests.factories import (
    CaseFactory,
    ClinicStaffFactory,
    NavigatorFactory,
    PatientFactory,
    program,
)
from tests.support.fhir import diabetes, ehr_resource, gmi, hba1c

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
TODAY = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def diabetes_case(navigator, labs=()):
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))
    for lab in labs:
        ehr_resource(patient, lab)
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=dt.date(2026, 6, 1))
    return CaseFactory(patient=patient, program=program("diabetes"), navigator=navigator)


def page_of(client, user, case) -> str:
    client.force_login(user)
    response = client.get(reverse("navigator:case_detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def svg_of(page: str) -> ET.Element:
    match = re.search(r"<svg .*?</svg>", page, re.S)
    assert match, "no chart on the page"
    return ET.fromstring(match.group(0))  # noqa: S314 - our own page


LABS = (
    hba1c("2024-11-02", 10.1),
    hba1c("2025-05-10", 9.2),
    hba1c("2025-11-20", 8.3),
    gmi("2026-04-10", 7.4),
)


def test_the_chart_draws_each_lab_the_line_the_target_and_the_threshold(client):
    navigator = NavigatorFactory()
    case = diabetes_case(navigator, LABS)

    svg = svg_of(page_of(client, navigator.user, case))

    assert svg.get("role") == "img"
    assert len(svg.findall(f"{SVG}circle")) == 4
    (line,) = svg.findall(f"{SVG}polyline")
    assert len(line.get("points").split()) == 4
    targets = [e for e in svg.findall(f"{SVG}line") if e.get("class") == "chart__target-line"]
    thresholds = [e for e in svg.findall(f"{SVG}line") if e.get("class") == "chart__reference-line"]
    assert len(targets) == len(thresholds) == 1
    # The target (8) is drawn below the threshold (9): a larger y.
    assert float(targets[0].get("y1")) > float(thresholds[0].get("y1"))
    texts = [t.text for t in svg.findall(f"{SVG}text")]
    assert "Target < 8%" in texts
    assert "Poor control > 9%" in texts
    assert "7.4 %" in texts  # the last value beside its point
    assert "Nov 2024" in texts and "Apr 2026" in texts


def test_the_chart_has_a_title_a_description_and_a_table_with_every_result(client):
    navigator = NavigatorFactory()
    case = diabetes_case(navigator, LABS)

    page = page_of(client, navigator.user, case)
    svg = svg_of(page)

    assert svg.find(f"{SVG}title").text == "HbA1c/GMI trend"
    desc = svg.find(f"{SVG}desc").text
    assert desc == (
        "4 results from Nov 2, 2024 to Apr 10, 2026. The last, GMI 7.4 % on Apr 10, 2026, "
        "is at target. Target below 8%; poor control above 9%. Next lab due Oct 10, 2026."
    )
    labelled = svg.get("aria-labelledby").split()
    assert labelled == ["lab-trend-chart-title", "lab-trend-chart-desc"]
    assert "HbA1c and GMI results, newest first" in page
    table = page[page.index("HbA1c and GMI results, newest first") :]
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table)
    assert [row[0] for row in rows] == [
        "Apr 10, 2026",
        "Nov 20, 2025",
        "May 10, 2025",
        "Nov 2, 2024",
    ]
    assert "GMI" in rows[0][1] and "At target" in rows[0][1]
    assert "Poor control" in rows[3][1]


def test_the_page_says_the_last_result_its_date_and_the_next_lab_due(client):
    navigator = NavigatorFactory()
    case = diabetes_case(navigator, (hba1c("2026-04-10", 9.4),))

    page = page_of(client, navigator.user, case)

    assert re.search(r'data-testid="lab-last">HbA1c 9.4 % on Apr 10, 2026<', page)
    # Above target: the next lab in 3 months (ADA).
    assert re.search(r'data-testid="lab-next-due">Jul 10, 2026<', page)
    assert "Poor control (above threshold)" in page
    assert "Control status" in page


def test_a_diabetic_never_tested_sees_no_chart_but_says_so(client):
    navigator = NavigatorFactory()
    case = diabetes_case(navigator)

    page = page_of(client, navigator.user, case)

    assert "No HbA1c or GMI on record for this patient." in page
    assert "<svg" not in page[page.index('data-testid="lab-trend"') :].split("</section>")[0]
    assert re.search(r'data-testid="lab-next-due">Jun 1, 2026<', page)


def test_a_screening_case_has_no_lab_trend(client):
    navigator = NavigatorFactory()
    case = CaseFactory(navigator=navigator, program=program("colorectal"))

    page = page_of(client, navigator.user, case)

    assert 'data-testid="lab-trend"' not in page


def test_another_patients_labs_never_appear_on_the_chart(client):
    navigator = NavigatorFactory()
    case = diabetes_case(navigator, (hba1c("2026-03-01", 7.0),))
    other = PatientFactory()
    ehr_resource(other, hba1c("2026-04-01", 12.5))

    page = page_of(client, navigator.user, case)

    assert "12.5" not in page
    assert len(svg_of(page).findall(f"{SVG}circle")) == 1


def test_a_navigator_outside_the_caseload_and_clinic_staff_cannot_open_the_case(client):
    case = diabetes_case(NavigatorFactory(), LABS)

    client.force_login(NavigatorFactory().user)
    assert client.get(reverse("navigator:case_detail", args=[case.pk])).status_code == 404
    client.force_login(ClinicStaffFactory(clinic=case.patient.clinic))
    assert client.get(reverse("navigator:case_detail", args=[case.pk])).status_code == 403


def test_the_case_page_makes_the_same_number_of_queries_for_one_lab_or_twenty(client):
    navigator = NavigatorFactory()
    few = diabetes_case(navigator, (hba1c("2026-03-01", 7.0),))
    many = diabetes_case(
        navigator,
        [hba1c(f"{2024 + i // 12}-{i % 12 + 1:02d}-15", 7 + i / 10) for i in range(20)],
    )
    client.force_login(navigator.user)
    client.get(reverse("navigator:case_detail", args=[few.pk]))  # warm caches

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("navigator:case_detail", args=[few.pk]))
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(reverse("navigator:case_detail", args=[many.pk]))

    assert len(svg_of(response.content.decode()).findall(f"{SVG}circle")) == 20
    assert len(twenty) == len(one)
