"""Sessions end after a spell without activity and after a fixed time in all.

HIPAA's automatic logoff (45 CFR 164.312(a)(2)(iii)): a clinic workstation left
signed in must not stay open to the next person. The middleware keeps two stamps in
the session, when this sign-in happened and when its user last did something, and
signs the user out once EQUINAV_SESSION_IDLE_SECONDS have passed since the last
activity or EQUINAV_SESSION_MAX_SECONDS since the sign-in, whichever comes first:
pages redirect to the sign-in page with a message; htmx, API and other JSON calls get
401 (htmx is also told where to go, HX-Redirect). The page's warning dialog
(static/js/session-timeout.js) asks the session's status without that counting as
activity, and "Stay signed in" posts to the keep-alive view, which does count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url

from config.middleware import API_PREFIX

SIGNED_IN_AT = "equinav_signed_in_at"
LAST_ACTIVITY_AT = "equinav_last_activity_at"
# Requests that only look at the session and are not the user doing anything.
PASSIVE_VIEW_NAMES = frozenset({"session_status"})
# The last-activity stamp is rewritten at most this often (a session write per request
# would be three more queries per request: savepoint, update, release); the idle limit
# is exact to this many seconds, a minute in fifteen.
ACTIVITY_RESOLUTION_SECONDS = 60
IDLE_MESSAGE = "You were signed out after {minutes} minutes without activity. Sign in again."
MAX_MESSAGE = "You were signed out: a session lasts at most {hours} hours. Sign in again."


def seconds_left(session, now: float | None = None) -> tuple[float, float]:
    """Seconds until the idle limit and until the absolute limit (negative once passed)."""
    now = time.time() if now is None else now
    signed_in = float(session.get(SIGNED_IN_AT, now))
    last = float(session.get(LAST_ACTIVITY_AT, now))
    return (
        last + settings.EQUINAV_SESSION_IDLE_SECONDS - now,
        signed_in + settings.EQUINAV_SESSION_MAX_SECONDS - now,
    )


def signed_in_by_session(request: HttpRequest) -> bool:
    """Whether a session carries this request's sign-in. An API call with a token is
    signed in too once DRF has run, but has no session to time (nor should it get one)."""
    session = getattr(request, "session", None)
    return session is not None and SESSION_KEY in session


def start_clocks(sender, request, user, **kwargs) -> None:
    """Django's user_logged_in: the clocks start with the sign-in itself, whichever way
    it came (the sign-in page, the admin's, a test's force_login), saved with the
    session the sign-in writes anyway rather than by the next request."""
    session = getattr(request, "session", None)
    if session is not None:
        now = time.time()
        session[SIGNED_IN_AT] = now
        session[LAST_ACTIVITY_AT] = now


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if signed_in_by_session(request):
            self.stamp(request)
            idle_left, max_left = seconds_left(request.session)
            if idle_left <= 0 or max_left <= 0:
                return self.expired(request, idle=idle_left <= 0)
        response = self.get_response(request)
        # A sign-in (the sign-in page) starts the clocks with its own response.
        if signed_in_by_session(request):
            self.stamp(request)
        return response

    @staticmethod
    def stamp(request: HttpRequest) -> None:
        """Start the clocks of a session that has none: a sign-in just now (or a
        session from before the stamps existed)."""
        session = request.session
        if SIGNED_IN_AT not in session:
            now = time.time()
            session[SIGNED_IN_AT] = now
            session[LAST_ACTIVITY_AT] = now

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        """Whatever the user asks for counts as activity, but the timer's own status."""
        if not signed_in_by_session(request):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in PASSIVE_VIEW_NAMES:
            return None
        session = request.session
        now = time.time()
        if now - float(session.get(LAST_ACTIVITY_AT, 0)) >= ACTIVITY_RESOLUTION_SECONDS:
            session[LAST_ACTIVITY_AT] = now
        return None

    def expired(self, request: HttpRequest, *, idle: bool) -> HttpResponse:
        if idle:
            text = IDLE_MESSAGE.format(minutes=settings.EQUINAV_SESSION_IDLE_SECONDS // 60)
        else:
            text = MAX_MESSAGE.format(hours=settings.EQUINAV_SESSION_MAX_SECONDS // 3600)
        request.equinav_sign_out_reason = "idle" if idle else "max_age"  # type: ignore[attr-defined]
        logout(request)
        # Said on the sign-in page, wherever the user arrives from (the dialog's script
        # goes there after a 401).
        messages.info(request, text)
        login_url = resolve_url(settings.LOGIN_URL)
        wants_json = "application/json" in request.headers.get("Accept", "")
        if request.path.startswith(API_PREFIX) or request.headers.get("HX-Request") or wants_json:
            response = JsonResponse({"detail": text}, status=401)
            response["WWW-Authenticate"] = 'Session realm="EquiNav"'
            if request.headers.get("HX-Request"):
                response["HX-Redirect"] = login_url
            return response
        target = login_url
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        response = HttpResponse(status=302)
        response["Location"] = target
        return response
