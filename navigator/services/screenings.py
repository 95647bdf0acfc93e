"""The screening itself: a home test kit mailed (its return reminders scheduled in
the same transaction), and the screening recorded with its result, which
completes the case."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    MAX_DAYS_LATE,
    case_ensure_open,
    case_lock,
    case_transition,
    event_record,
)
from navigator.models import (
    AppointmentStatus,
    CaseEventKind,
    CaseStatus,
    KitMailing,
    NavigationCase,
    User,
)
from outreach.messaging.patient_reminders import kit_reminders_schedule
from outreach.messaging.stops import messages_cancel_pending
from patients.models import RECORDABLE_RESULTS, ScreeningEvent, ScreeningModality
from patients.services.care_gaps import care_gaps_recompute


def kit_mail(
    *,
    case: NavigationCase | int,
    modality: ScreeningModality,
    mailed_on: dt.date,
    actor: User,
    expected_version: int | None = None,
) -> KitMailing:
    """Record a home test kit mailed to the patient; its return reminders are scheduled
    in the same transaction and stop when the result is recorded."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        errors: dict[str, str] = {}
        if modality.program_id != case.program_id:
            errors["modality"] = f"{modality} is not a {case.program} test."
        elif not modality.mailed_kit:
            errors["modality"] = f"{modality} is not done with a kit mailed home."
        today = timezone.localdate()
        if mailed_on > today:
            errors["mailed_on"] = "The mailing date cannot be in the future."
        elif mailed_on < today - dt.timedelta(days=MAX_DAYS_LATE):
            errors["mailed_on"] = f"This is more than {MAX_DAYS_LATE} days ago."
        if case.status == CaseStatus.COMPLETED:
            errors["case"] = "The screening is already recorded on this case."
        if errors:
            raise ValidationError(errors)
        kit = KitMailing.objects.create(
            case=case, modality=modality, mailed_on=mailed_on, created_by=actor
        )
        event_record(
            case=case,
            kind=CaseEventKind.KIT_MAILED,
            actor=actor,
            summary=f"{modality} kit mailed on {mailed_on:%Y-%m-%d}",
            data={"kit": kit.pk, "modality": modality.code, "mailed_on": mailed_on.isoformat()},
        )
        if case.status == CaseStatus.ASSIGNED:
            case_transition(case=case, to_status=CaseStatus.CONTACTING, actor=actor)
        kit_reminders_schedule(kit=kit)
        return kit


def case_record_screening(
    *,
    case: NavigationCase | int,
    modality: ScreeningModality,
    performed_on: dt.date,
    result: str,
    actor: User,
    resulted_on: dt.date | None = None,
    expected_version: int | None = None,
) -> ScreeningEvent:
    """Record the screening done for this case and its result (which came back on
    `resulted_on`, today if not said); the case is completed."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if case.status == CaseStatus.COMPLETED:
            raise ValidationError({"case": "The screening is already recorded on this case."})
        errors: dict[str, str] = {}
        if modality.program_id != case.program_id:
            errors["modality"] = f"{modality} is not a {case.program} test."
        if performed_on > timezone.localdate():
            errors["performed_on"] = "A screening cannot be recorded before it happens."
        elif performed_on < case.opened_at.date() - dt.timedelta(days=365):
            errors["performed_on"] = "This date is more than a year before the case opened."
        if result not in dict(RECORDABLE_RESULTS):
            errors["result"] = f"“{result}” is not a screening result."
        resulted_on = resulted_on or timezone.localdate()
        if resulted_on > timezone.localdate():
            errors["resulted_on"] = "A result cannot be dated in the future."
        elif "performed_on" not in errors and resulted_on < performed_on:
            errors["resulted_on"] = (
                f"A result cannot come back before its test (done {performed_on:%Y-%m-%d})."
            )
        if errors:
            raise ValidationError(errors)
        event = ScreeningEvent.objects.create(
            patient_id=case.patient_id,
            modality=modality,
            performed_on=performed_on,
            result=result,
            resulted_on=resulted_on,
            case=case,
            recorded_by=actor,
        )
        messages_cancel_pending(case=case, reason="screening recorded")
        KitMailing.objects.filter(case=case, returned_on=None, modality=modality).update(
            returned_on=performed_on
        )
        # The patient's screening status follows in this same transaction, so that no
        # page says "completed" beside "overdue" until the nightly run.
        care_gaps_recompute(patient_ids=[case.patient_id], as_of=timezone.localdate())
        # A booked appointment that has begun was the test; one still ahead is no longer
        # needed (the test was done before it), and says so: never "kept" in advance.
        now = timezone.now()
        for appointment in case.appointments.filter(status=AppointmentStatus.BOOKED):
            started = appointment.scheduled_at <= now
            appointment.status = AppointmentStatus.KEPT if started else AppointmentStatus.CANCELLED
            appointment.save(update_fields=["status"])
            if not started:
                event_record(
                    case=case,
                    kind=CaseEventKind.APPOINTMENT_UPDATED,
                    actor=actor,
                    summary=f"Appointment {timezone.localtime(appointment.scheduled_at):%Y-%m-%d}: "
                    "cancelled, the screening was recorded before it",
                    data={
                        "appointment": appointment.pk,
                        "from": AppointmentStatus.BOOKED,
                        "to": AppointmentStatus.CANCELLED,
                    },
                )
        event_record(
            case=case,
            kind=CaseEventKind.SCREENING_RECORDED,
            actor=actor,
            summary=f"{modality} on {performed_on:%Y-%m-%d}: {event.get_result_display().lower()}",
            data={"screening": event.pk, "modality": modality.code, "result": result},
        )
        case_transition(case=case, to_status=CaseStatus.COMPLETED, actor=actor)
        return event
