"""The follow-up a result calls for, and the safety net around it.

- `follow_up_open`: a result whose category has a pathway opens a follow-up with
  its due date (the pathway's target from the day the result came back) and the
  guideline's outer limit;
- `follow_up_answer`: the pathway's test, recorded on the case, marks it done;
- the safety net: a case whose result is unresolved closes only for a reason from
  a fixed list (FollowUpCloseReason), proposed by anyone working the case
  (`follow_up_close_propose`) and confirmed by a program manager
  (`follow_up_close_confirm`), who may instead keep it open
  (`follow_up_close_dismiss`).

Recording a test (navigator.services.screenings) calls the first two; pages and
the API call the safety net.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import case_lock, case_transition, event_record
from navigator.models import (
    CaseEventKind,
    CaseStatus,
    FollowUpCloseReason,
    FollowUpState,
    NavigationCase,
    ResultFollowUp,
    User,
)
from navigator.permissions import ensure_manager
from outreach.models import ContactAttempt, Outcome
from patients.models import FollowUpPathway, ScreeningEvent

CLOSE_NOTE_MAX_LENGTH = 1000
# "Unreachable after the outreach protocol": at least the default protocol's three
# tries since the result, none of which reached the patient.
UNREACHABLE_MIN_ATTEMPTS = 3

_NOTE_ASKS = {
    FollowUpCloseReason.DECLINED_INFORMED: "Say what was discussed and what the patient decided.",
    FollowUpCloseReason.DONE_ELSEWHERE: (
        "Name the evidence: where and when it was done, and the report on file."
    ),
    FollowUpCloseReason.DECEASED: "Say how this was learned.",
    FollowUpCloseReason.MOVED: "Say where the patient went and whether their care was handed on.",
    FollowUpCloseReason.UNREACHABLE: "Say what was tried.",
}


def follow_up_open(
    *, case: NavigationCase, screening: ScreeningEvent, pathway: FollowUpPathway, actor: User
) -> ResultFollowUp:
    """Open the follow-up `pathway` sets for a result just recorded on a locked case."""
    result_on = screening.resulted_on or screening.performed_on
    follow_up = ResultFollowUp.objects.create(
        case=case,
        screening=screening,
        pathway=pathway,
        kind=pathway.kind,
        next_step=pathway.next_step,
        next_modality=pathway.next_modality,
        result_on=result_on,
        due_on=result_on + dt.timedelta(days=pathway.target_days),
        limit_on=(
            result_on + dt.timedelta(days=pathway.limit_days)
            if pathway.limit_days is not None
            else None
        ),
    )
    event_record(
        case=case,
        kind=CaseEventKind.FOLLOW_UP_OPENED,
        actor=actor,
        summary=f"{follow_up.next_step} needed by {follow_up.due_on:%Y-%m-%d}"
        + (f" (at the latest {follow_up.limit_on:%Y-%m-%d})" if follow_up.limit_on else ""),
        data={
            "follow_up": follow_up.pk,
            "pathway": pathway.pk,
            "screening": screening.pk,
            "due_on": follow_up.due_on.isoformat(),
        },
    )
    return follow_up


_PROPOSAL_FIELDS = ["close_reason", "close_note", "close_proposed_by", "close_proposed_at"]


def _proposal_clear(follow_up: ResultFollowUp) -> dict[str, str]:
    """Forget a locked follow-up's proposal to close without it (not saved); what it was."""
    old = {"reason": follow_up.close_reason, "note": follow_up.close_note}
    follow_up.close_reason = ""
    follow_up.close_note = ""
    follow_up.close_proposed_by = None
    follow_up.close_proposed_at = None
    return old


def follow_up_answer(*, follow_up: ResultFollowUp, answer: ScreeningEvent, actor: User) -> None:
    """Mark a locked open follow-up done by the test just recorded."""
    follow_up.state = FollowUpState.DONE
    follow_up.answered_by = answer
    follow_up.done_on = answer.performed_on
    _proposal_clear(follow_up)
    follow_up.save(update_fields=["state", "answered_by", "done_on", *_PROPOSAL_FIELDS])
    days = (answer.performed_on - follow_up.result_on).days
    event_record(
        case=follow_up.case,
        kind=CaseEventKind.FOLLOW_UP_DONE,
        actor=actor,
        summary=f"{follow_up.next_step} done on {answer.performed_on:%Y-%m-%d}, "
        f"{days} days after the result"
        + (" (later than the target)" if answer.performed_on > follow_up.due_on else ""),
        data={"follow_up": follow_up.pk, "answered_by": answer.pk, "days": days},
    )


def _not_unreachable(case: NavigationCase, follow_up: ResultFollowUp) -> str:
    """Why the patient does not count as unreachable since the result ("" if they do)."""
    tries = ContactAttempt.objects.filter(case=case, attempted_at__date__gte=follow_up.result_on)
    if tries.filter(outcome=Outcome.REACHED).exists():
        return "The patient was reached since the result: not unreachable."
    count = tries.count()
    if count < UNREACHABLE_MIN_ATTEMPTS:
        return (
            f"Unreachable means the outreach protocol was followed: at least "
            f"{UNREACHABLE_MIN_ATTEMPTS} attempts since the result ({count} so far)."
        )
    return ""


