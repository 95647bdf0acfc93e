from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views import defaults

API_PREFIX = "/api/"


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
