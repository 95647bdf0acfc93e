"""The old completion report's address (/reports/completion/): it now redirects to
the navigation outcomes page, keeping the programme and period asked for; the page
itself is tested in test_pages_equity_navigation.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

REPORT = reverse("navigator:report")
NAVIGATION = reverse("navigator:equity_navigation")


def test_it_sends_a_manager_to_the_navigation_page_with_the_same_programme_and_period(client):
    client.force_login(factories.ManagerFactory())
    breast = factories.program("breast")

    response = client.get(
        REPORT, {"program": breast.pk, "start": "2025-01-01", "end": "2025-06-30"}
    )

    assert response.status_code == 302
    assert response["Location"] == (
        f"{NAVIGATION}?program=breast&period_start=2025-01-01&period_end=2025-06-30"
    )
    # And the page it lands on answers for that programme and period
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["page"].program == breast
    assert str(page.context["page"].period.start) == "2025-01-01"


def test_without_parameters_it_sends_to_the_default_navigation_page(client):
    client.force_login(factories.AdminFactory())
    response = client.get(REPORT, follow=True)
    assert response.redirect_chain == [(NAVIGATION, 302)]
    assert response.status_code == 200


def test_a_bad_old_parameter_shows_as_an_error_on_the_new_page_not_a_500(client):
    client.force_login(factories.ManagerFactory())
    response = client.get(REPORT, {"start": "not-a-date"}, follow=True)
    assert response.status_code == 400
    assert "period_start" in response.context["form"].errors


def test_it_asks_an_anonymous_visitor_to_sign_in(client):
    response = client.get(REPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
