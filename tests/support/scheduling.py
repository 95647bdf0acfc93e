"""The order in which `make test`'s two processes are handed the suite's modules.

pytest-xdist's `--dist loadfile` hands a module (a work unit) to whichever process runs
short of work, in the order of the collection; by default it first sorts the modules by
their number of tests. A module's time has little to do with that: the one-test modules
(the full demo, the API fuzzing, a real Celery worker killed three times, the browser
journeys) are among the slowest and came last, so that the run ended on long modules
split unevenly between the two. Longest first ("longest processing time" scheduling) leaves only
short modules for the end, where whichever process is free takes the next. The
collection is sorted here (tests/conftest.py) and xdist is kept from re-sorting it (as
with `--no-loadscope-reorder`).

The costs are estimates: seconds measured for the heaviest modules (a profile of the
whole run on the 2-core machine), the rest guessed from how many tests a module has and
how many of them are transactional (a flush and a restore of the seed data each, and
most start a browser, a worker or other processes). Only the order depends on them: a
stale figure makes the run slower, never wrong.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

# Seconds per module (its tests' setup, call and teardown), from the JUnit report of a
# whole `make test` run in CI on the 2-core machine (a fresh clone, `bash .ci/run`, quiet,
# 5 December 2026, 8,886 tests in 9 min 40 s). Modules under 6 s are left to the
# per-test guess below.
MEASURED_SECONDS: dict[str, float] = {
    "tests/security/test_route_matrix.py": 147.0,
    "tests/browser/test_a11y.py": 120.0,
    "tests/navigator/test_seed_demo.py": 73.0,
    "tests/outreach/messaging/test_message_faults.py": 66.0,
    "tests/api/test_fuzz_api.py": 36.0,
    "tests/navigator/test_seed_demo_equity.py": 29.0,
    "tests/navigator/equity/test_dimensions_sql.py": 27.0,
    "tests/config/test_embedded_database.py": 27.0,
    "tests/browser/test_session_timeout_dialog.py": 22.0,
    "tests/navigator/test_referral_import_pg.py": 22.0,
    "tests/navigator/equity/test_dashboard.py": 21.0,
    "tests/navigator/equity/test_grouping.py": 19.0,
    "tests/config/test_embedded_broker.py": 18.0,
    "tests/navigator/equity/test_quality.py": 15.0,
    "tests/browser/test_browser.py": 15.0,
    "tests/browser/test_worklist_morning.py": 13.0,
    "tests/config/test_db_router.py": 13.0,
    "tests/api/test_equity_api.py": 13.0,
    "tests/browser/test_a11y_signin.py": 11.0,
    "tests/navigator/test_worklist.py": 11.0,
    "tests/navigator/test_seed_demo_small.py": 10.0,
    "tests/navigator/equity/test_stats.py": 10.0,
    "tests/browser/test_a11y_group_classes.py": 10.0,
    "tests/navigator/test_equity_pages.py": 10.0,
    "tests/navigator/equity/test_navigated_sql.py": 9.0,
    "tests/navigator/test_worklist_control.py": 9.0,
    "tests/browser/test_a11y_control.py": 9.0,
    "tests/browser/test_a11y_equity.py": 9.0,
    "tests/browser/test_content_security_policy.py": 8.0,
    "tests/navigator/test_worklist_paged.py": 8.0,
    "tests/navigator/equity/test_control_page.py": 8.0,
    "tests/navigator/audit/test_review_findings.py": 7.0,
    "tests/navigator/test_stale_forms.py": 7.0,
    "tests/navigator/views/test_control_case_page.py": 7.0,
    "tests/navigator/test_worklist_morning.py": 6.0,
    "tests/project/test_settings.py": 6.0,
    "tests/browser/test_a11y_control_case.py": 6.0,
}
PLAIN_TEST_SECONDS = 0.1
TRANSACTIONAL_TEST_SECONDS = 3.0


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        return True
    fixtures = getattr(item, "fixturenames", ())
    return "transactional_db" in fixtures or "live_server" in fixtures


def estimated_seconds(items: list[pytest.Item]) -> dict[str, float]:
    """Each module's estimated time: its measured figure, or one guessed per test."""
    guessed: dict[str, float] = defaultdict(float)
    for item in items:
        guessed[module_of(item)] += (
            TRANSACTIONAL_TEST_SECONDS if is_transactional(item) else PLAIN_TEST_SECONDS
        )
    return {module: MEASURED_SECONDS.get(module, cost) for module, cost in guessed.items()}


def longest_modules_first(items: list[pytest.Item]) -> None:
    """Sort the items (in place) by their module's estimated time, longest first; each
    module's tests stay together and in the order they had (pytest-django's, plain tests
    before transactional ones)."""
    cost = estimated_seconds(items)
    # The module's first position breaks ties, so that the order is the same in every
    # process (xdist checks that they collected the same list).
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(module_of(item), index)
    items.sort(key=lambda item: (-cost[module_of(item)], first_seen[module_of(item)]))
