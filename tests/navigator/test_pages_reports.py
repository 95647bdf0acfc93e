"""The completion report page, for program managers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.models import CaseStatus
from navigator.selectors.reports import SMALL_GROUP
from tests import factories

pytestmark = pytest.mark.django_db

REPORT = reverse("navigator:report")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def cases(navigator):
    """Three colorectal cases, one completed; one breast case."""
    now = timezone.now()
    made = [
        factories.CaseFactory(
            navigator=navigator,
            patient__preferred_language="es",
            patient__race_ethnicity=["hispanic"],
        ),
        factories.CaseFactory(navigator=navigator, patient__race_ethnicity=["black"]),
        factories.CaseFactory(
            navigator=navigator,
            status=CaseStatus.COMPLETED,
            completed_at=now,
            patient__race_ethnicity=["black", "white"],
        ),
        factories.CaseFactory(navigator=navigator, program=factories.program("breast")),
    ]
    return made


def test_it_shows_a_manager_the_completion_report(manager_client, cases, navigator):
    # When a manager opens the report with the default period
    response = manager_client.get(REPORT)

    # Then every table is there with opened, completed, rate, interval and small-group flag
    assert response.status_code == 200
    html = response.content.decode()
    for testid in (
        "report-overall",
        "report-program",
        "report-navigator",
        "report-race",
        "report-language",
        "report-definition",
    ):
        assert f'data-testid="{testid}"' in html
    overall = response.context["overall_rows"][0]
    assert (overall["opened"], overall["completed"], overall["rate"]) == (4, 1, "25.0%")
    assert overall["interval"].endswith("%") and "–" in overall["interval"]
    assert overall["small_group"] is True
    assert "small group" in html
    assert f"fewer than {SMALL_GROUP} cases" in html
    assert "Race and ethnicity is multi-select" in html
    assert str(navigator) in html
    assert "Spanish" in html
    sections = {s["id"]: s for s in response.context["sections"]}
    by_program = {row["label"]: row for row in sections["program"]["rows"]}
    assert by_program["Colorectal cancer"]["rate"] == "33.3%"
    race = {row["label"]: row for row in sections["race"]["rows"]}
    assert race["Black or African American"]["opened"] == 2
    assert race["Asian"]["rate"] == "—"

    # And the default period is the last 365 days, filled into the form
    today = timezone.localdate()
    assert response.context["report"].end == today
    assert response.context["report"].start == today - dt.timedelta(days=365)
    assert f'value="{today.isoformat()}"' in html


def test_it_filters_the_report_by_program_and_period(manager_client, cases):
    breast = factories.program("breast")
    response = manager_client.get(REPORT, {"program": breast.pk})
    assert response.context["overall_rows"][0]["opened"] == 1
    assert "Breast cancer only" in response.content.decode()

    last_year = timezone.localdate() - dt.timedelta(days=400)
    response = manager_client.get(
        REPORT, {"start": (last_year - dt.timedelta(days=30)).isoformat(), "end": last_year}
    )
    assert response.context["overall_rows"][0]["opened"] == 0
    assert response.context["overall_rows"][0]["rate"] == "—"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "not-a-date"}, "start"),
        ({"end": "2025-02-30"}, "end"),
        ({"start": "2025-06-01", "end": "2025-01-01"}, "end"),
        ({"end": "9999-12-31"}, "end"),
        ({"start": "0001-01-01"}, "start"),
        ({"program": "abc"}, "program"),
    ],
)
def test_it_shows_a_bad_report_period_as_an_error_not_a_500(manager_client, params, field):
    response = manager_client.get(REPORT, params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "report" not in response.context
    assert 'role="alert"' in response.content.decode()


@pytest.mark.parametrize(
    "make_user",
    [lambda: factories.NavigatorFactory().user, factories.ClinicStaffFactory],
    ids=["navigator", "clinic_staff"],
)
def test_it_refuses_the_report_to_navigators_and_clinic_staff(client, make_user):
    client.force_login(make_user())
    assert client.get(REPORT).status_code == 403


def test_it_lets_an_admin_open_the_report(client):
    client.force_login(factories.AdminFactory())
    assert client.get(REPORT).status_code == 200
