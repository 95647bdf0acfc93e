"""Enrolling a control case's patient in the next group class series in a language
(issue 16: "enrol in the next Spanish-language series", from the worklist):
`group_enrol_next`.

It finds the series (`navigator.selectors.coaching.next_group_series_with_room`) and
enrols through `navigator.services.group_classes.group_enrol`, which takes the seat
under the series' lock and records the timeline entry. The case is locked first, so
two clicks at once cannot put the patient in two series.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import case_ensure_open, case_lock
from navigator.models import GroupEnrolment, NavigationCase, User
from navigator.selectors.coaching import group_enrolment_current, next_group_series_with_room
from navigator.services.group_classes import group_enrol
from patients.languages import is_language_code, language_name


def group_enrol_next(
    *, case: NavigationCase | int, language: str, actor: User, now: dt.datetime | None = None
) -> GroupEnrolment:
    """Enrol the case's patient in the next series of its programme in `language` with
    a seat free and its first class still ahead. Refused, with nothing changed, when
    the language is not one, the case is not a control programme's or is closed, the
    patient is on a series of the programme that is not over yet, or no series fits."""
    if not is_language_code(language):
        raise ValidationError(
            {"language": f"“{language}” is not a language code (e.g. es for Spanish)."},
            code="invalid_language",
        )
    now = now or timezone.now()
    with transaction.atomic():
        case = case_lock(case)
        case_ensure_open(case)
        program = case.program
        if not program.is_control:
            raise ValidationError(
                {"case": f"{program.label} has no group class series: only a control "
                 "programme's patients are enrolled in one."},
                code="not_control",
            )  # fmt: skip
        current = group_enrolment_current(case=case, now=now)
        if current is not None:
            raise ValidationError(
                {"case": f"The patient is already enrolled in {current.series.name}."},
                code="already_enrolled",
            )
        series = next_group_series_with_room(case=case, language=language, now=now)
        if series is None:
            raise ValidationError(
                {"language": f"No {language_name(language)}-language series of {program.name} "
                 "has a seat free with its first class still ahead."},
                code="no_series",
            )  # fmt: skip
        return group_enrol(case=case, series=series, actor=actor)