def follow_up_unreachable_withdraw(*, case: NavigationCase, actor: User | None) -> None:
    """The patient was reached: a locked case's proposal to close it as unreachable,
    if any, no longer holds (contact attempts call this)."""
    follow_up = (
        ResultFollowUp.objects.select_for_update()
        .filter(case=case, state=FollowUpState.OPEN, close_reason=FollowUpCloseReason.UNREACHABLE)
        .first()
    )
    if follow_up is None:
        return
    old = _proposal_clear(follow_up)
    follow_up.save(update_fields=_PROPOSAL_FIELDS)
    event_record(
        case=case,
        kind=CaseEventKind.FOLLOW_UP_CLOSE_DISMISSED,
        actor=actor,
        summary="Proposal to close as unreachable withdrawn: the patient was reached",
        data={"follow_up": follow_up.pk, "from": old, "to": None},
    )


def _locked_open_follow_up(case: NavigationCase) -> ResultFollowUp:
    follow_up = (
        ResultFollowUp.objects.select_for_update()
        .filter(case=case, state=FollowUpState.OPEN)
        .first()
    )
    if follow_up is None:
        raise ValidationError({"case": "This case has no unresolved result."})
    return follow_up


def follow_up_close_propose(
    *,
    case: NavigationCase | int,
    reason: str,
    note: str,
    actor: User,
    expected_version: int | None = None,
) -> ResultFollowUp:
    """Propose closing a case whose result is unresolved, for a reason from the fixed
    list with a note a manager can decide from; nothing closes until a manager
    confirms (follow_up_close_confirm)."""
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        follow_up = _locked_open_follow_up(case)
        if reason not in FollowUpCloseReason.values:
            raise ValidationError(
                {"reason": "Choose one of the listed reasons; no other closes this case."}
            )
        note = note.strip()
        errors: dict[str, str] = {}
        if not note:
            errors["note"] = _NOTE_ASKS[FollowUpCloseReason(reason)]
        elif len(note) > CLOSE_NOTE_MAX_LENGTH:
            errors["note"] = f"At most {CLOSE_NOTE_MAX_LENGTH} characters; this is {len(note)}."
        if reason == FollowUpCloseReason.UNREACHABLE:
            problem = _not_unreachable(case, follow_up)
            if problem:
                errors["reason"] = problem
        if errors:
            raise ValidationError(errors)
        if follow_up.close_reason == reason and follow_up.close_note == note:
            return follow_up
        old = {"reason": follow_up.close_reason, "note": follow_up.close_note}
        follow_up.close_reason = reason
        follow_up.close_note = note
        follow_up.close_proposed_by = actor
        follow_up.close_proposed_at = timezone.now()
        follow_up.save(
            update_fields=["close_reason", "close_note", "close_proposed_by", "close_proposed_at"]
        )
        event_record(
            case=case,
            kind=CaseEventKind.FOLLOW_UP_CLOSE_PROPOSED,
            actor=actor,
            summary=f"Closing without {follow_up.next_step.lower()} proposed: "
            f"{FollowUpCloseReason(reason).label.lower()}; a manager confirms",
            data={"follow_up": follow_up.pk, "from": old, "to": {"reason": reason, "note": note}},
        )
        return follow_up


def follow_up_close_confirm(
    *, case: NavigationCase | int, actor: User, expected_version: int | None = None
) -> ResultFollowUp:
    """A program manager confirms the proposed closing: the follow-up closes with its
    reason and the case closes as "follow-up not done"."""
    ensure_manager(actor, "confirm closing a case with an unresolved result")
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        follow_up = _locked_open_follow_up(case)
        if not follow_up.close_reason:
            raise ValidationError({"case": "Nothing to confirm: no closing was proposed."})
        # What held when it was proposed must still hold now.
        if follow_up.close_reason == FollowUpCloseReason.UNREACHABLE:
            problem = _not_unreachable(case, follow_up)
            if problem:
                raise ValidationError({"case": problem})
        follow_up.state = FollowUpState.CLOSED
        follow_up.closed_by = actor
        follow_up.closed_at = timezone.now()
        follow_up.save(update_fields=["state", "closed_by", "closed_at"])
        reason = FollowUpCloseReason(follow_up.close_reason).label
        event_record(
            case=case,
            kind=CaseEventKind.FOLLOW_UP_CLOSED,
            actor=actor,
            summary=f"Closed without {follow_up.next_step.lower()}: {reason.lower()} "
            "(confirmed by a manager)",
            data={
                "follow_up": follow_up.pk,
                "reason": follow_up.close_reason,
                "proposed_by": follow_up.close_proposed_by_id,
            },
        )
        case_transition(
            case=case,
            to_status=CaseStatus.FOLLOW_UP_CLOSED,
            actor=actor,
            note=reason.lower(),
            safety_net_confirmed=True,
        )
        return follow_up


def follow_up_close_dismiss(
    *, case: NavigationCase | int, actor: User, note: str = "", expected_version: int | None = None
) -> ResultFollowUp:
    """A program manager keeps the case open: the proposal is withdrawn."""
    ensure_manager(actor, "decide on closing a case with an unresolved result")
    note = note.strip()[:CLOSE_NOTE_MAX_LENGTH]
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        follow_up = _locked_open_follow_up(case)
        if not follow_up.close_reason:
            return follow_up
        old = _proposal_clear(follow_up)
        follow_up.save(update_fields=_PROPOSAL_FIELDS)
        event_record(
            case=case,
            kind=CaseEventKind.FOLLOW_UP_CLOSE_DISMISSED,
            actor=actor,
            summary="Kept open: the follow-up is still needed" + (f" ({note})" if note else ""),
            data={"follow_up": follow_up.pk, "from": old, "to": None, "note": note},
        )
        return follow_up
