"""Writes on navigation cases. Every status change goes through `case_transition`."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from navigator import assignment
from navigator.cases import (
    MAX_DAYS_LATE,
    TOO_FAR_AHEAD,
    StaleCaseError,
    actor_name,
    case_changes_since,
    case_ensure_open,
    case_lock,
    case_transition,
    event_record,
    too_far_ahead,
)
from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    Coverage,
    KitMailing,
    NavigationCase,
    NavigatorProfile,
    Rebalance,
    User,
)
from outreach.messaging.stops import messages_cancel_pending
from patients.models import (
    RECORDABLE_RESULTS,
    Patient,
    ScreeningEvent,
    ScreeningModality,
    ScreeningProgram,
    ScreeningResult,
)

# --- Assignment ------------------------------------------------------------------


def _lock_active_navigators(*, exclude: tuple[int, ...] = ()) -> list[NavigatorProfile]:
    """Active navigators, locked in pk order so that concurrent assignments queue
    up behind each other and capacity is counted once."""
    locked_ids = list(
        NavigatorProfile.objects.select_for_update()
        .filter(active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return assignment.active_navigators(exclude=exclude) if locked_ids else []


def navigator_choose_for(
    *, patient: Patient, case_id: int | None = None, exclude: tuple[int, ...] = ()
) -> tuple[NavigatorProfile | None, bool, str]:
    """Pick a navigator for a patient: (navigator, needs_interpreter, reason in words).

    See navigator.assignment for the rules.
    """
    navigators = _lock_active_navigators(exclude=exclude)
    candidates = assignment.candidates_for(
        patient=patient, navigators=navigators, exclude_case=case_id
    )
    choice = assignment.choose(patient=patient, candidates=candidates)
    return choice.navigator, choice.needs_interpreter, choice.reason


class AssignmentConflict(StaleCaseError):
    """Someone else assigned the case since the form was drawn."""


def case_assign(
    *,
    case: NavigationCase | int,
    navigator: NavigatorProfile,
    actor: User | None,
    reason: str = "",
    needs_interpreter: bool | None = None,
    expected_version: int | None = None,
    rebalance: Rebalance | None = None,
) -> NavigationCase:
    """Give a case to a navigator (first assignment or reassignment).

    With `expected_version`, a case assigned (or otherwise changed) by someone
    else since the form was drawn is refused, naming who did what, so that two
    managers assigning the same case at once cannot both win.
    """
    with transaction.atomic():
        case_id = case if isinstance(case, int) else case.pk
        try:
            case = case_lock(case_id, expected_version=expected_version)
        except StaleCaseError:
            locked = NavigationCase.objects.select_related("navigator__user").get(pk=case_id)
            assigned = [
                event
                for event in case_changes_since(locked, expected_version or 0)
                if event.kind == CaseEventKind.ASSIGNED
            ]
            if not assigned:
                raise
            raise AssignmentConflict(
                {
                    "version": (
                        f"{actor_name(assigned[-1].actor)} assigned this case to "
                        f"{locked.navigator} after you opened it. Nothing was saved; "
                        "check the case and assign again if needed."
                    )
                },
                code="stale",
            ) from None
        case_ensure_open(case)
        navigator = NavigatorProfile.objects.select_for_update().get(pk=navigator.pk)
        if not navigator.active:
            raise ValidationError({"navigator": f"{navigator} is not an active navigator."})
        if case.navigator_id == navigator.pk:
            return case
        previous = case.navigator
        case.navigator = navigator
        if needs_interpreter is None:
            needs_interpreter = assignment.patient_needs_interpreter(case.patient) and (
                case.patient.preferred_language not in navigator.languages
            )
        case.needs_interpreter = needs_interpreter
        if not reason:
            reason = f"chosen by {actor_name(actor)}"
        case.assignment_reason = reason[:300]
        case.save(
            update_fields=["navigator", "needs_interpreter", "assignment_reason", "updated_at"]
        )
        # Pending reminders go with the case to its new navigator.
        case.follow_up_reminders.filter(dismissed_at=None).update(navigator=navigator)
        event_record(
            case=case,
            kind=CaseEventKind.ASSIGNED,
            actor=actor,
            summary=(
                f"Assigned to {navigator}"
                + (f" (was {previous})" if previous else "")
                + (f": {reason}" if reason else "")
            ),
            data={
                "from": previous.pk if previous else None,
                "to": navigator.pk,
                "reason": reason,
                "needs_interpreter": needs_interpreter,
                "rebalance": rebalance.pk if rebalance else None,
            },
        )
        if case.status == CaseStatus.NEW:
            case = case_transition(case=case, to_status=CaseStatus.ASSIGNED, actor=actor)
        return case


def case_assign_automatically(
    *,
    case: NavigationCase,
    actor: User | None,
    exclude: tuple[int, ...] = (),
    rebalance: Rebalance | None = None,
) -> NavigationCase:
    with transaction.atomic():
        navigator, needs_interpreter, reason = navigator_choose_for(
            patient=case.patient, case_id=case.pk, exclude=exclude
        )
        if navigator is None:
            return case
        return case_assign(
            case=case,
            navigator=navigator,
            actor=actor,
            reason=reason,
            needs_interpreter=needs_interpreter,
            rebalance=rebalance,
        )


def case_open(
    *,
    patient: Patient,
    program: ScreeningProgram,
    actor: User | None,
    source: str,
    auto_assign: bool = True,
) -> tuple[NavigationCase, bool]:
    """Open a case for patient × program, or return the open one: (case, created).

    A new case goes to a navigator at once unless `auto_assign` is off, when
    it waits, new, for a manager to assign it.
    """
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        existing = NavigationCase.objects.filter(
            patient=patient, program=program, status__in=OPEN_STATUSES
        ).first()
        if existing is not None:
            return existing, False
        case = NavigationCase.objects.create(
            patient=patient,
            program=program,
            next_follow_up=timezone.localdate(),
        )
        event_record(
            case=case,
            kind=CaseEventKind.OPENED,
            actor=actor,
            summary=f"Case opened ({source})",
            data={"source": source},
        )
        if auto_assign:
            case = case_assign_automatically(case=case, actor=actor)
        return case, True


# --- Follow-up -------------------------------------------------------------------


def case_set_follow_up(
    *,
    case: NavigationCase | int,
    on: dt.date | None,
    actor: User | None,
    expected_version: int | None = None,
) -> NavigationCase:
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case, "next_follow_up")
        if on is not None and on < timezone.localdate():
            raise ValidationError({"next_follow_up": "The next follow-up cannot be in the past."})
        if on is not None and too_far_ahead(on):
            raise ValidationError({"next_follow_up": TOO_FAR_AHEAD})
        if case.next_follow_up == on:
            return case
        previous = case.next_follow_up
        case.next_follow_up = on
        case.save(update_fields=["next_follow_up", "updated_at"])
        event_record(
            case=case,
            kind=CaseEventKind.FOLLOW_UP_SET,
            actor=actor,
            summary=f"Next follow-up {on:%Y-%m-%d}" if on else "Follow-up cleared",
            data={
                "from": previous.isoformat() if previous else None,
                "to": on.isoformat() if on else None,
            },
        )
        return case


NOTE_MAX_LENGTH = 2000


def case_note_add(
    *,
    case: NavigationCase | int,
    text: str,
    actor: User,
    expected_version: int | None = None,
) -> CaseEvent:
    """Add a free-text note to the case's timeline."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the note first."})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {"text": f"A note is at most {NOTE_MAX_LENGTH} characters; this one is {len(text)}."}
        )
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case, "text")
        return event_record(
            case=case,
            kind=CaseEventKind.NOTE,
            actor=actor,
            summary=text,
            data={"text": text},
        )


