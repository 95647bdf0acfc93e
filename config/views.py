import math

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from config.session_timeout import seconds_left


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
    return redirect("login")


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
