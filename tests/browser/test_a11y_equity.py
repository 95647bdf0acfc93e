"""WCAG 2.1 AA on the equity pages (axe-core in Chromium, laptop and phone): the
dashboard with its charts, trend and two-way table, and the data-quality page."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.test_a11y import axe_core, check  # noqa: F401  (axe_core: autouse)
from tests.support.equity_story import build_story_population

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_equity_dashboard_and_data_quality_pages_have_no_accessibility_violations(
    browser, live_server
):
    build_story_population()
    manager = factories.ManagerFactory()
    for path in (
        "/reports/equity/?quarters=on",
        "/reports/equity/?stratify=race&within=clinic",
        "/reports/equity/?measure=CMS999",
        "/reports/equity/quality/",
    ):
        check(browser, live_server, manager, path, status=400 if "CMS999" in path else 200)
