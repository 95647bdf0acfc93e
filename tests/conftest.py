"""The suite's fixtures and hooks. Helpers that are not fixtures are in tests/support/;
fixtures shared by modules of several areas are in tests/fixtures/ (registered below)."""

from __future__ import annotations

import shutil

import pytest
from celery._state import _set_task_join_will_block
from rest_framework.test import APIClient

from tests import factories
from tests.support.browser import CHROMIUM
from tests.support.equity_story import build_story_population
from tests.support.scheduling import longest_modules_first
from tests.support.services import need, redis_reachable, redis_url

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.celery_worker",
    "tests.fixtures.clock",
    "tests.fixtures.flush",
    "tests.fixtures.postgres",
    "tests.fixtures.seed_data",
    "tests.fixtures.sms_provider",
    # Every log line of the suite is searched for patients' details.
    "tests.support.log_canary",
]


def pytest_configure(config):
    # xdist would sort the modules by their number of tests, undoing the collection's
    # longest-first order (pytest_collection_modifyitems below); as --no-loadscope-reorder.
    if config.getoption("dist", default="no") in ("loadfile", "loadscope"):
        config.option.loadscopereorder = False


@pytest.fixture(autouse=True)
def celery_join_guard_off():
    """Each test ends with Celery's guard against waiting on a result inside a task off.

    The guard is one process-wide flag, which an eager `apply_async` sets and then
    restores to what it found. Two threads doing so at once (the concurrency tests'
    requests, each queueing a task on commit) can restore each other's "on" and leave
    it set, and every later `.get()` in that xdist process then fails with "Never call
    result.get() within a task!" (seen in CI)."""
    yield
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The API's rate limits count in the cache: every test starts with none used."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def require_postgres(settings):
    from django.db import connection

    need("PostgreSQL", connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL")


@pytest.fixture
def require_redis():
    url = redis_url()
    need("Redis", redis_reachable(url), f"REDIS_URL={url!r} is not reachable")
    return url


@pytest.fixture
def require_chromium():
    need("Chromium", shutil.which(CHROMIUM) is not None, f"{CHROMIUM} is not installed")
    return CHROMIUM


@pytest.fixture
def navigator(db):
    return factories.NavigatorFactory(languages=["en", "es"])


@pytest.fixture
def manager(db):
    return factories.ManagerFactory()


@pytest.fixture
def clinic(db):
    return factories.ClinicFactory(code="north", name="North Clinic")


@pytest.fixture
def clinic_staff(clinic):
    return factories.ClinicStaffFactory(clinic=clinic)


@pytest.fixture
def story_population(db):
    """A stored CMS130 population whose Hispanic-White gap narrows (the equity tests)."""
    return build_story_population()


@pytest.fixture
def api():
    return APIClient()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """A transactional test must restore the migrations' seed data (programs,
    barrier taxonomy) when it flushes the database, or every later test that
    relies on them fails far from the cause."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: use django_db(transaction=True, serialized_rollback=True)"
            )
    # Under pytest-xdist (`make test`), the longest modules first (tests/support/scheduling.py
    # says why); after pytest-django's own sort (plain tests before transactional ones),
    # which is kept within each module. In one process the order stays pytest-django's.
    # (The processes that collect are xdist's workers, whose own "dist" option is "no".)
    if hasattr(config, "workerinput"):
        longest_modules_first(items)
