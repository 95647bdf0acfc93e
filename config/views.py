from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views import defaults
from drf_spectacular.views import SpectacularSwaggerSplitView

API_PREFIX = "/api/"

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
    if user.is_navigator:
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
