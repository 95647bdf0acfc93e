"""The health checks (config/health.py): a probe reaching a pod by its address over plain
HTTP gets an answer, the answer carries nothing, and asking writes nothing."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError

from navigator.audit.models import AccessEvent
from tests import factories

pytestmark = pytest.mark.django_db

# What kubelet sends: the pod's address as the host name.
POD_HOST = {"HTTP_HOST": "10.42.0.17:8000"}


@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_liveness_answers_ok_without_touching_the_database(client, path, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(path, **POD_HOST)
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"


def test_readiness_asks_the_database_one_question(client, django_assert_num_queries):
    # Query: SELECT 1
    with django_assert_num_queries(1):
        response = client.get("/healthz/ready", **POD_HOST)
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_readiness_answers_503_when_the_database_does_not(client, caplog):
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute",
        side_effect=OperationalError("could not connect to server at db.internal"),
    ):
        response = client.get("/healthz/ready", **POD_HOST)
    assert response.status_code == 503
    assert response.content == b"database unavailable\n"
    # The error's type is logged, not its text (which names the host)
    assert "OperationalError" in caplog.text
    assert "db.internal" not in caplog.text


def test_a_probe_over_plain_http_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", **POD_HOST).status_code == 200
    # Every other page still is
    assert client.get("/accounts/login/").status_code == 301


def test_a_signed_in_user_asking_leaves_no_audit_row_and_no_new_session(client):
    client.force_login(factories.ManagerFactory())
    events = AccessEvent.objects.count()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert AccessEvent.objects.count() == events
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize("path", ["/healthz", "/healthz/ready"])
def test_any_other_method_is_refused(client, path):
    assert client.post(path, **POD_HOST).status_code == 405
