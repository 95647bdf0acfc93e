from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


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
