"""Appointments: booking the screening (or, after an abnormal result, its
diagnostic follow-up) and recording what became of it. Booking schedules the
patient's reminders in the same transaction."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    TOO_FAR_AHEAD,
    case_ensure_open,
    case_lock,
    case_result_recorded_refusal,
    case_transition,
    event_record,
    too_far_ahead,
)
from navigator.models import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
    User,
)
from navigator.selectors.cases import open_follow_up
from navigator.services.follow_up import case_set_follow_up
from outreach.messaging.patient_reminders import appointment_reminders_schedule
from outreach.messaging.stops import messages_cancel_pending
from patients.models import ScreeningModality


def appointment_book(
    *,
    case: NavigationCase | int,
    scheduled_at: dt.datetime,
    site: str,
    actor: User,
    modality: ScreeningModality | None = None,
    note: str = "",
    purpose: str = AppointmentPurpose.SCREENING,
    expected_version: int | None = None,
) -> Appointment:
    """Book the screening, or (after a result that calls for one) its follow-up test:
    while a follow-up is open, only the follow-up's test can be booked."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if purpose not in AppointmentPurpose.values:
            raise ValidationError({"purpose": f"“{purpose}” is not an appointment purpose."})
        follow_up = open_follow_up(case)
        if purpose == AppointmentPurpose.DIAGNOSTIC:
            if follow_up is None:
                raise ValidationError(
                    {"purpose": "No result on this case calls for a follow-up test."}
                )
            if modality is None:
                modality = follow_up.next_modality
        elif follow_up is not None:
            raise ValidationError(
                {
                    "purpose": f"This case waits for {follow_up.next_step.lower()}: "
                    "book it as the follow-up."
                }
            )
        elif case.status == CaseStatus.COMPLETED:
            raise ValidationError({"case": case_result_recorded_refusal(case)})
        if scheduled_at <= timezone.now():
            raise ValidationError({"scheduled_at": "An appointment must be in the future."})
        if too_far_ahead(timezone.localtime(scheduled_at).date()):
            raise ValidationError({"scheduled_at": TOO_FAR_AHEAD})
        if modality is not None and modality.program_id != case.program_id:
            raise ValidationError({"modality": f"{modality} is not a {case.program} test."})
        if follow_up is not None and modality is not None and modality != follow_up.next_modality:
            raise ValidationError(
                {
                    "modality": f"The follow-up is {follow_up.next_step.lower()} "
                    f"({follow_up.next_modality}), not {modality}."
                }
            )
        # A new booking replaces any appointment still pending.
        for previous in case.appointments.filter(status=AppointmentStatus.BOOKED, purpose=purpose):
            previous.status = AppointmentStatus.RESCHEDULED
            previous.save(update_fields=["status"])
            messages_cancel_pending(
                subject_key=f"appointment:{previous.pk}", reason="appointment rescheduled"
            )
        appointment = Appointment.objects.create(
            case=case,
            purpose=purpose,
            scheduled_at=scheduled_at,
            site=site,
            modality=modality,
            note=note,
            created_by=actor,
        )
        local = timezone.localtime(scheduled_at)
        event_record(
            case=case,
            kind=CaseEventKind.APPOINTMENT_BOOKED,
            actor=actor,
            summary=f"Appointment {local:%Y-%m-%d %H:%M} at {site}",
            data={"appointment": appointment.pk, "scheduled_at": scheduled_at.isoformat()},
        )
        if purpose == AppointmentPurpose.SCREENING and case.status != CaseStatus.SCHEDULED:
            case = case_transition(case=case, to_status=CaseStatus.SCHEDULED, actor=actor)
        appointment_reminders_schedule(appointment=appointment)
        return appointment


# What can be known of an appointment only once its time has come.
AFTER_START_OUTCOMES = frozenset({AppointmentStatus.KEPT, AppointmentStatus.NO_SHOW})


def appointment_set_status(
    *,
    appointment: Appointment | int,
    status: str,
    actor: User,
    expected_version: int | None = None,
) -> Appointment:
    """Record what became of a booked appointment (kept, no-show, cancelled)."""
    with transaction.atomic():
        appointment_id = appointment if isinstance(appointment, int) else appointment.pk
        case_id = Appointment.objects.values_list("case_id", flat=True).get(pk=appointment_id)
        case = case_lock(case_id, expected_version=expected_version)
        case_ensure_open(case)
        appointment = Appointment.objects.get(pk=appointment_id)
        if status not in AppointmentStatus.values or status == AppointmentStatus.BOOKED:
            raise ValidationError({"status": f"“{status}” is not an appointment outcome."})
        if appointment.status == status:
            return appointment
        if appointment.status != AppointmentStatus.BOOKED:
            already = appointment.get_status_display().lower()
            raise ValidationError({"status": f"This appointment is already {already}."})
        if status in AFTER_START_OUTCOMES and appointment.scheduled_at > timezone.now():
            starts = timezone.localtime(appointment.scheduled_at)
            raise ValidationError(
                {
                    "status": f"This appointment starts {starts:%Y-%m-%d %H:%M}: whether it was "
                    f"{AppointmentStatus(status).label.lower()} can be known only once it has "
                    "begun. Cancel it, or book it again to move it."
                },
                code="not_yet",
            )
        old = appointment.status
        appointment.status = status
        appointment.save(update_fields=["status"])
        messages_cancel_pending(
            subject_key=f"appointment:{appointment.pk}",
            reason=f"appointment {appointment.get_status_display().lower()}",
        )
        event_record(
            case=case,
            kind=CaseEventKind.APPOINTMENT_UPDATED,
            actor=actor,
            summary=f"Appointment {timezone.localtime(appointment.scheduled_at):%Y-%m-%d}: "
            f"{appointment.get_status_display().lower()}",
            data={"appointment": appointment.pk, "from": old, "to": status},
        )
        if (
            status in {AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED}
            and case.status == CaseStatus.SCHEDULED
        ):
            case_transition(
                case=case,
                to_status=CaseStatus.CONTACTING,
                actor=actor,
                note="appointment " + appointment.get_status_display().lower(),
            )
            case_set_follow_up(case=case, on=timezone.localdate(), actor=actor)
        return appointment
