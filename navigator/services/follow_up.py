"""The case's next follow-up date."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    TOO_FAR_AHEAD,
    case_ensure_open,
    case_lock,
    case_save_and_record,
    too_far_ahead,
)
from navigator.models import CaseEventKind, NavigationCase, User


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
        case_save_and_record(
            case=case,
            fields=["next_follow_up"],
            kind=CaseEventKind.FOLLOW_UP_SET,
            actor=actor,
            summary=f"Next follow-up {on:%Y-%m-%d}" if on else "Follow-up cleared",
            data={
                "from": previous.isoformat() if previous else None,
                "to": on.isoformat() if on else None,
            },
        )
        return case
