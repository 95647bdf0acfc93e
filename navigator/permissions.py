"""Who may open which page: one decorator for the server-rendered views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from navigator.models import User


class AuthedRequest(HttpRequest):
    """What a view behind `role_required` receives: a signed-in user, and htmx details."""

    user: User
    htmx: HtmxDetails


def has_role(user: User, *roles: str) -> bool:
    """Administrators pass every role check; everyone else needs one of `roles`."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_program_admin or user.role in roles


def role_required(*roles: str) -> Callable:
    """Sign-in first (a redirect to the login page), then 403 for any other role."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if getattr(request, "htmx", False):
                    # A partial swap must not land the login page inside the case page.
                    login_url = resolve_url(settings.LOGIN_URL)
                    return HttpResponseClientRedirect(login_url)
                return redirect_to_login(request.get_full_path())
            if not has_role(user, *roles):
                raise PermissionDenied("Your role cannot open this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def ensure_manager(actor: User, what: str) -> None:
    """For services: refuse `what` to anyone but a program manager (who sees every case)."""
    if not (actor.is_authenticated and actor.sees_all_cases):
        raise PermissionDenied(f"Only a program manager can {what}.")
