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

# Seconds, from the profile of the whole run (tests, their setup and teardown), scaled
# where a module was made faster or split since by the module's own before/after
# (CPU, queries) measured back to back: the matrix (-15%), the transition table
# (-25%), the fuzzing (-35%); the demo's module kept the full demo and the texts
# seeded at their own moment (two thirds of it), the small demo's tests share one
# seeding (test_seed_demo_small.py, with the language-access test that seeded it too).
# The matrix walks the health coach too (3,831 tests from 3,302: +16%).
MEASURED_SECONDS: dict[str, float] = {
    "tests/security/test_route_matrix.py": 99.0,
    "tests/navigator/test_case_transitions.py": 65.0,
    # 241 moves on cases built once for the module (about 4 s; the guess says 24).
    "tests/navigator/test_case_transitions_control.py": 6.0,
    "tests/navigator/test_seed_demo.py": 80.0,  # + diabetes (issue 16): ~20% by cProfile
    "tests/navigator/test_seed_demo_small.py": 21.0,
    "tests/api/test_fuzz_api.py": 52.0,
    "tests/outreach/messaging/test_message_faults.py": 60.0,
    "tests/config/test_embedded_database.py": 30.0,
    "tests/config/test_embedded_broker.py": 25.0,
    # Issue 16's worklist control reasons: each case's labs through the care-gap engine
    # (~15 s of calls, measured with --durations under load); the browser's axe check
    # of the worklist with a control case, laptop and phone, a click each (~25 s).
    "tests/navigator/test_worklist_control.py": 15.0,
    "tests/browser/test_a11y_worklist_control.py": 25.0,
    # Each test computes a diabetes patient's care gaps (and some record labs).
    "tests/navigator/views/test_control_case_page.py": 30.0,
    # The control dashboard's random worlds, read in SQL and patient by patient
    # (measured on a loaded 2-core machine), and its page in Chromium at two sizes.
    "tests/navigator/equity/test_control_figures_sql.py": 30.0,
    "tests/navigator/equity/test_control_page.py": 5.0,
    "tests/browser/test_a11y_control.py": 45.0,
    # Coaching API: bookings, class enrolments and attendance through the services.
    "tests/api/test_coaching_api.py": 7.0,
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
