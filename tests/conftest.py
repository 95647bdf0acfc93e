from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from tests import factories

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"


BASE_DIR = Path(__file__).resolve().parent.parent
# Variables a developer's shell or CI may set that would change what a fresh
# interpreter's settings are; settings tests start from a clean slate instead.
SETTINGS_ENV = ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")
SETTINGS_ENV_PREFIXES = ("DJANGO_", "CELERY_", "DATABASE_", "REDIS_")


def run_with_settings(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run `script` in a fresh interpreter whose environment differs only by `env`."""
    child_env = {
        key: value
        for key, value in os.environ.items()
        if key not in SETTINGS_ENV and not key.startswith(SETTINGS_ENV_PREFIXES)
    }
    child_env["EQUINAV_RUN_DIR"] = str(tmp_path / "run")
    child_env.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def need(service: str, available: bool, why: str) -> None:
    """Skip a test whose service is missing, or fail it when CI requires services."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{service} is required (REQUIRE_SERVICES=1) but {why}")
    pytest.skip(f"{service} not available: {why}")


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def redis_reachable(url: str) -> bool:
    if not url:
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


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
def api():
    return APIClient()


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


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
