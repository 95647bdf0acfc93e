"""An API view lets go of what it kept once its answer is sent
(config/middleware.py `ApiViewReleaseMiddleware`): the rows it built are freed by
reference counting then, not left in a reference cycle for the garbage collector."""

from __future__ import annotations

import gc

import pytest

from navigator.models import NavigationCase
from tests.navigator.test_worklist import NOW, caseload
from tests.support.api import token_authorization

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def _cases_alive() -> int:
    # type(), not isinstance(): a lazy object (the CSP nonce) would be evaluated
    return sum(1 for o in gc.get_objects() if type(o) is NavigationCase)


def test_a_worklist_answer_leaves_none_of_its_rows_behind_once_sent(client, navigator):
    # Given a navigator's worklist, read once (every query compiled and kept)
    caseload(navigator, 8)
    authorization = token_authorization(navigator.user)
    client.get("/api/worklist/", HTTP_AUTHORIZATION=authorization, secure=True)
    gc.collect()
    before = _cases_alive()

    # When it is read again with the collector off (the test client closes the answer,
    # as a server does once it has sent it)
    gc.disable()
    try:
        response = client.get("/api/worklist/", HTTP_AUTHORIZATION=authorization, secure=True)
        after = _cases_alive()
    finally:
        gc.enable()

    # Then its rows were freed with the answer, none waits for the collector
    assert response.status_code == 200
    assert len(response.json()["results"]) == 9
    assert after == before


def test_the_answer_keeps_its_data_and_its_view_keeps_nothing(client, navigator):
    # Given a navigator's worklist
    caseload(navigator, 2)

    # When it is read and the answer sent
    response = client.get(
        "/api/worklist/", HTTP_AUTHORIZATION=token_authorization(navigator.user), secure=True
    )

    # Then the response still holds what it said, and no context names the view
    assert response.status_code == 200
    assert response.data["count"] == 3
    assert response.renderer_context == {}
