"""TOTP two-factor (django-otp): enrolling an authenticator app and checking its codes.

Who must use it is config.two_factor.requires_totp. Each device throttles its own
wrong codes (django-otp doubles the wait after each), every failure is recorded, and
a code is accepted once only (a device remembers the last time step it accepted)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from navigator.models import User
from navigator.security_events import (
    TWO_FACTOR_ENROLLED,
    TWO_FACTOR_FAILED,
    security_event,
)

DEVICE_NAME = "Authenticator app"
WRONG_CODE = "That code is not right or has expired: enter the 6-digit code your app shows now."
THROTTLED = "Too many wrong codes: wait a minute, then enter the code your app shows now."
NO_DEVICE = "Set up an authenticator app first: sign in on the web to enrol one."


def _clean(code: str) -> str:
    code = (code or "").replace(" ", "").strip()
    if not (code.isdigit() and len(code) == 6):
        raise ValidationError({"code": "Enter the 6-digit code from your authenticator app."})
    return code


def totp_enrolment_device(*, user: User) -> TOTPDevice:
    """The device being enrolled: the user's unconfirmed one, made if there is none."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def _check(
    device: TOTPDevice, code: str, *, user: User, request: HttpRequest | None, step: str
) -> None:
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        security_event(
            action=TWO_FACTOR_FAILED,
            request=request,
            user=user,
            detail={"step": step, "why": "throttled"},
        )
        raise ValidationError({"code": THROTTLED})
    if not device.verify_token(code):
        security_event(
            action=TWO_FACTOR_FAILED,
            request=request,
            user=user,
            detail={"step": step, "why": "wrong_code"},
        )
        raise ValidationError({"code": WRONG_CODE})


def totp_enrol_confirm(*, user: User, code: str, request: HttpRequest | None = None) -> TOTPDevice:
    """Confirm the device being enrolled with a code it made; it then counts as the user's."""
    code = _clean(code)
    device = totp_enrolment_device(user=user)
    _check(device, code, user=user, request=request, step="enrol")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    security_event(action=TWO_FACTOR_ENROLLED, request=request, user=user)
    return device


def totp_verify(*, user: User, code: str, request: HttpRequest | None = None) -> TOTPDevice:
    """The user's confirmed device that accepts `code`; ValidationError (code) if none does."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        raise ValidationError({"code": NO_DEVICE})
    code = _clean(code)
    _check(device, code, user=user, request=request, step="verify")
    return device
