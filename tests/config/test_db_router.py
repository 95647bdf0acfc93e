"""The read replica (config/db_router.py): with one configured, the dashboards' report
queries read from it and every write (the audit trail's included) goes to the primary;
without one, the router is inert.

The test settings declare `replica` as a TEST MIRROR of `default` (the same test
database through a second connection), off until a test turns EQUINAV_READ_REPLICA on.
The replica's connection sees only committed rows, so these tests commit (transaction=True).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import OperationalError, connections
from django.test.utils import CaptureQueriesContext

from config.db_router import REPLICA, ReplicaRouter, replica_lag_seconds, replica_reads
from navigator.audit.models import AccessEvent
from patients.models import Patient
from tests import factories
from tests.support.equity_story import build_story_population
from tests.support.settings_process import run_with_settings

BOTH = ["default", REPLICA]
EQUITY_PAGE = "/reports/equity/"
MEASURE_REPORT = "/api/measures/CMS130/report/?period_start=2025-01-01&period_end=2025-12-31"


@pytest.fixture
def replica_on(settings):
    settings.EQUINAV_READ_REPLICA = True


def sql_of(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def writes_in(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))]


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_the_equity_dashboard_reads_the_replica_and_its_audit_row_is_written_to_the_primary(
    client, replica_on
):
    # Given a stored population and a signed-in manager
    build_story_population()
    client.force_login(factories.ManagerFactory())
    events_before = AccessEvent.objects.count()
    # When the manager opens the dashboard
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get(EQUITY_PAGE)
    # Then the page is drawn from the replica's reads
    assert response.status_code == 200
    replica_sql = sql_of(on_replica)
    assert any("patients_" in sql for sql in replica_sql), replica_sql
    assert writes_in(replica_sql) == []
    # and the primary took the request's writes (the audit trail) and its session read
    assert any("audit_" in sql for sql in writes_in(sql_of(on_primary)))
    assert AccessEvent.objects.count() == events_before + 1
    assert not any("django_session" in sql for sql in replica_sql)


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_the_ecqm_measure_report_reads_the_replica(client, replica_on):
    client.force_login(factories.ManagerFactory())
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get(MEASURE_REPORT)
    assert response.status_code == 200
    assert any("patients_" in sql for sql in sql_of(on_replica))


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_the_worklist_and_other_pages_never_read_the_replica(client, replica_on):
    client.force_login(factories.NavigatorFactory().user)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert client.get("/worklist/").status_code == 200
    assert on_replica.captured_queries == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_inside_a_report_block_reads_go_to_the_replica_and_writes_to_the_primary(replica_on):
    with (
        replica_reads(),
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        created = factories.PatientFactory()
        read_back = Patient.objects.get(pk=created.pk)
        read_from = read_back._state.db
        # An object read from the replica is saved to the primary
        read_back.save()
        Session.objects.filter(session_key="nothing").exists()
    assert (read_from, read_back._state.db) == (REPLICA, "default")
    assert writes_in(sql_of(on_replica)) == []
    assert any("patients_patient" in sql for sql in writes_in(sql_of(on_primary)))
    # Sessions (like the audit trail, lockouts and tokens) are read from the primary
    assert any("django_session" in sql for sql in sql_of(on_primary))
    assert not any("django_session" in sql for sql in sql_of(on_replica))


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_with_the_replica_down_the_dashboard_reads_the_primary_and_says_so_in_the_log(
    client, replica_on, caplog
):
    # Given a replica that takes no connection (down, or being rebuilt)
    build_story_population()
    client.force_login(factories.ManagerFactory())
    connections[REPLICA].close()
    refused = OperationalError("could not connect to server at db-replica.internal")
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        mock.patch.object(connections[REPLICA], "ensure_connection", side_effect=refused),
    ):
        # When the manager opens the dashboard
        response = client.get(EQUITY_PAGE)
    # Then it is drawn from the primary, and the log names the error's type, not its text
    assert response.status_code == 200
    assert on_replica.captured_queries == []
    assert "read replica unreachable (OperationalError)" in caplog.text
    assert "db-replica.internal" not in caplog.text


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_a_replica_far_behind_is_skipped_and_the_dashboard_reads_the_primary(
    client, replica_on, settings, caplog
):
    # Given a replica whose replay has stalled two minutes behind the primary
    settings.EQUINAV_REPLICA_MAX_LAG_SECONDS = 30
    build_story_population()
    client.force_login(factories.ManagerFactory())
    with (
        mock.patch("config.db_router.replica_lag_seconds", return_value=120.0),
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
    ):
        # When the manager opens the dashboard
        response = client.get(EQUITY_PAGE)
    # Then it is drawn from the primary, and the log says how far behind the replica was
    assert response.status_code == 200
    assert on_replica.captured_queries == []
    assert "read replica 120 s behind (over 30 s): reports read the primary" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_a_replica_that_is_no_standby_reads_as_current(require_postgres):
    # Given the tests' replica (a mirror of the primary, so a server not in recovery)
    # When its lag is asked
    # Then it is nothing: the lag query answers 0 off a standby rather than the age of
    # the last replayed transaction, which an idle primary would make look like lag
    assert replica_lag_seconds() == 0.0


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=BOTH)
def test_without_a_replica_the_router_is_inert(client, settings):
    # Given no replica configured (the setting off, as DATABASE_REPLICA_URL unset leaves it)
    settings.EQUINAV_READ_REPLICA = False
    build_story_population()
    client.force_login(factories.ManagerFactory())
    # When a report is read, inside a report block or through the page
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert client.get(EQUITY_PAGE).status_code == 200
        with replica_reads():
            assert Patient.objects.exists()
    # Then nothing went to the replica
    assert on_replica.captured_queries == []


def test_the_router_sends_every_write_to_the_primary_and_migrates_only_the_primary():
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_write(Patient) == "default"
    assert router.allow_migrate(REPLICA, "patients") is False
    assert router.allow_migrate("default", "patients") is None


def _databases_in_subprocess(tmp_path: Path, **env: str) -> dict:
    script = textwrap.dedent(
        """
        import json
        import django
        django.setup()
        from django.conf import settings
        print(json.dumps({
            "aliases": sorted(settings.DATABASES),
            "default": settings.DATABASES["default"],
            "replica": settings.DATABASES.get("replica"),
            "read_replica": settings.EQUINAV_READ_REPLICA,
            "routers": settings.DATABASE_ROUTERS,
        }, default=str))
        """
    )
    result = run_with_settings(
        script,
        tmp_path,
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="a-production-like-key-for-a-settings-test",
        DEBUG="0",
        DATABASE_URL="postgres://equinav@db.internal:5432/equinav",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_database_replica_url_adds_the_replica_and_turns_the_router_on(tmp_path):
    found = _databases_in_subprocess(
        tmp_path, DATABASE_REPLICA_URL="postgres://equinav@db-replica.internal:5432/equinav"
    )
    assert found["aliases"] == ["default", "replica"]
    assert found["replica"]["HOST"] == "db-replica.internal"
    assert found["replica"]["TEST"]["MIRROR"] == "default"
    assert found["replica"]["OPTIONS"]["connect_timeout"] == 3
    assert found["read_replica"] is True


def test_without_database_replica_url_there_is_only_the_primary(tmp_path):
    found = _databases_in_subprocess(tmp_path, DATABASE_REPLICA_URL="")
    assert found["aliases"] == ["default"]
    assert found["read_replica"] is False


def test_behind_pgbouncer_server_side_cursors_are_off_on_the_primary_and_the_replica(tmp_path):
    # Given transaction pooling (a server-side cursor cannot outlive its transaction)
    found = _databases_in_subprocess(
        tmp_path,
        DATABASE_REPLICA_URL="postgres://equinav@db-replica.internal:5432/equinav",
        DATABASE_DISABLE_SERVER_SIDE_CURSORS="1",
    )
    assert found["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert found["replica"]["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_by_default_server_side_cursors_stay_on(tmp_path):
    found = _databases_in_subprocess(tmp_path, DATABASE_REPLICA_URL="")
    assert found["default"]["DISABLE_SERVER_SIDE_CURSORS"] is False
