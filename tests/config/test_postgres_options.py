"""Every PostgreSQL connection starts with JIT off (config/postgres_options.py): the
care-gap upsert compiled for longer than it ran."""

from __future__ import annotations

import json
import textwrap

import pytest
from django.db import connection

from config.postgres_options import DEFAULT_STARTUP_OPTIONS, with_startup_options
from tests.support.settings_process import run_with_settings


def test_by_default_the_startup_options_turn_jit_off(monkeypatch):
    monkeypatch.delenv("DATABASE_STARTUP_OPTIONS", raising=False)
    monkeypatch.delenv("DATABASE_DISABLE_SERVER_SIDE_CURSORS", raising=False)

    assert with_startup_options({"sslmode": "require"}) == {
        "sslmode": "require",
        "options": "-c jit=off",
    }


def test_options_the_url_carries_are_kept_after_ours_so_that_they_win(monkeypatch):
    # Given a URL that sets a search path, and turns JIT back on, through libpq's options
    monkeypatch.delenv("DATABASE_STARTUP_OPTIONS", raising=False)
    monkeypatch.delenv("DATABASE_DISABLE_SERVER_SIDE_CURSORS", raising=False)

    merged = with_startup_options({"options": "-c search_path=equinav -c jit=on"})

    # (PostgreSQL applies them in order: the URL's jit=on is the one that holds)
    assert merged["options"] == "-c jit=off -c search_path=equinav -c jit=on"


def test_an_empty_setting_sends_no_startup_options(monkeypatch):
    monkeypatch.setenv("DATABASE_STARTUP_OPTIONS", "")

    assert with_startup_options(None) == {}


def test_behind_pgbouncer_none_are_sent_unless_asked(monkeypatch):
    # Given the pooler's setting (PgBouncer refuses startup options; the role carries
    # jit=off instead)
    monkeypatch.setenv("DATABASE_DISABLE_SERVER_SIDE_CURSORS", "1")
    monkeypatch.delenv("DATABASE_STARTUP_OPTIONS", raising=False)

    assert with_startup_options({"sslmode": "require"}) == {"sslmode": "require"}

    # And a pooler that passes them on can still be given them
    monkeypatch.setenv("DATABASE_STARTUP_OPTIONS", "-c jit=off")
    assert with_startup_options(None) == {"options": "-c jit=off"}


def _database_options(tmp_path, **env: str) -> dict:
    script = textwrap.dedent(
        """
        import json
        import django
        django.setup()
        from django.conf import settings
        print(json.dumps({
            alias: settings.DATABASES[alias].get("OPTIONS", {}) for alias in settings.DATABASES
        }))
        """
    )
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "a-production-like-key-for-a-settings-test",
        "DEBUG": "0",
        "DATABASE_URL": "postgres://equinav@db.internal:5432/equinav",
        "DATABASE_REPLICA_URL": "postgres://equinav@db-replica.internal:5432/equinav",
    }
    result = run_with_settings(script, tmp_path, **{**environment, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_primary_and_the_replica_both_start_with_jit_off(tmp_path):
    found = _database_options(tmp_path)

    assert found["default"]["options"] == DEFAULT_STARTUP_OPTIONS
    assert found["replica"]["options"] == DEFAULT_STARTUP_OPTIONS


def test_behind_pgbouncer_the_primary_and_the_replica_start_without_options(tmp_path):
    found = _database_options(tmp_path, DATABASE_DISABLE_SERVER_SIDE_CURSORS="1")

    assert "options" not in found["default"]
    assert "options" not in found["replica"]


def test_the_embedded_sqlite_database_gets_no_postgresql_options(tmp_path):
    found = _database_options(tmp_path, DATABASE_URL="", DATABASE_REPLICA_URL="")

    assert "options" not in found["default"]


@pytest.mark.django_db
def test_a_connection_to_postgresql_runs_without_jit(require_postgres):
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        (jit,) = cursor.fetchone()

    assert jit == "off"