# --- Barriers ----------------------------------------------------------------------


def barrier_add(
    *,
    case: NavigationCase | int,
    barrier_type: BarrierType,
    actor: User,
    note: str = "",
    action: str = "",
    expected_version: int | None = None,
) -> CaseBarrier:
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if not barrier_type.active:
            raise ValidationError({"barrier_type": "This barrier type is retired."})
        if (
            case.barriers.filter(barrier_type=barrier_type)
            .exclude(status=BarrierStatus.RESOLVED)
            .exists()
        ):
            raise ValidationError(
                {"barrier_type": f"“{barrier_type}” is already an open barrier on this case."}
            )
        today = timezone.localdate()
        barrier = CaseBarrier.objects.create(
            case=case,
            barrier_type=barrier_type,
            note=note,
            action=action,
            status=BarrierStatus.ACTION_TAKEN if action else BarrierStatus.IDENTIFIED,
            action_on=today if action else None,
            identified_on=today,
            created_by=actor,
        )
        event_record(
            case=case,
            kind=CaseEventKind.BARRIER_ADDED,
            actor=actor,
            summary=f"Barrier: {barrier_type}" + (f" — action: {action}" if action else ""),
            data={"barrier": barrier.pk, "type": barrier_type.code, "status": barrier.status},
        )
        return barrier


