"""The screening itself: a home test kit mailed (its return reminders scheduled in
the same transaction), and a test recorded with its result category, which
moves the loop on as the program's follow-up pathways say (complete, a follow-up
needed, or handed to treatment)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    MAX_DAYS_LATE,
    case_ensure_open,
    case_lock,
    case_refuse_screening_work,
    case_result_recorded_refusal,
    case_transition,
    event_record,
)
from navigator.models import (
    AppointmentStatus,
    CaseEventKind,
    CaseStatus,
    FollowUpState,
    KitMailing,
    NavigationCase,
    ResultFollowUp,
    User,
)
from navigator.selectors.cases import open_follow_up
from navigator.services.follow_ups import follow_up_answer, follow_up_open
from outreach.messaging.patient_reminders import kit_reminders_schedule
from outreach.messaging.stops import messages_cancel_pending
from outreach.services.unreachable import unreachable_proposal_withdraw
from patients.models import (
    FollowUpKind,
    ModalityRole,
    ResultCategory,
    ResultMeaning,
    ScreeningEvent,
    ScreeningModality,
)
from patients.result_pathways import pathway_for, result_categories_for, result_category_for
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
        case = case_lock(case, expected_version=expected_version, with_program=True)
        case_ensure_open(case)
        case_refuse_screening_work(case)
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
            errors["case"] = case_result_recorded_refusal(case)
        follow_up = open_follow_up(case)
        if (
            follow_up is not None
            and "modality" not in errors
            and modality.pk != follow_up.next_modality_id
        ):
            errors["modality"] = (
                f"This case waits for {follow_up.next_step.lower()}; "
                f"a {modality} kit does not answer it."
            )
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


# Results that never close the loop by themselves.
NEEDS_A_NEXT_STEP = frozenset({ResultMeaning.ABNORMAL, ResultMeaning.INADEQUATE})


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
    """Record a test done for this case and its result: `result` is the code of one of
    the program's result categories for the test (patients.models.ResultCategory),
    which came back on `resulted_on` (today if not said).

    What happens next is the program's data (patients.models.FollowUpPathway): a
    result with a pathway opens a follow-up with its due date and the case waits
    for it; a diagnosis hands the case to treatment navigation; any other result
    closes the loop (the case is complete). A test that answers the case's open
    follow-up marks it done first.
    """
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version, with_program=True)
        case_ensure_open(case)
        case_refuse_screening_work(case)
        if case.status == CaseStatus.COMPLETED:
            raise ValidationError({"case": case_result_recorded_refusal(case)})
        follow_up = (
            ResultFollowUp.objects.select_for_update()
            .select_related("screening__modality", "next_modality")
            .filter(case=case, state=FollowUpState.OPEN)
            .first()
        )
        errors = _screening_errors(
            case=case,
            modality=modality,
            performed_on=performed_on,
            resulted_on=resulted_on or timezone.localdate(),
            follow_up=follow_up,
        )
        category = result_category_for(modality=modality, code=result)
        if category is None and "modality" not in errors:
            names = ", ".join(c.code for c in result_categories_for(modality)) or "none"
            errors["result"] = (
                f"“{result}” is not a result category for {modality} (choose one of: {names})."
            )
        elif (
            category is not None
            and category.meaning in NEEDS_A_NEXT_STEP
            and pathway_for(category=category, modality=modality) is None
        ):
            # Never "complete" for want of a rule: an abnormal result is not a screening done.
            errors["result"] = (
                f"“{category.name}” calls for a next step, but {case.program} has no "
                f"follow-up pathway for a {modality} result in it; a program manager adds "
                "one (program rules, results and follow-up)."
            )
        if errors or category is None:
            raise ValidationError(errors)
        resulted_on = resulted_on or timezone.localdate()
        event = ScreeningEvent.objects.create(
            patient_id=case.patient_id,
            modality=modality,
            performed_on=performed_on,
            result=category.result,
            category=category,
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
        _appointments_settle(case=case, actor=actor)
        event_record(
            case=case,
            kind=CaseEventKind.SCREENING_RECORDED,
            actor=actor,
            summary=f"{modality} on {performed_on:%Y-%m-%d}: {category.name}",
            data={
                "screening": event.pk,
                "modality": modality.code,
                "result": category.result,
                "category": category.code,
            },
        )
        if case.unreachable_proposed_at is not None:
            # The patient did a test: whatever was proposed, they are not unreachable.
            unreachable_proposal_withdraw(case, actor, reason="a test was recorded")
        if follow_up is not None:
            follow_up_answer(follow_up=follow_up, answer=event, actor=actor)
        _loop_advance(case=case, screening=event, category=category, actor=actor)
        return event


def _screening_errors(
    *,
    case: NavigationCase,
    modality: ScreeningModality,
    performed_on: dt.date,
    resulted_on: dt.date,
    follow_up: ResultFollowUp | None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if modality.program_id != case.program_id:
        errors["modality"] = f"{modality} is not a {case.program} test."
    elif follow_up is not None and modality.pk != follow_up.next_modality_id:
        errors["modality"] = (
            f"This case waits for {follow_up.next_step.lower()} ({follow_up.next_modality}) "
            f"after the {follow_up.screening.modality} result; a {modality} does not answer it."
        )
    elif follow_up is None and modality.role == ModalityRole.DIAGNOSTIC:
        errors["modality"] = (
            f"{modality} is a diagnostic test: record it after a result that calls for it."
        )
    today = timezone.localdate()
    if performed_on > today:
        errors["performed_on"] = "A screening cannot be recorded before it happens."
    elif performed_on < case.opened_at.date() - dt.timedelta(days=365):
        errors["performed_on"] = "This date is more than a year before the case opened."
    elif follow_up is not None and performed_on < follow_up.result_on:
        errors["performed_on"] = (
            f"The follow-up cannot come before the result that called for it (the "
            f"{follow_up.screening.modality} result of {follow_up.result_on:%Y-%m-%d})."
        )
    if resulted_on > today:
        errors["resulted_on"] = "A result cannot be dated in the future."
    elif "performed_on" not in errors and resulted_on < performed_on:
        errors["resulted_on"] = (
            f"A result cannot come back before its test (done {performed_on:%Y-%m-%d})."
        )
    return errors


def _appointments_settle(*, case: NavigationCase, actor: User) -> None:
    """A booked appointment that has begun was the test; one still ahead is no longer
    needed (the test was done before it), and says so: never "kept" in advance."""
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


def _loop_advance(
    *, case: NavigationCase, screening: ScreeningEvent, category: ResultCategory, actor: User
) -> None:
    """Move the case on as the result's category and its pathway say."""
    if category.meaning == ResultMeaning.DIAGNOSIS:
        case_transition(
            case=case,
            to_status=CaseStatus.TREATMENT,
            actor=actor,
            by_result=True,
            note=f"{category.name}: handed to treatment navigation",
        )
        return
    pathway = pathway_for(category=category, modality=screening.modality)
    if pathway is None:
        case_transition(case=case, to_status=CaseStatus.COMPLETED, actor=actor, by_result=True)
        return
    follow_up = follow_up_open(case=case, screening=screening, pathway=pathway, actor=actor)
    case_transition(
        case=case,
        to_status=(
            CaseStatus.FOLLOW_UP_NEEDED
            if follow_up.kind == FollowUpKind.DIAGNOSTIC
            else CaseStatus.REPEAT_NEEDED
        ),
        actor=actor,
        note=f"{follow_up.next_step} by {follow_up.due_on:%Y-%m-%d}",
        by_result=True,
    )
