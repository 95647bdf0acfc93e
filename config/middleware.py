"""Response headers that keep patients' data out of caches.

Every page a signed-in user sees and every API response may carry PHI (names,
MRNs, birth dates, results). A shared proxy or the browser's disk cache must not
keep a copy that the next person at a clinic workstation could recall with the
back button (45 CFR 164.312(a)(1), access control). Static files (served by
WhiteNoise before this middleware runs) and the anonymous sign-in page may be cached.
"""

from __future__ import annotations

from collections.abc import Callable

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