_BARRIER_ORDER: list[str] = [
    BarrierStatus.IDENTIFIED,
    BarrierStatus.ACTION_TAKEN,
    BarrierStatus.RESOLVED,
]


def barrier_update(
    *,
    barrier: CaseBarrier | int,
    status: str,
    actor: User,
    action: str = "",
    expected_version: int | None = None,
) -> CaseBarrier:
    """Move a barrier forward: identified → action taken → resolved."""
    with transaction.atomic():
        barrier_id = barrier if isinstance(barrier, int) else barrier.pk
        case_id = CaseBarrier.objects.values_list("case_id", flat=True).get(pk=barrier_id)
        case = case_lock(case_id, expected_version=expected_version)
        barrier = CaseBarrier.objects.select_related("barrier_type").get(pk=barrier_id)
        case_ensure_open(case)
        if status not in BarrierStatus.values:
            raise ValidationError({"status": f"“{status}” is not a barrier status."})
        old_status = barrier.status
        if status == old_status and not action:
            return barrier
        if _BARRIER_ORDER.index(status) < _BARRIER_ORDER.index(old_status):
            raise ValidationError(
                {"status": f"A {barrier.get_status_display().lower()} barrier cannot go back."}
            )
        if status == BarrierStatus.ACTION_TAKEN and not (action or barrier.action):
            raise ValidationError({"action": "Say what action was taken."})
        today = timezone.localdate()
        old_action = barrier.action
        if action:
            barrier.action = action
            barrier.action_on = today
        barrier.status = status
        if status == BarrierStatus.RESOLVED:
            barrier.resolved_on = today
        barrier.save()
        event_record(
            case=case,
            kind=CaseEventKind.BARRIER_UPDATED,
            actor=actor,
            summary=f"Barrier {barrier.barrier_type}: {barrier.get_status_display().lower()}"
            + (f" — {action}" if action else ""),
            data={
                "barrier": barrier.pk,
                "from": old_status,
                "to": status,
                "old_action": old_action,
                "action": barrier.action,
            },
        )
        return barrier


# --- Appointments and screenings ------------------------------------------------------


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
    """Book the screening, or (after an abnormal result) its diagnostic follow-up."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if purpose not in AppointmentPurpose.values:
            raise ValidationError({"purpose": f"“{purpose}” is not an appointment purpose."})
        if purpose == AppointmentPurpose.DIAGNOSTIC:
            follow_up = diagnostic_follow_up_needed(case)
            if follow_up is None:
                raise ValidationError(
                    {"purpose": "No abnormal result on this case calls for a diagnostic test."}
                )
            if modality is None:
                modality = follow_up
        elif case.status == CaseStatus.COMPLETED:
            raise ValidationError({"case": "The screening is already recorded on this case."})
        if scheduled_at <= timezone.now():
            raise ValidationError({"scheduled_at": "An appointment must be in the future."})
        if too_far_ahead(timezone.localtime(scheduled_at).date()):
            raise ValidationError({"scheduled_at": TOO_FAR_AHEAD})
        if modality is not None and modality.program_id != case.program_id:
            raise ValidationError({"modality": f"{modality} is not a {case.program} test."})
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
        # Imported here: outreach.services builds on this module (case_lock, events).
        from outreach.messaging.patient_reminders import appointment_reminders_schedule

        appointment_reminders_schedule(appointment=appointment)
        return appointment


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
        from outreach.messaging.patient_reminders import kit_reminders_schedule

        kit_reminders_schedule(kit=kit)
        return kit


def diagnostic_follow_up_needed(case: NavigationCase) -> ScreeningModality | None:
    """The diagnostic test this case's latest screening calls for, if it was abnormal."""
    latest = (
        ScreeningEvent.objects.filter(case=case)
        .select_related("modality__diagnostic_follow_up")
        .order_by("-performed_on", "-pk")
        .first()
    )
    if latest is None or latest.result != ScreeningResult.ABNORMAL:
        return None
    return latest.modality.diagnostic_follow_up


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


