"""WCAG 2.1 AA on the control programme dashboard (axe-core in Chromium, laptop and
phone): its chart, tables and methods with figures shown and suppressed, and its
refusal of a bad parameter."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.test_a11y import axe_core, check  # noqa: F401  (axe_core: autouse)
from tests.navigator.equity.control_world import build_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_control_dashboard_has_no_accessibility_violations(browser, live_server):
    build_world(seed=16, patients=30)
    manager = factories.ManagerFactory()
    for path, status in (
        ("/reports/equity/control/", 200),
        ("/reports/equity/control/?stratify=sex", 200),
        ("/reports/equity/control/?stratify=shoe_size", 400),
    ):
        check(browser, live_server, manager, path, status=status)
