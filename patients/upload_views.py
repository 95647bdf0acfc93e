"""A referral upload's import job, for the clinic staff and managers who may upload: its page
(the progress while it runs, then the counts and every row not imported) and the
progress partial the page polls with HTMX. Clinic staff see their own clinic's jobs only."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from patients import selectors

# How often the page asks for the progress while the job runs.
POLL_SECONDS = 1


def _context(request: AuthedRequest, upload_id: int) -> dict:
    upload = get_object_or_404(selectors.uploads_visible_to(request.user), pk=upload_id)
    return {"upload": upload, "row_errors": upload.errors, "poll_seconds": POLL_SECONDS}


@require_GET
@role_required(Role.CLINIC_STAFF, Role.MANAGER)
def referral_upload_job(request: AuthedRequest, upload_id: int) -> HttpResponse:
    """The job's page: its progress, then its result and the rows not imported."""
    return render(request, "patients/referral_upload_job.html", _context(request, upload_id))


@require_GET
@role_required(Role.CLINIC_STAFF, Role.MANAGER)
def referral_upload_job_progress(request: AuthedRequest, upload_id: int) -> HttpResponse:
    """The progress partial: polled while the job runs; once finished, the result."""
    return render(request, "patients/_referral_upload_progress.html", _context(request, upload_id))