def case_record_screening(
    *,
    case: NavigationCase | int,
    modality: ScreeningModality,
    performed_on: dt.date,
    result: str,
    actor: User,
    expected_version: int | None = None,
) -> ScreeningEvent:
    """Record the screening done for this case and its result; the case is completed."""
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
        if errors:
            raise ValidationError(errors)
        event = ScreeningEvent.objects.create(
            patient_id=case.patient_id,
            modality=modality,
            performed_on=performed_on,
            result=result,
            case=case,
            recorded_by=actor,
        )
        messages_cancel_pending(case=case, reason="screening recorded")
        KitMailing.objects.filter(case=case, returned_on=None, modality=modality).update(
            returned_on=performed_on
        )
        # The nightly care-gap run looks at this patient again.
        Patient.objects.filter(pk=case.patient_id).update(clinical_data_changed_at=timezone.now())
        for appointment in case.appointments.filter(status=AppointmentStatus.BOOKED):
            appointment.status = AppointmentStatus.KEPT
            appointment.save(update_fields=["status"])
        event_record(
            case=case,
            kind=CaseEventKind.SCREENING_RECORDED,
            actor=actor,
            summary=f"{modality} on {performed_on:%Y-%m-%d}: {event.get_result_display().lower()}",
            data={"screening": event.pk, "modality": modality.code, "result": result},
        )
        case_transition(case=case, to_status=CaseStatus.COMPLETED, actor=actor)
        return event


# --- Rebalancing ----------------------------------------------------------------------


def _rebalance_order(navigator: NavigatorProfile) -> list[int]:
    """The open cases of a navigator in the order they are handed on.

    Cases nobody has contacted yet go first, then those with the least history,
    newest first: the relationships the navigator has built are moved last.
    """
    return list(
        NavigationCase.objects.filter(navigator=navigator, status__in=OPEN_STATUSES)
        .annotate(history=Count("attempts"))
        .order_by("history", "-opened_at", "pk")
        .values_list("pk", flat=True)
    )


def navigator_rebalance(
    *,
    from_navigator: NavigatorProfile,
    actor: User,
    count: int | None = None,
    to_navigators: list[NavigatorProfile] | None = None,
    deactivate: bool = False,
) -> Rebalance:
    """Move `count` (or all) of a navigator's open cases to others, in one transaction.

    Each case goes to the best of `to_navigators` (or of every other active
    navigator) by the assignment rules, with loads updated as cases move. With
    `deactivate`, the navigator is leaving: every case moves and the profile is
    made inactive. One Rebalance row logs the action; each case's timeline
    records its move and the reason. Any error moves nothing.
    """
    with transaction.atomic():
        # Navigators first, in pk order (as every assignment locks them), then cases.
        navigators = _lock_active_navigators()
        source = NavigatorProfile.objects.select_for_update().get(pk=from_navigator.pk)
        case_ids = _rebalance_order(source)
        errors: dict[str, str] = {}
        if deactivate and count is not None:
            errors["count"] = "A leaving navigator's cases all move; leave the number empty."
        elif count is not None and count < 1:
            errors["count"] = "Move at least one case."
        elif count is not None and count > len(case_ids):
            plural = "" if len(case_ids) == 1 else "s"
            errors["count"] = f"{source} has only {len(case_ids)} open case{plural}."
        if not deactivate and not case_ids:
            errors["count"] = f"{source} has no open cases to move."
        targets = [n for n in navigators if n.pk != source.pk]
        if to_navigators:
            chosen_ids = {n.pk for n in to_navigators}
            if source.pk in chosen_ids:
                errors["to_navigators"] = "Cases cannot move to the navigator they come from."
            by_pk = {n.pk: n for n in targets}
            inactive = [str(n) for n in to_navigators if n.pk not in by_pk and n.pk != source.pk]
            if inactive:
                errors["to_navigators"] = f"Not an active navigator: {', '.join(inactive)}."
            targets = [by_pk[pk] for pk in sorted(chosen_ids) if pk in by_pk]
        if case_ids and not targets and "to_navigators" not in errors:
            errors["to_navigators"] = "No other active navigator can take these cases."
        if errors:
            raise ValidationError(errors)

        moving = case_ids if count is None else case_ids[:count]
        cases = list(
            NavigationCase.objects.select_for_update()
            .filter(pk__in=moving)
            .select_related("patient__clinic", "program")
            .order_by("pk")
        )
        by_pk_case = {c.pk: c for c in cases}
        rebalance = Rebalance.objects.create(
            actor=actor,
            from_navigator=source,
            requested=count,
            deactivated=deactivate,
        )
        loads = assignment.open_case_counts([n.pk for n in targets])
        moved_to: dict[str, int] = {}
        for case_id in moving:
            case = by_pk_case[case_id]
            candidates = assignment.candidates_for(
                patient=case.patient, navigators=targets, exclude_case=case.pk, loads=loads
            )
            choice = assignment.choose(patient=case.patient, candidates=candidates)
            if choice.navigator is None:  # pragma: no cover - targets is never empty here
                raise ValidationError({"to_navigators": "No navigator can take these cases."})
            case_assign(
                case=case,
                navigator=choice.navigator,
                actor=actor,
                reason=f"{'leaving' if deactivate else 'rebalanced'} from {source}: "
                + choice.reason,
                needs_interpreter=choice.needs_interpreter,
                rebalance=rebalance,
            )
            loads[choice.navigator.pk] = loads.get(choice.navigator.pk, 0) + 1
            moved_to[str(choice.navigator)] = moved_to.get(str(choice.navigator), 0) + 1
        if deactivate:
            source.active = False
            source.save(update_fields=["active"])
        rebalance.moved = len(moving)
        rebalance.summary = (
            f"Moved {len(moving)} case{'s' if len(moving) != 1 else ''} from {source}"
            + (
                ": " + ", ".join(f"{n} to {name}" for name, n in sorted(moved_to.items()))
                if moved_to
                else ""
            )
            + ("; navigator made inactive" if deactivate else "")
        )
        rebalance.save(update_fields=["moved", "summary"])
        return rebalance


