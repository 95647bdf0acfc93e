"""Two-factor sign-in for privileged users (django-otp, TOTP).

With EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED on, a manager, an administrator or a
superuser who signed in with their password reaches no page, no admin and no
session-authenticated API until this session has passed a TOTP check: without a
confirmed device they are sent to enrol one, with one to enter its code. Navigators
and clinic staff are not affected, nor anyone while the setting is off. API tokens are
issued to privileged users only with a valid code (navigator.api.tokens), so a token
caller never meets this middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django_otp import user_has_device

from config.middleware import API_PREFIX

ENROL_URL_NAME = "two_factor_enrol"
VERIFY_URL_NAME = "two_factor_verify"
# Pages an unverified privileged user may still open: the two-factor pages
# themselves, signing out, the session's timer, and the token endpoint (which asks
# for the code itself).
EXEMPT_VIEW_NAMES = frozenset(
    {
        ENROL_URL_NAME,
        VERIFY_URL_NAME,
        "login",
        "logout",
        "session_status",
        "session_keep_alive",
        "api:token",
    }
)


def is_privileged(user) -> bool:
    """Who sees every patient (managers, administrators) or who read whom (the
    compliance officer, whose audit trail names every patient and user)."""
    return bool(
        user.is_authenticated
        and (user.is_manager or user.is_program_admin or user.is_compliance_officer)
    )


def requires_totp(user) -> bool:
    """Whether this user must pass a TOTP check before anything else."""
    return bool(settings.EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED) and is_privileged(user)


def is_verified(user) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


class TwoFactorRequiredMiddleware:
    """Sends an unverified privileged user to enrol or to enter their code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = request.user
        if not requires_totp(user) or is_verified(user):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in EXEMPT_VIEW_NAMES:
            return None
        if request.path.startswith(API_PREFIX):
            return JsonResponse(
                {"detail": "Two-factor verification is required: sign in on the web first."},
                status=403,
            )
        target = VERIFY_URL_NAME if user_has_device(user, confirmed=True) else ENROL_URL_NAME
        response = redirect(target)
        if request.method == "GET":
            response["Location"] += "?" + urlencode({"next": request.get_full_path()})
        return response
