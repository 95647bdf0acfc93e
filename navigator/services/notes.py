"""Free-text notes on a case's timeline."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from navigator.cases import case_ensure_open, case_lock, event_record
from navigator.models import CaseEvent, CaseEventKind, NavigationCase, User

NOTE_MAX_LENGTH = 2000


def case_note_add(
    *,
    case: NavigationCase | int,
    text: str,
    actor: User,
) -> CaseEvent:
    """Add a free-text note to the case's timeline.

    A note only adds: it never conflicts with another edit, so it takes no version
    (two people noting the same case at once both keep their note)."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the note first."})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {"text": f"A note is at most {NOTE_MAX_LENGTH} characters; this one is {len(text)}."}
        )
    with transaction.atomic():
        case = case_lock(case)
        case_ensure_open(case, "text")
        return event_record(
            case=case,
            kind=CaseEventKind.NOTE,
            actor=actor,
            summary=text,
            data={"text": text},
        )