# --- Covering ---------------------------------------------------------------------------


def coverage_create(
    *,
    absent: NavigatorProfile,
    covering: NavigatorProfile,
    starts_on: dt.date,
    ends_on: dt.date,
    actor: User,
    note: str = "",
) -> Coverage:
    """Hand a navigator's caseload to a colleague for a date range.

    A navigator hands on their own caseload; a manager anyone's. During the range
    the colleague sees and works those cases; what they log is theirs.
    """
    with transaction.atomic():
        # Both profiles, locked in pk order, so two overlapping requests queue.
        locked = {
            n.pk: n
            for n in NavigatorProfile.objects.select_for_update()
            .filter(pk__in=[absent.pk, covering.pk])
            .select_related("user")
            .order_by("pk")
        }
        absent, covering = locked[absent.pk], locked[covering.pk]
        errors: dict[str, str] = {}
        if not (actor.sees_all_cases or absent.user_id == actor.pk):
            raise ValidationError(
                {"absent": "You can hand on only your own caseload; ask a manager."}
            )
        if absent.pk == covering.pk:
            errors["covering"] = "Choose a colleague, not the navigator who is away."
        elif not covering.active:
            errors["covering"] = f"{covering} is not an active navigator."
        if ends_on < starts_on:
            errors["ends_on"] = "The last day cannot be before the first."
        if starts_on < timezone.localdate():
            errors["starts_on"] = "Cover cannot start in the past."
        elif too_far_ahead(ends_on):
            errors["ends_on"] = TOO_FAR_AHEAD
        if not errors:
            overlapping = (
                Coverage.objects.filter(
                    absent=absent,
                    cancelled_at=None,
                    starts_on__lte=ends_on,
                    ends_on__gte=starts_on,
                )
                .select_related("covering__user")
                .first()
            )
            if overlapping is not None:
                errors["starts_on"] = (
                    f"{overlapping.covering} already covers {absent} from "
                    f"{overlapping.starts_on:%Y-%m-%d} to {overlapping.ends_on:%Y-%m-%d}."
                )
        if errors:
            raise ValidationError(errors)
        return Coverage.objects.create(
            absent=absent,
            covering=covering,
            starts_on=starts_on,
            ends_on=ends_on,
            note=note,
            created_by=actor,
        )


def coverage_cancel(*, coverage: Coverage, actor: User) -> Coverage:
    with transaction.atomic():
        coverage = Coverage.objects.select_for_update().select_related("absent").get(pk=coverage.pk)
        if not (actor.sees_all_cases or coverage.absent.user_id == actor.pk):
            raise ValidationError({"coverage": "Only the navigator away or a manager can end it."})
        if coverage.cancelled_at is not None:
            return coverage
        today = timezone.localdate()
        if coverage.ends_on < today:
            raise ValidationError({"coverage": "This cover has already ended."})
        coverage.cancelled_at = timezone.now()
        coverage.save(update_fields=["cancelled_at"])
        return coverage
