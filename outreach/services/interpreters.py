"""Interpreters for a case: requesting one for a planned call, an appointment or an
individual coaching session, and
moving the request on (requested → confirmed → done; any but a done one cancelled),
each change on the case's timeline."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    TOO_FAR_AHEAD,
    case_ensure_open,
    case_lock,
    event_record,
    too_far_ahead,
)
from navigator.models import Appointment, CaseEventKind, CoachingSession, NavigationCase, User
from outreach.models import InterpreterModality, InterpreterRequest, InterpreterRequestStatus
from patients.languages import is_language_code, language_name

# Where a request's status may go next.
INTERPRETER_MOVES: dict[str, frozenset[str]] = {
    InterpreterRequestStatus.REQUESTED: frozenset(
        {InterpreterRequestStatus.CONFIRMED, InterpreterRequestStatus.CANCELLED}
    ),
    InterpreterRequestStatus.CONFIRMED: frozenset(
        {InterpreterRequestStatus.DONE, InterpreterRequestStatus.CANCELLED}
    ),
    InterpreterRequestStatus.DONE: frozenset(),
    InterpreterRequestStatus.CANCELLED: frozenset(),
}


def interpreter_request_describe(request: InterpreterRequest) -> str:
    """ "Spanish interpreter by phone, Dec 5 10:00 (appointment)": for the timeline."""
    when = timezone.localtime(request.needed_at)
    if request.appointment_id:
        for_what = " for the appointment"
    elif request.coaching_session_id:
        for_what = " for the coaching session"
    else:
        for_what = " for a call"
    return (
        f"{language_name(request.language)} interpreter, "
        f"{InterpreterModality(request.modality).label.lower()}, "
        f"{when:%Y-%m-%d %H:%M}{for_what}"
    )


def interpreter_request_create(
    *,
    case: NavigationCase | int,
    modality: str,
    needed_at: dt.datetime,
    actor: User,
    language: str = "",
    appointment: Appointment | None = None,
    coaching_session: CoachingSession | None = None,
    provider: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> InterpreterRequest:
    """Request an interpreter for a planned call, one of the case's appointments or
    one of its coaching sessions.

    The language defaults to the patient's spoken (preferred) language. A request is
    for a time still ahead, and an appointment or session must be this case's.
    """
    errors: dict[str, str] = {}
    language = (language or "").strip().lower()
    if language and not is_language_code(language):
        errors["language"] = f"“{language}” is not an ISO 639 language code (e.g. 'es', 'ht')."
    if modality not in InterpreterModality.values:
        errors["modality"] = f"“{modality}” is not a way to interpret (in person, video, phone)."
    if needed_at <= timezone.now():
        errors["needed_at"] = "An interpreter can be requested only for a time still ahead."
    elif too_far_ahead(timezone.localtime(needed_at).date()):
        errors["needed_at"] = TOO_FAR_AHEAD
    if appointment is not None and coaching_session is not None:
        errors["coaching_session"] = "An interpreter is requested for one thing at a time."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if appointment is not None and appointment.case_id != case.pk:
            raise ValidationError({"appointment": "This appointment is not one of this case's."})
        if coaching_session is not None and coaching_session.case_id != case.pk:
            raise ValidationError(
                {"coaching_session": "This coaching session is not one of this case's."}
            )
        if not language:
            language = case.patient.preferred_language
        request = InterpreterRequest.objects.create(
            case=case,
            appointment=appointment,
            coaching_session=coaching_session,
            language=language,
            modality=modality,
            needed_at=needed_at,
            provider=provider.strip(),
            note=note,
            created_by=actor,
        )
        event_record(
            case=case,
            kind=CaseEventKind.INTERPRETER_REQUESTED,
            actor=actor,
            summary=f"Interpreter requested: {interpreter_request_describe(request)}"
            + (f" ({request.provider})" if request.provider else ""),
            data={
                "interpreter_request": request.pk,
                "language": language,
                "modality": modality,
                "needed_at": needed_at.isoformat(),
                "appointment": appointment.pk if appointment else None,
                "coaching_session": coaching_session.pk if coaching_session else None,
                "status_to": request.status,
            },
        )
        return request


def interpreter_request_update(
    *,
    interpreter_request: InterpreterRequest | int,
    actor: User,
    status: str,
    provider: str | None = None,
    expected_version: int | None = None,
) -> InterpreterRequest:
    """Move a request on: requested → confirmed → done, or any but a done one to
    cancelled; `provider` (who will interpret) may be set along the way. Done only
    once its time has come. Nothing changed, nothing recorded."""
    if status not in InterpreterRequestStatus.values:
        raise ValidationError({"status": f"“{status}” is not an interpreter request status."})
    with transaction.atomic():
        request_id = (
            interpreter_request if isinstance(interpreter_request, int) else interpreter_request.pk
        )
        case_id = InterpreterRequest.objects.values_list("case_id", flat=True).get(pk=request_id)
        case = case_lock(case_id, expected_version=expected_version)
        case_ensure_open(case)
        request = InterpreterRequest.objects.select_for_update().get(pk=request_id)
        old_status, old_provider = request.status, request.provider
        new_provider = old_provider if provider is None else provider.strip()
        if status == old_status and new_provider == old_provider:
            return request
        if status != old_status and status not in INTERPRETER_MOVES[old_status]:
            old_label = InterpreterRequestStatus(old_status).label.lower()
            if request.is_final:
                message = f"This request is already {old_label}; request a new one instead."
            else:
                allowed = " or ".join(
                    InterpreterRequestStatus(s).label.lower()
                    for s in InterpreterRequestStatus.values
                    if s in INTERPRETER_MOVES[old_status]
                )
                message = (
                    f"A {old_label} request can only be marked {allowed}, "
                    f"not {InterpreterRequestStatus(status).label.lower()}."
                )
            raise ValidationError({"status": message})
        if status == old_status and request.is_final:
            old_label = InterpreterRequestStatus(old_status).label.lower()
            raise ValidationError(
                {"provider": f"This request is {old_label}; it can no longer change."}
            )
        if status == InterpreterRequestStatus.DONE and request.needed_at > timezone.now():
            when = timezone.localtime(request.needed_at)
            raise ValidationError(
                {
                    "status": f"This interpreter is booked for {when:%Y-%m-%d %H:%M}: it can be "
                    "marked done only once that time has come."
                }
            )
        request.status = status
        request.provider = new_provider
        request.save(update_fields=["status", "provider", "updated_at"])
        changes = []
        if status != old_status:
            changes.append(
                f"{InterpreterRequestStatus(old_status).label.lower()} → "
                f"{InterpreterRequestStatus(status).label.lower()}"
            )
        if new_provider != old_provider:
            changes.append(f"interpreter: {new_provider or 'none named'}")
        event_record(
            case=case,
            kind=CaseEventKind.INTERPRETER_UPDATED,
            actor=actor,
            summary=f"{interpreter_request_describe(request)}: {'; '.join(changes)}",
            data={
                "interpreter_request": request.pk,
                "status_from": old_status,
                "status_to": status,
                "provider_from": old_provider,
                "provider_to": new_provider,
            },
        )
        return request
