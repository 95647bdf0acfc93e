"""The navigation outcomes page (/reports/equity/navigation/): each role's scope, the
per-navigator section for managers only, suppression on the page, bad parameters,
and the old completion report's address redirecting here."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.equity.cohort import local_midnight
from navigator.equity.navigated import METHODS as NAVIGATED_METHODS
from navigator.equity.navigation import METHODS
from navigator.equity.navigation_barriers import METHODS as BARRIER_METHODS
from navigator.models import CaseStatus
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock("2026-08-15 16:00:00+00:00")]

PAGE = reverse("navigator:equity_navigation")
# The default period: twelve months ending on the last complete quarter's last day
START, END = dt.date(2025, 7, 1), dt.date(2026, 6, 30)


def a_case(clinic, navigator, *, race="white", days_ago=200, complete=True, program="colorectal"):
    opened = local_midnight(timezone.localdate() - dt.timedelta(days=days_ago)) + dt.timedelta(
        hours=10
    )
    return factories.CaseFactory(
        patient=factories.PatientFactory(clinic=clinic, race_ethnicity=[race]),
        navigator=navigator,
        program=factories.program(program),
        opened_at=opened,
        status=CaseStatus.COMPLETED if complete else CaseStatus.CONTACTING,
        completed_at=opened + dt.timedelta(days=20) if complete else None,
    )


@pytest.fixture
def world(db):
    """Clinic A: 3 cases, all Maria's; clinic B: 5 cases, Sam's. One breast case."""
    clinic_a, clinic_b = factories.ClinicFactory(name="Clinic A"), factories.ClinicFactory()
    maria, sam = factories.NavigatorFactory(), factories.NavigatorFactory()
    for index in range(3):
        a_case(clinic_a, maria, complete=index == 0)
    for _ in range(5):
        a_case(clinic_b, sam, race="hispanic")
    a_case(clinic_b, sam, program="breast")
    return {"a": clinic_a, "b": clinic_b, "maria": maria, "sam": sam}


def total_line(response):
    (line,) = [line for line in response.context["funnel_lines"] if line.is_total]
    return line


def test_a_manager_sees_every_section_with_its_method_sentence(client, world, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    client.force_login(factories.ManagerFactory())
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    # Then the default programme and period are filled in
    assert f'value="{START.isoformat()}"' in page and f'value="{END.isoformat()}"' in page
    # And every colorectal case of the period is counted, the breast one apart
    assert total_line(response).denominator == "8"
    for section in (
        "funnel", "completion", "medians", "barriers", "close-reasons", "follow-up",
        "navigated", "navigators",
    ):  # fmt: skip
        assert f'data-testid="section-{section}"' in page
    for sentence in (
        METHODS["funnel"],
        METHODS["completion_180"],
        METHODS["step_medians"],
        BARRIER_METHODS["barriers"],
        BARRIER_METHODS["diagnostic_follow_up"],
        NAVIGATED_METHODS["navigated_observational"],
    ):
        assert sentence.replace("'", "&#x27;") in page
    assert 'role="img"' in page  # the funnel chart, with its table
    assert "Observational, not a randomised comparison." in page


def test_clinic_staff_see_only_their_clinics_cases_and_no_navigator_section(
    client, world, settings
):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    client.force_login(factories.ClinicStaffFactory(clinic=world["a"]))
    response = client.get(PAGE)
    assert response.status_code == 200
    # Clinic B's five cases are invisible
    assert total_line(response).denominator == "3"
    assert 'data-testid="section-navigators"' not in response.content.decode()
    # And they may not ask for the per-navigator split either
    assert client.get(PAGE, {"stratify": "navigator"}).status_code == 400


def test_a_navigator_sees_only_their_own_caseload(client, world, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    client.force_login(world["sam"].user)
    response = client.get(PAGE, {"stratify": "race"})
    assert response.status_code == 200
    assert total_line(response).denominator == "5"
    lines = {line.label: line for line in response.context["funnel_lines"]}
    assert lines["White alone"].denominator == "0"
    assert 'data-testid="section-navigators"' not in response.content.decode()


def test_a_small_group_reads_suppressed_with_no_number_in_the_page(client, world):
    # Given the default rule: clinic A's three cases are a small group
    client.force_login(factories.ManagerFactory())
    response = client.get(PAGE, {"stratify": "clinic"})
    page = response.content.decode()
    row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">Clinic A.*?</tr>", page, re.S).group(0)
    # Then its row says "Suppressed" in every count cell and carries no number at all
    assert "Suppressed" in row
    assert not re.search(r"\d", re.sub(r"<[^>]+>", "", row).replace("Clinic A", ""))
    # And the table's total, from which it could be worked out, is hidden too
    assert not any(line.is_total for line in response.context["funnel_lines"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period_start": "not-a-date"}, "period_start"),
        ({"period_start": "2026-06-01", "period_end": "2026-01-01"}, "period_end"),
        ({"period_end": "9999-12-31"}, "period_end"),
        ({"stratify": "shoe_size"}, "stratify"),
        ({"stratify": "navigated"}, "stratify"),
        ({"program": "unicorn"}, "program"),
        ({"overdue_measure": "CMS125"}, "overdue_measure"),
    ],
)
def test_a_bad_parameter_is_a_400_with_the_error_on_its_field(client, params, field):
    client.force_login(factories.ManagerFactory())
    response = client.get(PAGE, params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert response.context["page"] is None
    assert 'role="alert"' in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_old_completion_report_redirects_keeping_programme_and_period(client):
    client.force_login(factories.ManagerFactory())
    breast = factories.program("breast")
    response = client.get(
        reverse("navigator:report"),
        {"program": breast.pk, "start": "2025-01-01", "end": "2025-12-31"},
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"{PAGE}?program=breast&period_start=2025-01-01&period_end=2025-12-31"
    )
    assert client.get(reverse("navigator:report"))["Location"] == PAGE


def test_the_page_is_linked_from_the_dashboard_and_the_site_navigation(client):
    client.force_login(factories.ManagerFactory())
    page = client.get(reverse("navigator:equity")).content.decode()
    assert f'href="{PAGE}"' in page
    assert f'href="{reverse("navigator:equity")}"' in page
    assert "Completion report" not in page
