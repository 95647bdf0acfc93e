"""Every request has an id: on its answer, on each log line it causes, and on the
Celery tasks it sends (issue 14, item 5; config.request_id)."""

from __future__ import annotations

import logging
import re

import pytest

from config.celery import app
from config.enqueue import enqueue_now, enqueue_on_commit
from config.request_id import current_request_id, set_request_id

pytestmark = pytest.mark.django_db

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_a_request_without_an_id_gets_a_new_one_in_its_answer(client):
    response = client.get("/accounts/login/")

    assert HEX_ID.fullmatch(response["X-Request-ID"])
    assert response.wsgi_request.request_id == response["X-Request-ID"]


def test_two_requests_get_two_ids(client):
    first = client.get("/accounts/login/")["X-Request-ID"]
    second = client.get("/accounts/login/")["X-Request-ID"]

    assert first != second


def test_the_id_a_proxy_sent_is_kept(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-2f9c.7_A-1")

    assert response["X-Request-ID"] == "lb-2f9c.7_A-1"


@pytest.mark.parametrize(
    "sent",
    [
        "",
        "x" * 65,
        "has space",
        'quote"inside',
        "new\nline",
        "-starts-with-a-dash",
        "Zzcanaryname?q=1",
        "ümlaut",
    ],
)
def test_an_implausible_id_is_replaced_with_a_new_one(client, sent):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID=sent)

    assert HEX_ID.fullmatch(response["X-Request-ID"])


def test_an_error_answer_carries_its_id_too(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert HEX_ID.fullmatch(response["X-Request-ID"])


def test_the_log_lines_of_a_request_carry_its_id_even_djangos_not_found(client, caplog):
    # Given a request Django answers 404 (it logs "Not Found" after the middleware returned)
    caplog.set_level(logging.INFO)

    # When it is made with an id
    client.get("/no/such/page/", HTTP_X_REQUEST_ID="req-404-check")

    # Then Django's warning carries that id
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.request_id == "req-404-check"
    # and nothing after the request does
    assert current_request_id() == ""


def test_outside_a_request_there_is_no_id():
    assert current_request_id() == ""


def test_a_task_sent_during_a_request_carries_the_requests_id(
    monkeypatch, django_capture_on_commit_callbacks
):
    # Given a task that remembers the id it ran under
    seen: list[str] = []
    sent: list[dict | None] = []

    @app.task(name="tests.remember_request_id")
    def remember() -> None:
        seen.append(current_request_id())

    original = remember.apply_async

    def record(args=None, kwargs=None, **options):
        sent.append(options.get("headers"))
        return original(args, kwargs, **options)

    monkeypatch.setattr(remember, "apply_async", record)

    # When it is sent on commit while a request is handled
    set_request_id("req-with-task")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_on_commit("tests.remember_request_id")
    finally:
        set_request_id("")

    # Then its message carries the id, and it ran under it
    assert sent == [{"equinav_request_id": "req-with-task"}]
    assert seen == ["req-with-task"]


def test_a_task_sent_outside_a_request_carries_no_id(monkeypatch):
    sent: list[dict | None] = []

    @app.task(name="tests.no_request_id")
    def nothing() -> None:
        return None

    original = nothing.apply_async

    def record(args=None, kwargs=None, **options):
        sent.append(options.get("headers"))
        return original(args, kwargs, **options)

    monkeypatch.setattr(nothing, "apply_async", record)

    enqueue_now("tests.no_request_id")

    assert sent == [None]


def test_a_task_run_by_a_worker_takes_the_id_from_its_message_header():
    # Given a task whose message carries a request id (as config.enqueue sends it)
    seen: list[str] = []

    @app.task(name="tests.remember_request_id_header")
    def remember() -> None:
        seen.append(current_request_id())

    # When it runs with no request current
    assert current_request_id() == ""
    remember.apply(headers={"equinav_request_id": "req-from-header"})

    # Then its log lines would carry the id it was sent with
    assert seen == ["req-from-header"]
