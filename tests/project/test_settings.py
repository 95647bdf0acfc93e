"""Settings read from the environment: production refuses to start without a real key.

Each test imports config.settings in a fresh interpreter with a controlled environment,
as `manage.py`, gunicorn or a Celery worker would.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

import config.settings as project_settings
from tests.support.settings_process import run_with_settings

BASE_DIR = project_settings.BASE_DIR
DEVELOPMENT_KEY = project_settings._DEVELOPMENT_SECRET_KEY
REAL_KEY = "a-unique-unpredictable-production-key-for-this-test-only"

REPORT_SETTINGS = textwrap.dedent(
    """
    import json
    import os
    import django
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    from django.conf import settings
    from config.celery import app
    database = settings.DATABASES["default"]
    print(json.dumps({
        "DEBUG": settings.DEBUG,
        "SECRET_KEY": settings.SECRET_KEY,
        "ENGINE": database["ENGINE"],
        "NAME": str(database["NAME"]),
        "HOST": database.get("HOST", ""),
        "OPTIONS": database.get("OPTIONS", {}),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "broker_url": app.conf.broker_url,
    }))
    """
)


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with only `env` changed from a clean slate."""
    return run_with_settings(REPORT_SETTINGS, tmp_path, **env)


def started(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def refused(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, "the settings loaded but should have refused to"
    assert result.stdout == ""
    return result.stderr.strip().splitlines()[-1]


# --- SECRET_KEY and DEBUG --------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="nothing-set"),
        pytest.param({"DEBUG": "0"}, id="debug-0"),
        pytest.param({"DEBUG": "0", "SECRET_KEY": ""}, id="empty-key"),
        pytest.param({"DEBUG": "false", "SECRET_KEY": DEVELOPMENT_KEY}, id="development-key"),
    ],
)
def test_it_refuses_to_start_without_a_real_key_when_debug_is_off(tmp_path, env):
    # Given DEBUG off and no key of its own
    # When the settings are loaded
    error = refused(start(tmp_path, **env))

    # Then they fail, saying why
    assert error.startswith("django.core.exceptions.ImproperlyConfigured")
    assert "SECRET_KEY" in error


def test_it_starts_with_the_development_key_when_debug_is_on(tmp_path):
    # Given DEBUG on and no key
    # When the settings are loaded
    loaded = started(start(tmp_path, DEBUG="1"))

    # Then they start with the development key
    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"] == DEVELOPMENT_KEY


def test_it_starts_with_a_real_key_when_debug_is_off(tmp_path):
    # Given DEBUG off and a key of its own
    # When the settings are loaded
    loaded = started(start(tmp_path, DEBUG="0", SECRET_KEY=REAL_KEY))

    # Then they start, with that key
    assert loaded["DEBUG"] is False
    assert loaded["SECRET_KEY"] == REAL_KEY


# --- Database --------------------------------------------------------------------------------


def test_it_uses_a_sqlite_file_when_no_database_url_is_set(tmp_path):
    loaded = started(start(tmp_path, DEBUG="1"))

    assert loaded["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["NAME"] == str(BASE_DIR / "db.sqlite3")


def test_sqlite_waits_for_the_write_lock_instead_of_refusing(tmp_path):
    # Given no DATABASE_URL (the embedded default)
    loaded = started(start(tmp_path, DEBUG="1"))

    # Then every transaction takes the write lock at its start (a read-then-write in a
    # deferred one fails at once with "database is locked"), waits up to 20 s for it,
    # and the file is in WAL mode (readers never wait for the writer)
    assert loaded["OPTIONS"] == {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20.0,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }


def test_sqlite_options_come_from_the_environment(tmp_path):
    loaded = started(
        start(
            tmp_path,
            DEBUG="1",
            DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}",
            EQUINAV_SQLITE_TIMEOUT="5",
            EQUINAV_SQLITE_TRANSACTION_MODE="EXCLUSIVE",
        )
    )

    assert loaded["OPTIONS"]["timeout"] == 5.0
    assert loaded["OPTIONS"]["transaction_mode"] == "EXCLUSIVE"


def test_it_uses_postgresql_when_the_database_url_says_so(tmp_path):
    # Given a PostgreSQL URL (the settings only parse it; nothing connects)
    url = "postgres://equinav@db.example.internal:5432/equinav_prod"

    loaded = started(start(tmp_path, DEBUG="1", DATABASE_URL=url))

    assert loaded["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["NAME"] == "equinav_prod"
    assert loaded["HOST"] == "db.example.internal"
    # And none of SQLite's options: only the startup options that turn JIT off
    # (config/postgres_options.py)
    assert loaded["OPTIONS"] == {"options": "-c jit=off"}


# --- Celery broker ---------------------------------------------------------------------------


def test_it_uses_a_sqlite_broker_in_its_run_dir_when_no_redis_url_is_set(tmp_path):
    # Given no REDIS_URL and a run directory of its own
    loaded = started(start(tmp_path, DEBUG="1"))

    # Then Celery uses kombu's SQLAlchemy transport on a SQLite file in the run directory
    url = f"sqla+sqlite:///{tmp_path / 'run' / 'celery-broker.sqlite3'}"
    assert loaded["CELERY_BROKER_URL"] == url
    assert loaded["broker_url"] == url


def test_it_uses_redis_when_a_redis_url_is_set(tmp_path):
    # Given a Redis URL (nothing connects at import)
    url = "redis://cache.example.internal:6380/3"

    loaded = started(start(tmp_path, DEBUG="1", REDIS_URL=url))

    assert loaded["CELERY_BROKER_URL"] == url
    assert loaded["broker_url"] == url
    # And no broker file is made
    assert not (tmp_path / "run" / "celery-broker.sqlite3").exists()
