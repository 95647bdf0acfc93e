"""A printed outreach letter on the case's timeline."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from navigator.cases import case_lock, event_record
from navigator.models import CaseEvent, CaseEventKind, NavigationCase, User
from patients.languages import language_name


def letter_record_printed(
    *, case: NavigationCase | int, actor: User, language: str, template_id: int
) -> bool:
    """Put a printed letter on the timeline, once a day per case and language.

    Opening the PDF again (a reprint, a second tab) adds nothing: each entry
    makes open forms on the case stale, and one a day says what happened.
    """
    with transaction.atomic():
        case = case_lock(case)
        today = timezone.localdate()
        start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
        if CaseEvent.objects.filter(
            case=case, kind=CaseEventKind.LETTER_PRINTED, at__gte=start, data__language=language
        ).exists():
            return False
        event_record(
            case=case,
            kind=CaseEventKind.LETTER_PRINTED,
            actor=actor,
            summary=f"Outreach letter printed in {language_name(language)}",
            data={"language": language, "template": template_id},
        )
        return True
