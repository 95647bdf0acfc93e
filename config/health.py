"""Health checks for load balancers and orchestrators (docs/deploy.md, deploy/k8s).

- `GET /healthz`: the process answers (liveness). Touches nothing else, so a database
  outage does not get every web process restarted.
- `GET /healthz/ready`: the process can serve (readiness): one `SELECT 1` on the primary.
  A replica that stopped taking traffic during a database outage comes back by itself.

Both answer the same few bytes to anyone: no patient data, no user, no session, no
database write, no audit row (navigator.audit.middleware leaves /healthz out). A probe
reaches a pod by its address, not the site's host name, and over plain HTTP inside
the cluster: `HealthCheckMiddleware`, near the top of the middleware, answers these
two paths before the host check (ALLOWED_HOSTS) and the HTTPS redirect; the routes in
config/urls.py name the same views, for the permission matrix and `reverse`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

_TEXT = "text/plain; charset=utf-8"


def _answer(text: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(text, content_type=_TEXT, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: this process answers requests."""
    return _answer("ok\n")


@require_safe
def healthz_ready(request: HttpRequest) -> HttpResponse:
    """Readiness: the primary database answers a `SELECT 1`."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # The error's type only: its text may name the host or the user.
        logger.warning("readiness: the database did not answer (%s)", type(error).__name__)
        return _answer("database unavailable\n", status=503)
    return _answer("ok\n")


HEALTH_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/healthz/": healthz,
    "/healthz/ready": healthz_ready,
    "/healthz/ready/": healthz_ready,
}


class HealthCheckMiddleware:
    """Answers the health paths before the host check and the HTTPS redirect."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = HEALTH_VIEWS.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
