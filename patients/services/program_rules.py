"""Writes for program rules: change a program's care-gap rules and record each version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from navigator.models import User
from patients.models import RuleVersion, ScreeningProgram
from patients.selectors import program_rules_snapshot

RULE_FIELDS = (
    "min_age",
    "max_age",
    "sex",
    "min_pack_years",
    "due_soon_days",
    "active",
    # A control programme's (ScreeningProgram.clean refuses them on a screening one).
    "target_value",
    "target_unit",
    "poor_control_value",
    "lab_interval_months",
    "lab_interval_above_target_months",
)


@dataclass
class ModalityRuleChange:
    code: str
    interval_months: int | None = None
    min_age: int | None = None
    active: bool | None = None


@dataclass
class ExclusionRuleChange:
    code: str
    lookback_months: int | None = None
    clear_lookback: bool = False
    min_age: int | None = None
    active: bool | None = None


def program_rules_update(
    *,
    program: ScreeningProgram,
    actor: User,
    summary: str,
    fields: dict[str, Any] | None = None,
    modalities: list[ModalityRuleChange] | None = None,
    exclusions: list[ExclusionRuleChange] | None = None,
) -> RuleVersion | None:
    """Change a program's rules; record who, when, before and after as a new version.

    Returns None (and writes nothing) when nothing changes. Every care gap
    computed under an older version is recomputed by the next refresh.
    """
    fields = fields or {}
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({"fields": f"Not a rule: {', '.join(sorted(unknown))}."})
    if not summary.strip():
        raise ValidationError({"summary": "Say what changed and why."})
    with transaction.atomic():
        program = ScreeningProgram.objects.select_for_update().get(pk=program.pk)
        before = program_rules_snapshot(program)
        for name, value in fields.items():
            setattr(program, name, value)
        program.full_clean(validate_unique=False)
        program_modalities = {m.code: m for m in program.modalities.all()}
        for change in modalities or []:
            modality = program_modalities.get(change.code)
            if modality is None:
                raise ValidationError({"modalities": f"{program} has no modality “{change.code}”."})
            for name in ("interval_months", "min_age", "active"):
                value = getattr(change, name)
                if value is not None:
                    setattr(modality, name, value)
            modality.full_clean(validate_unique=False)
            modality.save()
        program_exclusions = {e.code: e for e in program.exclusions.all()}
        for exclusion_change in exclusions or []:
            exclusion = program_exclusions.get(exclusion_change.code)
            if exclusion is None:
                raise ValidationError(
                    {"exclusions": f"{program} has no exclusion “{exclusion_change.code}”."}
                )
            if exclusion_change.clear_lookback:
                exclusion.lookback_months = None
            elif exclusion_change.lookback_months is not None:
                exclusion.lookback_months = exclusion_change.lookback_months
            if exclusion_change.min_age is not None:
                exclusion.min_age = exclusion_change.min_age
            if exclusion_change.active is not None:
                exclusion.active = exclusion_change.active
            exclusion.full_clean(validate_unique=False)
            exclusion.save()
        program.save()
        version = program_rules_record_change(
            program=program, actor=actor, before=before, summary=summary
        )
        if version is None:
            transaction.set_rollback(True)
        return version


def program_rules_record_change(
    *, program: ScreeningProgram, actor: User | None, before: dict[str, Any], summary: str
) -> RuleVersion | None:
    """Record a new rules version if the rules now differ from `before` (after an admin edit)."""
    with transaction.atomic():
        program = ScreeningProgram.objects.select_for_update().get(pk=program.pk)
        after = program_rules_snapshot(program)
        if after == before:
            return None
        program.rule_version += 1
        program.save(update_fields=["rule_version"])
        return RuleVersion.objects.create(
            program=program,
            number=program.rule_version,
            changed_by=actor,
            summary=summary.strip()[:300],
            before=before,
            after=after,
        )
