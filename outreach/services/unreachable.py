"""Closing a case as unreachable: the protocol (or a navigator) proposes, a manager decides."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    ALLOWED_TRANSITIONS,
    actor_name,
    case_ensure_open,
    case_lock,
    case_save_and_record,
    case_transition,
)
from navigator.models import CaseEventKind, CaseStatus, NavigationCase, User
from navigator.permissions import ensure_manager


def unreachable_proposal_record(
    case: NavigationCase, actor: User, *, reason: str, data: dict | None = None
) -> bool:
    """Flag a locked case as proposed for closing as unreachable, once (by the
    protocol, from `attempt_log`, or by a navigator)."""
    if case.unreachable_proposed_at is not None:
        return False
    if CaseStatus.CLOSED_UNREACHABLE not in ALLOWED_TRANSITIONS[case.status]:
        # A completed case (screened) is closed, never as unreachable.
        return False
    case.unreachable_proposed_at = timezone.now()
    case_save_and_record(
        case=case,
        fields=["unreachable_proposed_at"],
        kind=CaseEventKind.UNREACHABLE_PROPOSED,
        actor=actor,
        summary=f"Proposed for closing as unreachable by {reason}; a manager confirms",
        data={
            **(data or {}),
            "proposed_from": None,
            "proposed_to": case.unreachable_proposed_at.isoformat(),
        },
    )
    return True


def unreachable_proposal_withdraw(
    case: NavigationCase, actor: User, *, reason: str, note: str = ""
) -> None:
    """Withdraw a locked case's proposal (the patient was reached, or a manager keeps
    trying); counting towards proposing it again starts afresh."""
    proposed_at = case.unreachable_proposed_at
    case.unreachable_proposed_at = None
    case_save_and_record(
        case=case,
        fields=["unreachable_proposed_at"],
        kind=CaseEventKind.UNREACHABLE_DISMISSED,
        actor=actor,
        summary=f"Kept open ({reason})" + (f": {note}" if note else ""),
        data={
            "proposed_from": proposed_at.isoformat() if proposed_at else None,
            "proposed_to": None,
            "note": note,
        },
    )


UNREACHABLE_NOTE_MAX_LENGTH = 250


def _check_note(note: str, *, required: str = "") -> str:
    note = note.strip()
    if required and not note:
        raise ValidationError({"note": required})
    if len(note) > UNREACHABLE_NOTE_MAX_LENGTH:
        raise ValidationError(
            {"note": f"At most {UNREACHABLE_NOTE_MAX_LENGTH} characters; this is {len(note)}."}
        )
    return note


def case_unreachable_propose(
    *, case: NavigationCase | int, actor: User, note: str, expected_version: int | None = None
) -> NavigationCase:
    """A navigator who has tried everything proposes closing the case as unreachable."""
    note = _check_note(note, required="Say what was tried; the manager decides from it.")
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case, "note")
        if case.unreachable_proposed_at is not None:
            raise ValidationError({"note": "This case is already proposed for closing."})
        if CaseStatus.CLOSED_UNREACHABLE not in ALLOWED_TRANSITIONS[case.status]:
            status = case.get_status_display().lower()
            raise ValidationError({"note": f"A {status} case is not closed as unreachable."})
        unreachable_proposal_record(
            case, actor, reason=f"{actor_name(actor)}: {note}", data={"note": note}
        )
        return case


def _lock_proposed_case(
    case: NavigationCase | int, expected_version: int | None, otherwise: str
) -> NavigationCase:
    """The case, locked, open and proposed as unreachable, or a ValidationError."""
    locked = case_lock(case, expected_version=expected_version)
    case_ensure_open(locked)
    if locked.unreachable_proposed_at is None:
        raise ValidationError(
            {"case": f"Nothing proposes closing this case as unreachable; {otherwise}."}
        )
    return locked


def case_unreachable_confirm(
    *,
    case: NavigationCase | int,
    actor: User,
    note: str = "",
    expected_version: int | None = None,
) -> NavigationCase:
    """A manager confirms the proposal: the case closes as unreachable."""
    ensure_manager(actor, "close a case as unreachable")
    note = _check_note(note)
    with transaction.atomic():
        case = _lock_proposed_case(case, expected_version, "it stays open")
        proposed_on = timezone.localdate(case.unreachable_proposed_at)
        return case_transition(
            case=case,
            to_status=CaseStatus.CLOSED_UNREACHABLE,
            actor=actor,
            note=f"confirmed the proposal of {proposed_on:%Y-%m-%d}"
            + (f"; {note}" if note else ""),
        )


def case_unreachable_dismiss(
    *,
    case: NavigationCase | int,
    actor: User,
    note: str = "",
    expected_version: int | None = None,
) -> NavigationCase:
    """A manager keeps trying: the proposal is withdrawn and counting starts again."""
    ensure_manager(actor, "keep a case proposed as unreachable open")
    note = _check_note(note)
    with transaction.atomic():
        case = _lock_proposed_case(case, expected_version, "nothing to dismiss")
        unreachable_proposal_withdraw(
            case, actor, reason="a manager decided to keep trying", note=note
        )
        return case
