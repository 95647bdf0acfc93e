"""Response headers that keep patients' data out of caches (`NoStoreMiddleware`); an
API view's objects freed once its answer is sent (`ApiViewReleaseMiddleware`).

Every page a signed-in user sees and every API response may carry PHI (names,
MRNs, birth dates, results). A shared proxy or the browser's disk cache must not
keep a copy that the next person at a clinic workstation could recall with the
back button (45 CFR 164.312(a)(1), access control). Static files (served by
WhiteNoise before this middleware runs) and the anonymous sign-in page may be cached.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

# Where the API lives: its answers are JSON, its clients are not browsers (shared by
# the sign-in, session and two-factor answers and the 404 handler).
API_PREFIX = "/api/"


def carries_phi(request: HttpRequest) -> bool:
    """Whether the response to this request may carry patient data.

    API responses are judged by path: DRF authenticates tokens inside the view,
    so `request.user` is still anonymous here for a token-authenticated call.
    """
    user = getattr(request, "user", None)
    return request.path.startswith(API_PREFIX) or bool(user and user.is_authenticated)


class NoStoreMiddleware:
    """`Cache-Control: no-store` (and HTTP/1.0's `Pragma: no-cache`) on PHI responses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if carries_phi(request):
            # max-age=0, no-cache, no-store, must-revalidate, private
            add_never_cache_headers(response)
            response["Pragma"] = "no-cache"
        return response


def _release(response: HttpResponse) -> None:
    """Drop what a REST framework view kept for its answer (see `ApiViewReleaseMiddleware`)."""
    context = getattr(response, "renderer_context", None) or {}
    view = context.get("view")
    context.clear()
    if view is not None:
        view.__dict__.clear()


class ApiViewReleaseMiddleware:
    """Once an API answer is sent, the REST framework view that made it lets go of what
    it kept (its request, its page of rows, its response), so that reference counting
    frees those objects then, instead of the cyclic garbage collector later.

    A REST framework view, its request and its response refer to each other (the
    request's and the response's contexts name the view; the view keeps both), so
    nothing a request built for its answer (a worklist page: ~1,400 objects, its model
    instances and their rows) was freed at its end: every one waited for the collector,
    whose collections this made frequent and long (a sixth of the worklist API's
    CPU). Runs when the server closes the response (`close()`), after the body is
    written; the response keeps its `data`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(response, "renderer_context", None) is not None:
            # Django's own list of what `close()` runs (FileResponse closes its file so).
            response._resource_closers.append(partial(_release, response))  # type: ignore[attr-defined]  # noqa: SLF001
        return response
