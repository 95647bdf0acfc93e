"""The mail room's page: the letters due today, printing the day's batch, and each
day's batch as a PDF. Program managers and administrators only (the mail room):
navigators print a case's own letter from the case page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from outreach.letters.batches import (
    LetterBatchError,
    NoLetterBatch,
    letter_batch_pdf,
    letter_batch_print,
    reason_not_to_print,
)
from outreach.selectors import letter_batches, letters_due
from patients.languages import language_name

MAIL_ROOM = (Role.MANAGER, Role.ADMIN)


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _page(request: AuthedRequest, *, error: str = "", day: str = "", status: int = 200):
    today = timezone.localdate()
    due = [
        {"letter": letter, "language": language_name(letter.language),
         "reason": reason_not_to_print(letter)}
        for letter in letters_due(day=today).select_related("patient", "case__program")
    ]  # fmt: skip
    return render(
        request,
        "outreach/letter_batches.html",
        {
            "today": today,
            "day": day or today.isoformat(),
            "due": due,
            "printable": sum(1 for row in due if not row["reason"]),
            "batches": letter_batches(),
            "error": error,
        },
        status=status,
    )


@require_GET
@role_required(*MAIL_ROOM)
def letter_batch_list(request: AuthedRequest) -> HttpResponse:
    return _page(request)


@require_POST
@role_required(*MAIL_ROOM)
def letter_batch_print_view(request: AuthedRequest) -> HttpResponse:
    value = request.POST.get("day", "")
    day = _day(value) if value.strip() else timezone.localdate()
    if day is None:
        return _page(request, error="Enter the day as YYYY-MM-DD.", day=value, status=400)
    try:
        printed = letter_batch_print(day=day, actor=request.user)
    except LetterBatchError as error:
        return _page(request, error=str(error), day=value, status=400)
    messages.success(
        request, f"{printed} letter{'' if printed == 1 else 's'} printed for {day.isoformat()}."
    )
    return redirect(reverse("outreach:letter_batches"))


@require_GET
@role_required(*MAIL_ROOM)
def letter_batch_pdf_view(request: AuthedRequest, day: str) -> HttpResponse:
    parsed = _day(day)
    if parsed is None:
        return render(
            request,
            "outreach/letter_batch_missing.html",
            {"message": f"“{day}” is not a day: the address ends in a date, YYYY-MM-DD.pdf."},
            status=400,
        )
    try:
        pdf = letter_batch_pdf(day=parsed)
    except NoLetterBatch as error:
        return render(
            request, "outreach/letter_batch_missing.html", {"message": str(error)}, status=404
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    # The day only: a file name travels (downloads folder, print queue).
    response["Content-Disposition"] = f'inline; filename="letters-{parsed.isoformat()}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
