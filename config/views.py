import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views import defaults
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.throttling import SimpleRateThrottle

from config.client_address import client_address
from config.middleware import API_PREFIX
from config.session_timeout import seconds_left


class _SignInRate(SimpleRateThrottle):
    """DRF's rate counting, per client address, for a plain Django view."""

    scope = "signin"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "-"}


class SignInView(auth_views.LoginView):
    """Django's sign-in page, with a limit per address on posting it (EQUINAV_THROTTLE_SIGNIN,
    20 a minute): django-axes locks after five failures, but counts nothing that
    succeeds or that names many accounts slowly; each post costs an Argon2 hash."""

    def post(self, request, *args, **kwargs):
        rate = _SignInRate()
        if not rate.allow_request(request, self):
            wait = math.ceil(rate.wait() or 60)
            response = render(
                request,
                "registration/login.html",
                {
                    "form": AuthenticationForm(request),
                    "locked_message": (
                        "Too many sign-in attempts from this address. "
                        f"Wait {wait} seconds and try again."
                    ),
                    "next": "",
                },
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


# The split view serves its script from a URL, not inline: the CSP allows no inline script.
_api_docs = SpectacularSwaggerSplitView.as_view(
    url_name="api:schema", template_name="api/swagger_ui.html"
)


@login_required
def home(request):
    """Send each role to its own home page."""
    user = request.user
    if user.is_clinic_staff:
        return redirect("patients:referral_list")
    if user.works_caseload:
        return redirect("navigator:worklist")
    if user.is_manager or user.is_program_admin:
        return redirect("navigator:equity")
    if user.is_compliance_officer:
        return redirect("audit:search")
    return redirect("login")


def api_docs(request, *args, **kwargs):
    """The API docs page (and its script). Outside DEBUG a signed-out browser is sent to
    sign in, rather than shown a bare 401. A caller sending a token is left to the view,
    which authenticates it and refuses anonymous callers itself (SERVE_PERMISSIONS: 401)."""
    browser = "HTTP_AUTHORIZATION" not in request.META
    if browser and not settings.DEBUG and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _api_docs(request, *args, **kwargs)


# --- The session's timer (config.session_timeout; static/js/session-timeout.js) ---------


def _seconds_left(request) -> dict[str, int]:
    # Rounded up: the page's script must not think the session over before the server does.
    idle_left, max_left = seconds_left(request.session)
    return {
        "idle_seconds_left": max(0, math.ceil(idle_left)),
        "max_seconds_left": max(0, math.ceil(max_left)),
    }


@require_GET
def session_status(request):
    """Seconds left before the idle and the absolute limit. Asking is not activity."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "You are not signed in."}, status=401)
    return JsonResponse(_seconds_left(request))


@require_POST
def session_keep_alive(request):
    """ "Stay signed in": this request is the activity (the middleware records it)."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "You are not signed in."}, status=401)
    return JsonResponse(_seconds_left(request))


def not_found(request, exception):
    """A URL that matches no route: under /api/ a JSON 404 in the API's error shape (what
    the schema documents and clients parse), elsewhere Django's page."""
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """A request Django refuses before any view (too many fields, ...): under /api/ a JSON
    400 in the API's error shape, elsewhere Django's page."""
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)
