"""Writes for care gaps: compute and store every program's gap for a batch of patients.

Opening and closing cases from the result is intake orchestration
(`navigator.intake.care_gaps`), above both this and the case kernel.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from patients import selectors
from patients.caregaps.engine import GapResult, evaluate_care_gap
from patients.models import CareGap, Patient
from patients.selectors import ProgramRules


@dataclass
class CareGapChange:
    patient_id: int
    program_id: int
    old_status: str | None
    gap: CareGap
    result: GapResult


def care_gaps_recompute(
    *, patient_ids: list[int], as_of: dt.date, programs: list[ProgramRules] | None = None
) -> list[CareGapChange]:
    """Compute every program's gap for a batch of patients and store it.

    Only gaps that changed (or are new) are written in full; those that did not
    get their `as_of` and `computed_at` moved on in one narrow UPDATE. The nightly
    run recomputes mostly unchanged gaps, and writing each in full, with its JSON,
    was most of a batch's time.

    A fixed number of queries per batch, at most 8: facts (3), concept codes (2),
    stored gaps (1), then the upsert of the changed gaps (1, none if none
    changed), the stamp on the unchanged ones (1, none if none) and the stamp on the
    patients whose gaps were stale (1).
    """
    programs = programs if programs is not None else selectors.program_rules_list()
    concept_codes = selectors.concept_codes()
    now = timezone.now()
    facts_list = selectors.patient_facts(patient_ids)
    stored = selectors.care_gaps_stored(patient_ids)
    changes: list[CareGapChange] = []
    changed: list[CareGap] = []
    unchanged: list[int] = []
    for facts in facts_list:
        for entry in programs:
            result = evaluate_care_gap(
                facts=facts,
                program_name=entry.program.name,
                rules=entry.rules,
                concept_codes=concept_codes,
                as_of=as_of,
            )
            values = (
                result.status,
                result.summary[:300],
                result.reasons,
                result.evidence,
                result.last_screening_on,
                entry.modality_ids.get(result.last_modality_code or ""),
                result.next_due_on,
                result.overdue_since,
                result.recheck_on,
                entry.program.rule_version,
            )
            gap = CareGap(
                patient_id=facts.pk,
                program_id=entry.program.pk,
                as_of=as_of,
                computed_at=now,
                **dict(zip(selectors.CARE_GAP_VALUE_FIELDS, values, strict=True)),
            )
            previous = stored.get((facts.pk, entry.program.pk))
            if previous is not None and previous[1] == values:
                gap.pk = previous[0]
                unchanged.append(previous[0])
            else:
                changed.append(gap)
            changes.append(
                CareGapChange(
                    facts.pk,
                    entry.program.pk,
                    previous[1][0] if previous is not None else None,
                    gap,
                    result,
                )
            )
    if changed:
        CareGap.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["patient", "program"],
            update_fields=[
                "status",
                "as_of",
                "summary",
                "reasons",
                "evidence",
                "last_screening_on",
                "last_modality",
                "next_due_on",
                "overdue_since",
                "recheck_on",
                "rule_version",
                "computed_at",
            ],  # fmt: skip
            # One statement for a batch of 1,000 patients (4 programs × 14 columns
            # stays under PostgreSQL's 65,535 parameters).
            batch_size=4000,
        )
    if unchanged:
        CareGap.objects.filter(pk__in=unchanged).update(as_of=as_of, computed_at=now)
    # The stamp moves only where it says the gaps are stale (never computed, or data
    # newer than them): every reader compares it with `clinical_data_changed_at`, and
    # each patient row written costs an index entry per index and a change-history
    # row (its trigger), so stamping patients whose gaps were already current was
    # most of a batch's database time. `now` is from before the facts were read: data
    # arriving meanwhile is newer, and the next run picks the patient up again.
    Patient.objects.filter(pk__in=[f.pk for f in facts_list]).filter(
        Q(care_gaps_computed_at__isnull=True)
        | Q(clinical_data_changed_at__gt=F("care_gaps_computed_at"))
    ).update(care_gaps_computed_at=now)
    return changes
