"""Authentication, pagination and the OpenAPI schema."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.factories import PASSWORD
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def test_a_user_exchanges_username_and_password_for_a_token_that_authenticates(api, navigator):
    response = api.post(
        "/api/auth/token/", {"username": navigator.user.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]

    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/worklist/").status_code == 200


def test_a_wrong_password_gets_no_token(api, navigator):
    response = api.post(
        "/api/auth/token/", {"username": navigator.user.username, "password": "wrong"}
    )
    assert response.status_code == 400
    assert "token" not in response.json()


def test_session_authentication_works_for_the_api(client, navigator):
    client.force_login(navigator.user)
    assert client.get("/api/worklist/").status_code == 200


def test_every_list_is_paginated(manager):
    client = api_as(manager)
    for url in ["/api/cases/", "/api/referrals/", "/api/patients/", "/api/reminders/",
                "/api/navigators/", "/api/programs/"]:  # fmt: skip
        body = client.get(url).json()
        assert {"count", "next", "previous", "results"} <= set(body), url


def test_page_size_is_capped(manager):
    for _ in range(3):
        factories.CaseFactory()
    body = api_as(manager).get("/api/cases/?page_size=1").json()
    assert body["count"] == 3 and len(body["results"]) == 1 and body["next"]


def test_the_openapi_schema_describes_the_loop(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ["/api/referrals/", "/api/cases/{id}/attempts/", "/api/worklist/",
                 "/api/reports/completion/", "/api/auth/token/"]:  # fmt: skip
        assert path in schema["paths"], path


def test_the_api_docs_page_loads_nothing_from_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assert "swagger-ui" in html
