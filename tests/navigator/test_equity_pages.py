"""The equity dashboard page, its CSV and its PDF: same figures, same hidden cells."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from tests import factories

pytestmark = pytest.mark.django_db

URL = "/reports/equity/"


def _login(client, user):
    client.force_login(user)
    return client


def test_a_manager_sees_the_story_the_chart_and_the_table(client, story_population):
    _login(client, factories.ManagerFactory())
    response = client.get(URL, {"quarters": "on"})
    assert response.status_code == 200
    html = response.content.decode()
    # The headline sentence, the picture with its text alternative, and the table
    assert "narrowed from 20.0 points in 2025 Q1 to 2.0 points in 2026 Q2" in html
    assert 'role="img"' in html and "<title" in html
    assert 'data-testid="equity-groups-table"' in html
    assert "Hispanic or Latino alone" in html
    # The small group reads "Suppressed", and its counts (3 of 6) are nowhere
    assert "Suppressed" in html
    assert "Native Hawaiian or Pacific Islander alone" in html
    # Methods stated
    assert "Wilson" in html and "Holm" in html
    # Exports keep the same parameters
    assert "/reports/equity.pdf?" in html and "quarters=1" in html


def test_bad_parameters_show_the_form_with_each_error_and_a_400(client, story_population):
    _login(client, factories.ManagerFactory())
    response = client.get(URL, {"measure": "CMS999", "period": "2020-01-01/2020-12-31"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown measure" in html


def test_a_period_never_computed_is_refused_on_the_period_menu(client, story_population):
    _login(client, factories.ManagerFactory())
    response = client.get(URL, {"period": "2019-01-01/2019-12-31"})
    assert response.status_code == 400
    assert "has not been computed" in response.content.decode()


def test_clinic_staff_and_navigators_open_it_signed_out_people_do_not(client, story_population):
    assert client.get(URL).status_code == 302
    _login(client, factories.ClinicStaffFactory(clinic=story_population[0]))
    assert client.get(URL).status_code == 200
    _login(client, factories.NavigatorFactory().user)
    assert client.get(URL).status_code == 200


def test_the_csv_has_every_table_and_no_hidden_number(client, story_population):
    _login(client, factories.ManagerFactory())
    response = client.get("/reports/equity.csv", {"quarters": "1"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    nhpi = [row for row in rows if row[1:2] == ["Native Hawaiian or Pacific Islander alone"]]
    assert nhpi and all(row[2] == row[3] == "Suppressed" for row in nhpi)
    hispanic = [row for row in rows if row[:2] == ["Groups", "Hispanic or Latino alone"]]
    assert hispanic[0][2:4] == ["116", "200"]
    # One table per quarter too
    assert any(row and row[0] == "2025 Q1" for row in rows)


def test_the_pdf_reads_like_a_report_and_hides_what_the_page_hides(client, story_population):
    _login(client, factories.ManagerFactory())
    response = client.get("/reports/equity.pdf", {"quarters": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Equity report" in text
    assert "narrowed from 20.0 points" in text
    assert "Hispanic or Latino alone" in text
    assert "Suppressed" in text
    assert "How these figures are made" in text


def test_the_data_quality_page_counts_each_answer_per_clinic_and_month(client, db):
    # Given two clinics' patients registered this month, one clinic's race never asked
    north, south = factories.ClinicFactory(name="North"), factories.ClinicFactory(name="South")
    for _ in range(12):
        factories.PatientFactory(clinic=north, race_ethnicity=["white"])
        factories.PatientFactory(clinic=south)
    _login(client, factories.ManagerFactory())
    # When the manager opens the data quality page
    response = client.get("/reports/equity/quality/")
    # Then each clinic's row shows its race answers, recorded or never asked
    assert response.status_code == 200
    html = response.content.decode()
    assert "North" in html and "South" in html
    assert "12 (100%)" in html
    assert "How these figures are made" in html


def test_clinic_staff_see_only_their_clinic_on_the_data_quality_page(client, db):
    north, south = factories.ClinicFactory(name="North"), factories.ClinicFactory(name="South")
    for _ in range(12):
        factories.PatientFactory(clinic=north)
        factories.PatientFactory(clinic=south)
    _login(client, factories.ClinicStaffFactory(clinic=north))
    html = client.get("/reports/equity/quality/").content.decode()
    assert "North" in html and "South" not in html


def test_the_data_quality_page_refuses_an_odd_number_of_months(client, db):
    _login(client, factories.ManagerFactory())
    assert client.get("/reports/equity/quality/", {"months": "7"}).status_code == 400
    assert client.get("/reports/equity/quality/", {"months": "x"}).status_code == 400
    navigator = factories.NavigatorFactory()
    _login(client, navigator.user)
    assert client.get("/reports/equity/quality/").status_code == 403
