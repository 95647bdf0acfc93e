"""Responses that may carry PHI are never stored by a browser or proxy cache (issue 14, item 5)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from knox.models import AuthToken

from tests import factories

pytestmark = pytest.mark.django_db


def assert_not_stored(response) -> None:
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"


def test_a_signed_in_navigators_worklist_page_is_not_stored(client, navigator):
    # given a navigator with a case on their worklist
    factories.CaseFactory(navigator=navigator)
    client.force_login(navigator.user)

    # when they open the worklist
    response = client.get(reverse("navigator:worklist"))

    # then no cache may keep it
    assert response.status_code == 200
    assert_not_stored(response)


def test_an_api_list_fetched_with_a_token_is_not_stored(client, manager):
    # given a manager calling the API with a token (DRF authenticates it inside the view,
    # so the middleware cannot rely on request.user)
    factories.CaseFactory()
    _, token = AuthToken.objects.create(user=manager)

    # when they list cases
    response = client.get("/api/cases/", HTTP_AUTHORIZATION=f"Token {token}")

    # then the list is not stored
    assert response.status_code == 200
    assert_not_stored(response)


def test_an_api_error_to_an_anonymous_caller_is_not_stored_either(client):
    response = client.get("/api/cases/")

    assert response.status_code in {401, 403}
    assert_not_stored(response)


@pytest.mark.parametrize("name", ["navigator:equity_csv", "navigator:equity_pdf"])
def test_an_equity_download_is_not_stored(client, manager, name):
    # given a manager signed in
    client.force_login(manager)

    # when they download the equity report
    response = client.get(reverse(name))

    # then the file is not stored
    assert response.status_code == 200
    assert_not_stored(response)


def test_the_middleware_leaves_an_anonymous_page_alone(client):
    # Django's LoginView sends its own never-cache headers (its form holds a CSRF
    # token); the middleware adds nothing to an anonymous page outside the API.
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert "Pragma" not in response


def test_static_files_are_not_affected_even_for_a_signed_in_user(client, manager):
    # given a signed-in manager
    client.force_login(manager)

    # when their browser fetches the stylesheet (WhiteNoise answers before the middleware)
    response = client.get("/static/css/equinav.css")

    # then it keeps its ordinary caching headers
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Pragma" not in response
