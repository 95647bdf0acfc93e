"""Authentication, pagination and the OpenAPI schema."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

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
    client.force_login(factories.NavigatorFactory().user)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ["/api/referrals/", "/api/cases/{id}/attempts/", "/api/worklist/",
                 "/api/reports/completion/", "/api/auth/token/"]:  # fmt: skip
        assert path in schema["paths"], path


def test_the_api_docs_page_loads_nothing_from_a_cdn(client):
    client.force_login(factories.NavigatorFactory().user)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assert "swagger-ui" in html


# --- The schema and docs are not public outside DEBUG ------------------------------------


def test_outside_debug_an_anonymous_caller_gets_401_for_the_schema(client, settings):
    # Given DEBUG off (production)
    settings.DEBUG = False

    # When nobody signed in asks for the schema
    response = client.get("/api/schema/")

    # Then it is refused with a challenge, and no path of the API is named
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert b"/api/cases/" not in response.content


def test_outside_debug_an_anonymous_browser_is_sent_to_sign_in_for_the_docs(client, settings):
    settings.DEBUG = False

    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"


def test_outside_debug_an_anonymous_token_client_gets_401_for_the_docs_view(settings):
    # Given DEBUG off, and a caller with a wrong token (not a browser without a session)
    settings.DEBUG = False

    # When it asks the docs view for its script
    response = APIClient(HTTP_AUTHORIZATION="Token nonsense").get("/api/docs/?script=")

    # Then the token is refused: a 401, not the page
    assert response.status_code == 401


def test_outside_debug_a_signed_in_user_of_any_role_reads_the_schema_and_docs(settings):
    settings.DEBUG = False
    for user in (
        factories.NavigatorFactory().user,
        factories.ManagerFactory(),
        factories.ClinicStaffFactory(),
        factories.AdminFactory(),
    ):
        browser = APIClient()
        browser.force_login(user)
        assert api_as(user).get("/api/schema/").status_code == 200, user.role
        assert browser.get("/api/schema/").status_code == 200, user.role
        assert browser.get("/api/docs/").status_code == 200, user.role


def test_in_debug_the_schema_and_docs_are_open_to_an_anonymous_caller(client, settings):
    # Given DEBUG on (a developer's machine)
    settings.DEBUG = True

    # Then both answer without sign-in
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
