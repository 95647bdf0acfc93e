"""A case's outreach letter marked printed or mailed, on the case's timeline.

Looking at the letter (opening its PDF, a second tab, a reprint) records nothing:
reading is not writing. The navigator says what happened to it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import case_ensure_open, case_lock, event_record
from navigator.models import CaseEvent, CaseEventKind, NavigationCase, User
from outreach.letters.case_letter import LetterError, letter_compose
from patients.languages import language_name

LETTER_STEPS = {
    "printed": (CaseEventKind.LETTER_PRINTED, "printed"),
    "mailed": (CaseEventKind.LETTER_MAILED, "mailed"),
}


def letter_mark(*, case: NavigationCase | int, step: str, actor: User) -> CaseEvent | None:
    """Put the case's letter, printed or mailed, on its timeline, once a day for each.

    The letter is the one the case page offers (its template in the patient's
    language): a case that cannot have one is refused. Marking again the same day
    adds nothing (None). Like a note, a mark never conflicts with another edit.
    """
    if step not in LETTER_STEPS:
        raise ValidationError({"step": f"“{step}” is not something done with a letter."})
    kind, done = LETTER_STEPS[step]
    with transaction.atomic():
        case = case_lock(case)
        case_ensure_open(case, "step")
        try:
            letter = letter_compose(case, today=timezone.localdate())
        except LetterError as error:
            raise ValidationError({"step": str(error)}) from None
        start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
        if CaseEvent.objects.filter(
            case=case, kind=kind, at__gte=start, data__language=letter.language
        ).exists():
            return None
        return event_record(
            case=case,
            kind=kind,
            actor=actor,
            summary=f"Outreach letter {done} in {language_name(letter.language)}",
            data={"language": letter.language, "template": letter.template_id, "step": step},
        )
