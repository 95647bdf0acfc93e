"""outreach's settings checks: a text backend that cannot work is said at start-up."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from outreach.checks import sms_backend_check


def test_the_console_backend_passes_while_debugging(settings):
    settings.DEBUG = True
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.ConsoleBackend"

    assert sms_backend_check() == []


def test_the_console_backend_in_production_is_a_warning_texts_would_reach_the_logs(settings):
    # It prints each text with its number to stdout, which production ships as logs
    settings.DEBUG = False
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.ConsoleBackend"

    [warning] = sms_backend_check()

    assert warning.id == "outreach.W002"
    assert not warning.is_serious()
    assert "logs" in warning.msg


def test_a_backend_path_from_before_the_move_is_an_error_that_names_the_new_one(settings):
    # Given the path operators were told to set before the backends moved
    settings.EQUINAV_SMS_BACKEND = "outreach.sms.TwilioBackend"

    [error] = sms_backend_check()

    assert error.id == "outreach.E001"
    assert error.is_serious()
    assert "outreach.sms.TwilioBackend" in error.msg
    assert error.hint == (
        "The SMS backends moved: set "
        "EQUINAV_SMS_BACKEND=outreach.messaging.sms_backends.TwilioBackend"
    )


def test_a_class_that_is_not_an_sms_backend_is_an_error(settings):
    settings.EQUINAV_SMS_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    [error] = sms_backend_check()

    assert error.id == "outreach.E002"
    assert error.is_serious()


def test_the_provider_without_its_credentials_is_a_warning_and_with_them_passes(settings):
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.EQUINAV_SMS_FROM = ""

    [warning] = sms_backend_check()

    assert warning.id == "outreach.W001"
    assert not warning.is_serious()
    assert "TWILIO_ACCOUNT_SID" in warning.msg

    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.EQUINAV_SMS_FROM = "+16175550100"
    assert sms_backend_check() == []


def test_manage_py_check_refuses_to_start_with_a_backend_that_cannot_be_imported(settings):
    settings.EQUINAV_SMS_BACKEND = "outreach.sms.ConsoleBackend"

    with pytest.raises(SystemCheckError, match="outreach.E001"):
        call_command("check")
