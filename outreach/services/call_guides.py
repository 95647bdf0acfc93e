"""Managers write the call guides navigators read on the case page: one per program,
call step and language. Every change is a new `CallGuideVersion` (who, when, why,
the guide before and after), as a program's care-gap rules are a new `RuleVersion`.

Why not a `RuleVersion`: its number is the program's `rule_version`, which every
care gap records and the nightly refresh compares; a guide's wording would then
make every care gap of the program look stale and be recomputed. And its
snapshot is the program's eligibility rules, not a guide's text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.models import User
from navigator.permissions import ensure_manager
from outreach.models import CallGuide, CallGuideVersion, CallStep
from patients.languages import is_language_code, language_name
from patients.models import ScreeningProgram

TITLE_MAX_LENGTH = 120
# A guide is read during a call: a few short paragraphs, not a leaflet.
TEXT_MAX_LENGTH = 4000
SUMMARY_MAX_LENGTH = 300


@dataclass(frozen=True)
class CallGuideText:
    """What a manager writes in a guide."""

    title: str
    talking_points: str
    barriers_and_answers: str
    source: str
    prep_instructions: str = ""
    active: bool = True

    def cleaned(self) -> CallGuideText:
        """The same text with its ends trimmed and Windows line ends made plain."""

        def tidy(value: str) -> str:
            return value.replace("\r\n", "\n").strip()

        return CallGuideText(
            title=" ".join(self.title.split()),
            talking_points=tidy(self.talking_points),
            barriers_and_answers=tidy(self.barriers_and_answers),
            source=tidy(self.source),
            prep_instructions=tidy(self.prep_instructions),
            active=bool(self.active),
        )


def call_guide_snapshot(guide: CallGuide) -> dict[str, Any]:
    """A guide's text as a version records it."""
    return {
        "title": guide.title,
        "talking_points": guide.talking_points,
        "barriers_and_answers": guide.barriers_and_answers,
        "prep_instructions": guide.prep_instructions,
        "source": guide.source,
        "active": guide.active,
    }


def _check_text(text: CallGuideText, summary: str) -> None:
    errors: dict[str, str] = {}
    if not text.title:
        errors["title"] = "Give the guide a title navigators will recognise."
    elif len(text.title) > TITLE_MAX_LENGTH:
        errors["title"] = f"At most {TITLE_MAX_LENGTH} characters."
    for field, missing in (
        ("talking_points", "Write what the navigator says: the talking points."),
        ("barriers_and_answers", "Write the common barriers and how to answer them."),
        ("source", "Cite the guidelines or materials this guide follows."),
    ):
        value = getattr(text, field)
        if not value:
            errors[field] = missing
        elif len(value) > TEXT_MAX_LENGTH:
            errors[field] = (
                f"At most {TEXT_MAX_LENGTH} characters: short enough to read during a call."
            )
    if len(text.prep_instructions) > TEXT_MAX_LENGTH:
        errors["prep_instructions"] = f"At most {TEXT_MAX_LENGTH} characters."
    if not summary.strip():
        errors["summary"] = "Say what changed and why."
    elif len(summary.strip()) > SUMMARY_MAX_LENGTH:
        errors["summary"] = f"At most {SUMMARY_MAX_LENGTH} characters."
    if errors:
        raise ValidationError(errors)


def call_guide_create(
    *,
    program: ScreeningProgram,
    step: str,
    language: str,
    text: CallGuideText,
    summary: str,
    actor: User,
) -> CallGuide:
    """Add a guide for a step and language the program has none for (version 1)."""
    ensure_manager(actor, "write call guides")
    text = text.cleaned()
    language = language.strip().lower()
    errors: dict[str, str] = {}
    if step not in CallStep.values:
        errors["step"] = f"“{step}” is not a call step."
    if not is_language_code(language):
        errors["language"] = f"“{language}” is not an ISO 639 language code (e.g. 'en', 'es')."
    if errors:
        raise ValidationError(errors)
    _check_text(text, summary)
    with transaction.atomic():
        # The program row serialises two managers adding the same guide at once.
        program = ScreeningProgram.objects.select_for_update().get(pk=program.pk)
        if CallGuide.objects.filter(program=program, step=step, language=language).exists():
            raise ValidationError(
                {
                    "language": f"{program} already has a {CallStep(step).label.lower()} guide "
                    f"in {language_name(language)}: edit that one."
                }
            )
        guide = CallGuide.objects.create(
            program=program,
            step=step,
            language=language,
            updated_by=actor,
            updated_at=timezone.now(),
            version=1,
            **asdict(text),
        )
        CallGuideVersion.objects.create(
            guide=guide,
            number=1,
            changed_by=actor,
            changed_at=guide.updated_at,
            summary=summary.strip(),
            before={},
            after=call_guide_snapshot(guide),
        )
        return guide


def call_guide_update(
    *,
    guide: CallGuide,
    text: CallGuideText,
    summary: str,
    actor: User,
    expected_version: int | None,
) -> CallGuideVersion | None:
    """Change a guide's text; record who, when, why, before and after as a new version.

    Refused if the guide changed since the form was drawn (`expected_version`);
    None, writing nothing, when the text is the same.
    """
    ensure_manager(actor, "edit call guides")
    text = text.cleaned()
    _check_text(text, summary)
    with transaction.atomic():
        guide = CallGuide.objects.select_for_update().get(pk=guide.pk)
        if expected_version is not None and expected_version != guide.version:
            who = guide.updated_by.get_full_name() if guide.updated_by else "someone"
            raise ValidationError(
                {
                    "version": f"{who or 'Someone'} changed this guide meanwhile (now version "
                    f"{guide.version}); your changes were not saved. Reload it and try again."
                }
            )
        before = call_guide_snapshot(guide)
        for name, value in asdict(text).items():
            setattr(guide, name, value)
        after = call_guide_snapshot(guide)
        if after == before:
            return None
        guide.version += 1
        guide.updated_by = actor
        guide.updated_at = timezone.now()
        guide.save()
        return CallGuideVersion.objects.create(
            guide=guide,
            number=guide.version,
            changed_by=actor,
            changed_at=guide.updated_at,
            summary=summary.strip(),
            before=before,
            after=after,
        )
