"""The signed-in user's own security pages: two-factor enrolment and verification,
and their API tokens."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device

from config.two_factor import is_verified
from navigator.forms.account import TotpCodeForm
from navigator.selectors.api_tokens import api_tokens_of
from navigator.services import api_tokens, two_factor


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request):
    """Set up an authenticator app: scan the code (or type the key), enter a code it shows."""
    user = request.user
    if user_has_device(user, confirmed=True):
        return redirect("two_factor_verify")
    device = two_factor.totp_enrolment_device(user=user)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.totp_enrol_confirm(
                user=user, code=form.cleaned_data["code"], request=request
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is set up.")
            return redirect(_next_url(request))
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, light="#fff")
    # The key to type in where scanning is not possible, in groups of four.
    key = b32encode(device.bin_key).decode()
    secret = " ".join(key[i : i + 4] for i in range(0, len(key), 4))
    context = {"form": form, "qr_svg": qr_svg, "secret": secret, "next": _next_url(request)}
    return render(request, "navigator/account/two_factor_enrol.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """Enter the code of your authenticator app to finish signing in."""
    if is_verified(request.user):
        return redirect(_next_url(request))
    if not user_has_device(request.user, confirmed=True):
        return redirect("two_factor_enrol")
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.totp_verify(
                user=request.user, code=form.cleaned_data["code"], request=request
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            otp_login(request, device)
            return redirect(_next_url(request))
    context = {"form": form, "next": _next_url(request)}
    return render(request, "navigator/account/two_factor_verify.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def api_token_list(request):
    """Your API tokens: when each was made and expires; revoke one or all."""
    if request.method == "POST":
        if "revoke_all" in request.POST:
            count = api_tokens.api_tokens_revoke_all(user=request.user, request=request)
            messages.success(request, f"{count} API token{'s' if count != 1 else ''} revoked.")
        else:
            try:
                api_tokens.api_token_revoke(
                    user=request.user, token_key=request.POST.get("token_key", ""), request=request
                )
            except ValidationError:
                messages.error(request, "That token was already revoked or has expired.")
            else:
                messages.success(request, "The API token was revoked.")
        return redirect("api_tokens")
    tokens = list(api_tokens_of(request.user))
    return render(request, "navigator/account/api_tokens.html", {"tokens": tokens})
