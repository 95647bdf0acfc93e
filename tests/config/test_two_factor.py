"""TOTP two-factor for managers, administrators and superusers (django-otp), when
EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED is on: enrol first, then a code at each sign-in
before any page, the admin, or an API token. Navigators are never asked; with the
setting off nobody is."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from navigator.audit.models import AccessAction, AccessEvent
from tests.factories import PASSWORD, AdminFactory, ManagerFactory, NavigatorFactory, UserFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 4, 14, 0, tzinfo=dt.UTC)
WORKLIST = reverse("navigator:worklist")
ENROL = reverse("two_factor_enrol")
VERIFY = reverse("two_factor_verify")


@pytest.fixture(autouse=True)
def required(settings):
    settings.EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED = True


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def code_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def sign_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


@pytest.mark.parametrize(
    "make", [ManagerFactory, AdminFactory, lambda: UserFactory(is_superuser=True, is_staff=True)]
)
def test_a_privileged_user_without_a_device_is_sent_to_enrol_before_any_page(client, make):
    user = make()
    sign_in(client, user)

    for path in (reverse("home"), reverse("navigator:equity"), reverse("admin:index")):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(ENROL + "?next=")


def test_enrolling_shows_a_server_drawn_qr_code_and_a_right_code_lets_them_in(client, clock):
    manager = ManagerFactory()
    sign_in(client, manager)

    page = client.get(ENROL, {"next": reverse("navigator:equity")})
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "<script>" not in html
    device = TOTPDevice.objects.get(user=manager, confirmed=False)

    wrong = client.post(ENROL, {"code": "000000", "next": reverse("navigator:equity")})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()

    clock.shift(dt.timedelta(seconds=30))  # a wrong code makes django-otp wait a moment
    response = client.post(ENROL, {"code": code_for(device), "next": reverse("navigator:equity")})
    assert response.status_code == 302
    assert response["Location"] == reverse("navigator:equity")
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("navigator:equity")).status_code == 200
    actions = set(AccessEvent.objects.values_list("action", flat=True))
    assert {AccessAction.TWO_FACTOR_ENROLLED, AccessAction.TWO_FACTOR_FAILED} <= actions


def test_with_a_device_each_sign_in_needs_a_valid_code(client, clock):
    manager = ManagerFactory()
    device = confirmed_device(manager)
    sign_in(client, manager)

    response = client.get(reverse("navigator:equity"))
    assert response["Location"].startswith(VERIFY + "?next=")

    refused = client.post(VERIFY, {"code": "123456"})
    assert refused.status_code == 200
    assert client.get(reverse("navigator:equity")).status_code == 302
    assert AccessEvent.objects.filter(action=AccessAction.TWO_FACTOR_FAILED, user=manager).exists()

    clock.shift(dt.timedelta(seconds=30))
    accepted = client.post(VERIFY, {"code": code_for(device), "next": WORKLIST})
    assert accepted.status_code == 302
    assert client.get(reverse("navigator:equity")).status_code == 200

    # A new sign-in asks again
    client.logout()
    sign_in(client, manager)
    assert client.get(reverse("navigator:equity"))["Location"].startswith(VERIFY)


def test_a_code_that_is_not_six_digits_gets_a_clear_error(client):
    manager = ManagerFactory()
    confirmed_device(manager)
    sign_in(client, manager)

    response = client.post(VERIFY, {"code": "12ab"})

    assert response.status_code == 200
    assert "Enter the 6-digit code" in response.content.decode()


def test_navigators_are_never_asked(client):
    navigator = NavigatorFactory()
    sign_in(client, navigator.user)
    assert client.get(WORKLIST).status_code == 200


def test_with_the_setting_off_managers_are_not_asked(client, settings):
    settings.EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED = False
    manager = ManagerFactory()
    sign_in(client, manager)
    assert client.get(reverse("navigator:equity")).status_code == 200


def test_an_unverified_managers_session_gets_no_api(client):
    manager = ManagerFactory()
    sign_in(client, manager)

    response = client.get("/api/cases/")

    assert response.status_code == 403
    assert "Two-factor" in response.json()["detail"]


def test_a_manager_gets_an_api_token_only_with_a_valid_code(clock):
    manager = ManagerFactory()
    device = confirmed_device(manager)
    api = APIClient()
    credentials = {"username": manager.username, "password": PASSWORD}

    missing = api.post("/api/auth/token/", credentials)
    assert missing.status_code == 400
    assert "otp_token" in missing.json()

    wrong = api.post("/api/auth/token/", {**credentials, "otp_token": "000000"})
    assert wrong.status_code == 400
    assert "otp_token" in wrong.json()

    clock.shift(dt.timedelta(seconds=30))
    right = api.post("/api/auth/token/", {**credentials, "otp_token": code_for(device)})
    assert right.status_code == 200
    assert right.json()["token"]


def test_a_navigator_gets_a_token_without_a_code():
    navigator = NavigatorFactory()
    response = APIClient().post(
        "/api/auth/token/", {"username": navigator.user.username, "password": PASSWORD}
    )
    assert response.status_code == 200


def test_a_compliance_officer_is_sent_to_enrol_before_the_audit_trail(client):
    # The trail names every patient and user: the officer is privileged too
    from navigator.models import Role

    officer = UserFactory(role=Role.COMPLIANCE)
    sign_in(client, officer)

    response = client.get(reverse("audit:search"))

    assert response.status_code == 302
    assert response["Location"].startswith(ENROL + "?next=")
