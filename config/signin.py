"""What a refused sign-in looks like, shared by the sign-in page and the API.

django-axes refuses a username or an address that failed too often
(settings.AXES_*); `lockout_response` is its answer (AXES_LOCKOUT_CALLABLE): 429 Too
Many Requests with Retry-After, on the sign-in page or as JSON for the API. The words
are the same whether or not the username exists, so the answer tells an attacker
nothing about which accounts there are.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from config.middleware import API_PREFIX

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts. Sign-in is paused for this account and this "
    "address for {minutes} minutes; try again later or ask an administrator."
)


def cool_off_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def locked_message() -> str:
    return LOCKED_MESSAGE.format(minutes=max(1, cool_off_seconds() // 60))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        response = JsonResponse({"detail": locked_message()}, status=429)
    else:
        form = AuthenticationForm(request)
        response = render(
            request,
            "registration/login.html",
            {"form": form, "locked_message": locked_message(), "next": ""},
            status=429,
        )
    response["Retry-After"] = str(cool_off_seconds())
    return response
