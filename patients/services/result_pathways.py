"""Writes for what results call for next: a manager changes a follow-up pathway
(its next step, time target, outer limit, or whether it applies) or adds one, and
each change is a new version of the program's rules (RuleVersion), like every
other rule.

A pathway is never deleted: follow-ups already opened point at it and keep the
step and dates they were given. A new pathway for the same result replaces the
active one (which is deactivated in the same version).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from navigator.models import User
from navigator.permissions import ensure_manager
from patients.models import (
    FollowUpKind,
    FollowUpPathway,
    ResultCategory,
    ResultMeaning,
    RuleVersion,
    ScreeningModality,
    ScreeningProgram,
)
from patients.selectors import program_rules_snapshot
from patients.services.program_rules import program_rules_record_change


@dataclass
class PathwayChange:
    next_step: str
    target_days: int
    limit_days: int | None
    active: bool


def _summary(summary: str) -> str:
    summary = summary.strip()
    if not summary:
        raise ValidationError({"summary": "Say what changed and why (the source, if new)."})
    return summary


def _check(pathway: FollowUpPathway) -> None:
    try:
        pathway.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error
    if pathway.limit_days is not None and pathway.limit_days < pathway.target_days:
        raise ValidationError({"limit_days": "The outer limit cannot come before the target."})


def _ensure_every_result_has_a_next_step(category: ResultCategory) -> None:
    """An abnormal or inadequate result never closes the loop by itself: each test
    reporting in such a category keeps an active pathway (after this change)."""
    if category.meaning not in {ResultMeaning.ABNORMAL, ResultMeaning.INADEQUATE}:
        return
    active = FollowUpPathway.objects.filter(category=category, active=True)
    if active.filter(modality__isnull=True).exists():
        return
    covered = set(active.values_list("modality_id", flat=True))
    bare = [m.name for m in category.modalities.all() if m.pk not in covered]
    if bare:
        raise ValidationError(
            {
                "active": f"“{category.name}” would call for nothing after a "
                f"{', '.join(bare)} result; add the pathway that replaces this one first."
            }
        )


def follow_up_pathway_update(
    *, pathway: FollowUpPathway, change: PathwayChange, summary: str, actor: User
) -> RuleVersion | None:
    """Change a pathway; a new rules version records who, when, before and after.
    Returns None (and writes nothing) when nothing changes."""
    ensure_manager(actor, "change what a result calls for")
    summary = _summary(summary)
    with transaction.atomic():
        program = ScreeningProgram.objects.select_for_update().get(pk=pathway.program_id)
        pathway = FollowUpPathway.objects.select_for_update().get(pk=pathway.pk)
        before = program_rules_snapshot(program)
        pathway.next_step = change.next_step.strip()
        pathway.target_days = change.target_days
        pathway.limit_days = change.limit_days
        if change.active and not pathway.active:
            clash = FollowUpPathway.objects.filter(
                category_id=pathway.category_id, modality_id=pathway.modality_id, active=True
            ).exclude(pk=pathway.pk)
            if clash.exists():
                raise ValidationError(
                    {"active": "Another pathway applies to this result; deactivate it first."}
                )
        pathway.active = change.active
        _check(pathway)
        pathway.save()
        _ensure_every_result_has_a_next_step(pathway.category)
        return program_rules_record_change(
            program=program, actor=actor, before=before, summary=summary
        )


def follow_up_pathway_add(
    *,
    program: ScreeningProgram,
    category: ResultCategory,
    modality: ScreeningModality | None,
    kind: str,
    next_step: str,
    next_modality: ScreeningModality,
    target_days: int,
    limit_days: int | None,
    source: str,
    summary: str,
    actor: User,
) -> RuleVersion | None:
    """Add a pathway for a result (replacing the one that applied, if any) as a new
    rules version."""
    ensure_manager(actor, "change what a result calls for")
    summary = _summary(summary)
    errors: dict[str, str] = {}
    if category.program_id != program.pk:
        errors["category"] = f"“{category}” is not a {program} result category."
    if next_modality.program_id != program.pk:
        errors["next_modality"] = f"{next_modality} is not a {program} test."
    if modality is not None and modality.program_id != program.pk:
        errors["modality"] = f"{modality} is not a {program} test."
    elif modality is not None and not category.modalities.filter(pk=modality.pk).exists():
        errors["modality"] = f"{modality} results are not recorded as “{category}”."
    if kind not in FollowUpKind.values:
        errors["kind"] = f"“{kind}” is not a kind of follow-up."
    if category.meaning == ResultMeaning.DIAGNOSIS:
        # A diagnosis hands the case to treatment navigation; no pathway would ever apply.
        errors["category"] = (
            f"“{category}” is a diagnosis: it hands the case to treatment navigation, "
            "and no follow-up pathway applies to it."
        )
    if not source.strip():
        errors["source"] = "Name the guideline or programme decision this follows."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        program = ScreeningProgram.objects.select_for_update().get(pk=program.pk)
        before = program_rules_snapshot(program)
        FollowUpPathway.objects.filter(category=category, modality=modality, active=True).update(
            active=False
        )
        pathway = FollowUpPathway(
            program=program,
            category=category,
            modality=modality,
            kind=kind,
            next_step=next_step.strip(),
            next_modality=next_modality,
            target_days=target_days,
            limit_days=limit_days,
            source=source.strip(),
        )
        _check(pathway)
        pathway.save()
        return program_rules_record_change(
            program=program, actor=actor, before=before, summary=summary
        )
