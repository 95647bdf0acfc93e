"""The case kernel: the one place a navigation case is locked, versioned, moved
between statuses and written on its timeline.

Every write on a case, whatever app it comes from, goes through here:

- `case_lock` locks the row (and, given the version a form was drawn from,
  refuses with `StaleCaseError` when the case changed since);
- `case_transition` is the only function that changes `status`, checked
  against its programme kind's table (`TRANSITIONS_BY_KIND`: a screening loop,
  or a control programme's enrolment that no lab closes);
- `event_record` writes a timeline entry and bumps the case's version;
  `case_save_and_record` saves changed fields and records their event together.

It imports models and the lowest helpers only (outreach.messaging.stops, which
stops pending patient messages when a case closes), so every service above
can build on it without an import cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from navigator.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AppointmentStatus,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    FollowUpState,
    NavigationCase,
    User,
)
from outreach.messaging.stops import messages_cancel_pending
from patients.models import ProgramKind, ScreeningProgram

# The only legal moves of a screening programme's case. Anything not listed is
# refused, from every page and API.
# What recording a test's result may lead to, from any status before the result.
_RESULT_TARGETS = frozenset(
    {
        CaseStatus.COMPLETED,
        CaseStatus.FOLLOW_UP_NEEDED,
        CaseStatus.REPEAT_NEEDED,
        CaseStatus.TREATMENT,
    }
)
_GIVING_UP = frozenset({CaseStatus.CLOSED_UNREACHABLE, CaseStatus.DECLINED, CaseStatus.INELIGIBLE})

# A case waiting on a follow-up leaves only through its result (complete, another
# follow-up, treatment) or the safety net (closed without it, a manager confirming).
SCREENING_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.NEW: frozenset({CaseStatus.ASSIGNED, *_GIVING_UP}),
    CaseStatus.ASSIGNED: frozenset(
        {CaseStatus.CONTACTING, CaseStatus.SCHEDULED, *_RESULT_TARGETS, *_GIVING_UP}
    ),
    CaseStatus.CONTACTING: frozenset({CaseStatus.SCHEDULED, *_RESULT_TARGETS, *_GIVING_UP}),
    CaseStatus.SCHEDULED: frozenset({CaseStatus.CONTACTING, *_RESULT_TARGETS, *_GIVING_UP}),
    CaseStatus.FOLLOW_UP_NEEDED: frozenset(
        {*(_RESULT_TARGETS - {CaseStatus.FOLLOW_UP_NEEDED}), CaseStatus.FOLLOW_UP_CLOSED}
    ),
    CaseStatus.REPEAT_NEEDED: frozenset(
        {*(_RESULT_TARGETS - {CaseStatus.REPEAT_NEEDED}), CaseStatus.FOLLOW_UP_CLOSED}
    ),
    CaseStatus.COMPLETED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.TREATMENT: frozenset(),
    CaseStatus.FOLLOW_UP_CLOSED: frozenset(),
    CaseStatus.CLOSED_UNREACHABLE: frozenset(),
    CaseStatus.DECLINED: frozenset(),
    CaseStatus.INELIGIBLE: frozenset(),
}
# The name the outreach services read (closing as unreachable): on every status a
# control case can hold, the two tables agree about it.
ALLOWED_TRANSITIONS = SCREENING_TRANSITIONS

# The statuses of the screening loop's result and its closing: they say a test was
# done and what it found, so they mean nothing for a control programme.
SCREENING_LOOP_STATUSES = frozenset(
    {
        *_RESULT_TARGETS,
        CaseStatus.CLOSED,  # "Closed: screening complete"
        CaseStatus.FOLLOW_UP_CLOSED,  # "Closed: follow-up not done" (a result unresolved)
    }
)

# A control programme's case (diabetes; ProgramKind.CONTROL) is never closed by a lab.
# ADA Standards of Care in Diabetes—2025, §6 (Glycemic Goals and Hypoglycemia): glycemic
# status (HbA1c, or a GMI) is assessed at least twice a year in a patient meeting their
# goals and at least quarterly in one who is not or whose therapy changed; monitoring
# goes on for as long as the diabetes does, so no value, however good, ends the work:
# the next lab is simply due later (lab_interval_months). §5 (Facilitating Positive
# Health Behaviors) and the National DSMES Standards make self-management education
# and support an ongoing service, reassessed at diagnosis, yearly or when goals are not
# met, when complications arise and at transitions of care. So none of the screening
# loop's statuses is true of a control case: no test "completes" it, no result calls
# for a diagnostic "follow-up" or a "repeat", nobody is "handed to treatment" by it.
# It stays open, and closes only for a reason outside the lab: the patient declines
# (declined), cannot be reached (closed: unreachable, a manager's call as for
# screening), or is no longer the programme's patient: moved or transferred care,
# deceased, no longer has the condition (ineligible, the reason on the timeline).
# The programmes have no graduation rule (no field says when a patient at target
# leaves coaching); until one exists, nothing else closes a control case.
# "Scheduled" is a lab draw or clinic visit booked (navigator.services.appointments);
# a no-show or cancellation takes the case back to contacting, as for screening.
# A control case found in a screening-loop status (only data written before this
# table could be) may go back to contacting or close for a reason: never further.
CONTROL_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.NEW: frozenset({CaseStatus.ASSIGNED, *_GIVING_UP}),
    CaseStatus.ASSIGNED: frozenset({CaseStatus.CONTACTING, CaseStatus.SCHEDULED, *_GIVING_UP}),
    CaseStatus.CONTACTING: frozenset({CaseStatus.SCHEDULED, *_GIVING_UP}),
    CaseStatus.SCHEDULED: frozenset({CaseStatus.CONTACTING, *_GIVING_UP}),
    **{
        status: frozenset({CaseStatus.CONTACTING, *_GIVING_UP})
        for status in SCREENING_LOOP_STATUSES & OPEN_STATUSES
    },
    **{status: frozenset() for status in CLOSED_STATUSES},
}

TRANSITIONS_BY_KIND: dict[str, dict[str, frozenset[str]]] = {
    ProgramKind.SCREENING: SCREENING_TRANSITIONS,
    ProgramKind.CONTROL: CONTROL_TRANSITIONS,
}


def allowed_targets(*, kind: str, status: str) -> frozenset[str]:
    """The statuses a case of a programme of `kind` may move to from `status`."""
    return TRANSITIONS_BY_KIND[kind][status]


# Dates further ahead than this are almost always typing mistakes (2062 for 2026).
MAX_DAYS_AHEAD = 2 * 366
# An attempt logged later than this after it happened is refused: check the date.
MAX_DAYS_LATE = 90


def too_far_ahead(day: dt.date) -> bool:
    return day > timezone.localdate() + dt.timedelta(days=MAX_DAYS_AHEAD)


TOO_FAR_AHEAD = "This date is more than two years ahead; check it."


# Statuses a person may choose directly; the others follow from an action
# (assigning, booking an appointment, recording a screening). Closing as
# unreachable is proposed (by the outreach protocol or a navigator) and
# confirmed by a manager, on its own panel of the case page.
MANUAL_TARGETS = frozenset(
    {
        CaseStatus.CONTACTING,
        CaseStatus.CLOSED,
        CaseStatus.DECLINED,
        CaseStatus.INELIGIBLE,
    }
)


def manual_targets(case: NavigationCase) -> frozenset[str]:
    """The statuses a person may choose for `case` now: what the status menu and the
    API offer (its programme is read: select it with the case)."""
    return allowed_targets(kind=case.program.kind, status=case.status) & MANUAL_TARGETS


def event_record(
    *,
    case: NavigationCase,
    kind: str,
    actor: User | None,
    summary: str,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> CaseEvent:
    event = CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor,
        summary=summary[:300],
        data=data or {},
        at=at or timezone.now(),
    )
    # Every change on the timeline is a new version of the case (see case_lock).
    NavigationCase.objects.filter(pk=case.pk).update(version=F("version") + 1)
    case.version += 1  # the caller's copy follows the row
    return event


def case_save_and_record(
    *,
    case: NavigationCase,
    fields: Iterable[str],
    kind: str,
    actor: User | None,
    summary: str,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> CaseEvent:
    """Save the changed `fields` of a locked case (and `updated_at`), then record
    the event that says why, so that no change reaches the row without its
    timeline entry."""
    update_fields = list(dict.fromkeys([*fields, "updated_at"]))
    case.save(update_fields=update_fields)
    return event_record(case=case, kind=kind, actor=actor, summary=summary, data=data, at=at)


class StaleCaseError(ValidationError):
    """A form drawn from an older version of the case was submitted."""


def case_changes_since(case: NavigationCase, version: int) -> list[CaseEvent]:
    """The timeline entries written after the case was at `version`, oldest first.

    Versions count events, so the newest `case.version - version` events are the
    changes made since.
    """
    missed = max(case.version - version, 0)
    if missed == 0:
        return []
    events = list(
        CaseEvent.objects.filter(case=case).select_related("actor").order_by("-pk")[:missed]
    )
    return events[::-1]


# Timeline entries that add to the case without changing anything a form shows: a
# form drawn before them overwrites nothing, so they never make it stale.
NEVER_CONFLICTING = frozenset(
    {CaseEventKind.NOTE, CaseEventKind.LETTER_PRINTED, CaseEventKind.LETTER_MAILED}
)


def case_lock(
    case: NavigationCase | int,
    *,
    expected_version: int | None = None,
    with_program: bool = False,
) -> NavigationCase:
    """Lock a case row for the rest of the transaction.

    `with_program` reads the case's programme in the same statement (its kind decides
    the legal moves), locking the case's row only.

    With `expected_version` (the version the submitted form was drawn from), a
    case changed since by anyone refuses with a StaleCaseError that says what
    changed, so that nobody overwrites what they have not seen. Notes and the
    like (`NEVER_CONFLICTING`) added meanwhile change nothing a form could
    overwrite, and do not refuse it.
    """
    case_id = case if isinstance(case, int) else case.pk
    rows = NavigationCase.objects.all()
    if with_program:
        rows = rows.select_related("program").select_for_update(of=("self",))
    else:
        rows = rows.select_for_update()
    locked = rows.get(pk=case_id)
    if expected_version is not None and locked.version != expected_version:
        changes = case_changes_since(locked, expected_version)
        conflicting = [event for event in changes if event.kind not in NEVER_CONFLICTING]
        if changes and not conflicting:
            return locked
        # Named: the changes that could be overwritten, not the notes beside them.
        described = "; ".join(
            f"{event.summary} ({event.actor or 'EquiNav'})" for event in conflicting[-3:]
        )
        raise StaleCaseError(
            {
                "version": (
                    "This case changed after you opened it"
                    + (f": {described}" if described else "")
                    + ". Nothing was saved; check the case and submit again."
                )
            },
            code="stale",
        )
    return locked


def case_ensure_open(case: NavigationCase, field: str = "case") -> None:
    if not case.is_open:
        raise ValidationError(
            {field: f"This case is {case.get_status_display().lower()}; it can no longer change."}
        )


def case_transition(
    *,
    case: NavigationCase | int,
    to_status: str,
    actor: User | None,
    note: str = "",
    expected_version: int | None = None,
    safety_net_confirmed: bool = False,
    by_result: bool = False,
) -> NavigationCase:
    """Move a case to another status, or refuse with a ValidationError on `status`.

    Closing with a result unresolved (FOLLOW_UP_CLOSED) is the safety net's alone:
    navigator.services.follow_ups confirms it with a manager and passes
    `safety_net_confirmed`. What a result leads to (complete, a follow-up needed,
    handed to treatment) follows only from a recorded result: the screening service
    (and the EHR's report of a test) pass `by_result`; chosen by hand, it would say
    something nobody found."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version, with_program=True)
        from_status = case.status
        if to_status not in CaseStatus.values:
            raise ValidationError({"status": f"“{to_status}” is not a case status."})
        if to_status == from_status:
            return case
        program = case.program
        if to_status not in allowed_targets(kind=program.kind, status=from_status):
            raise ValidationError(
                {"status": _refusal(program=program, from_status=from_status, to_status=to_status)},
                code="illegal_transition",
            )
        if (
            to_status == CaseStatus.CLOSED_UNREACHABLE
            and actor is not None
            and not actor.sees_all_cases
        ):
            # Giving up on a patient is a manager's call: a navigator proposes it
            # (outreach's unreachable proposal) and a manager confirms.
            raise ValidationError(
                {
                    "status": "Only a program manager closes a case as unreachable: "
                    "propose it, and a manager confirms."
                },
                code="manager_only",
            )
        if to_status == CaseStatus.ASSIGNED and case.navigator_id is None:
            raise ValidationError(
                {"status": "Assign a navigator before marking the case assigned."}
            )
        if (
            to_status == CaseStatus.SCHEDULED
            and not case.appointments.filter(status=AppointmentStatus.BOOKED).exists()
        ):
            raise ValidationError({"status": "Book an appointment to mark the case scheduled."})
        if to_status in _RESULT_TARGETS and not (by_result and case.screenings.exists()):
            raise ValidationError(
                {"status": "Record the screening and its result: the status follows from it."},
                code="result_only",
            )
        if to_status == CaseStatus.FOLLOW_UP_CLOSED and not safety_net_confirmed:
            raise ValidationError(
                {
                    "status": "A case with an unresolved result closes only with a reason "
                    "and a program manager's confirmation."
                },
                code="safety_net",
            )
        if (
            to_status in {CaseStatus.COMPLETED, CaseStatus.CLOSED}
            and case.follow_ups.filter(state=FollowUpState.OPEN).exists()
        ):
            raise ValidationError(
                {"status": "The result still calls for a follow-up: record it first."},
                code="follow_up_open",
            )

        now = timezone.now()
        case.status = to_status
        update_fields = ["status"]
        if to_status in {CaseStatus.COMPLETED, CaseStatus.TREATMENT}:
            # The loop closed: what the completion figures count.
            case.completed_at = now
            update_fields.append("completed_at")
        if to_status not in OPEN_STATUSES:
            case.closed_at = now
            case.next_follow_up = None
            update_fields += ["closed_at", "next_follow_up"]
            # Reminders stop with their reason, in this same transaction.
            messages_cancel_pending(case=case, reason=f"case {CaseStatus(to_status).label.lower()}")
        case_save_and_record(
            case=case,
            fields=update_fields,
            kind=CaseEventKind.STATUS_CHANGED,
            actor=actor,
            at=now,
            summary=f"{CaseStatus(from_status).label} → {CaseStatus(to_status).label}"
            + (f": {note}" if note else ""),
            data={"from": from_status, "to": to_status, "note": note},
        )
        return case


def _refusal(*, program: ScreeningProgram, from_status: str, to_status: str) -> str:
    """Why a move is not in its programme's table, in words that name the programme."""
    to_label = CaseStatus(to_status).label.lower()
    if program.is_control and to_status in SCREENING_LOOP_STATUSES:
        return (
            f"{program.label} is not a screening: no test or result ends it, so its case is "
            f"never “{to_label}”. The patient stays enrolled; the case closes only as "
            "declined, ineligible (moved, care transferred, deceased) or unreachable."
        )
    return f"A case cannot move from {CaseStatus(from_status).label.lower()} to {to_label}."


def case_result_recorded_refusal(case: NavigationCase) -> str:
    """Why nothing more is booked, mailed or recorded on a case whose result is in
    (status completed), naming its programme truthfully."""
    program = case.program
    if program.is_control:
        # Only data written before CONTROL_TRANSITIONS could be so: no result ends control.
        return (
            f"{program.label} has no result that ends it, yet this case is marked "
            f"“{case.get_status_display().lower()}”: move it back to contacting to go on."
        )
    return f"The {program.label.lower()} is already recorded on this case."


def case_refuse_screening_work(case: NavigationCase, field: str = "modality") -> None:
    """Refuse a screening test, kit or result on a control programme's case: its work is
    a lab value over time and coaching (navigator.services.labs, coaching)."""
    if case.program.is_control:
        raise ValidationError(
            {
                field: f"{case.program.label} has no screening test, kit or result: "
                "record its lab value (HbA1c or GMI) instead."
            },
            code="control_programme",
        )


def actor_name(user: User | None) -> str:
    if user is None:
        return "EquiNav"
    return user.get_full_name() or user.username
