"""Writes for care gaps: compute and store every program's gap for a batch of patients.

Opening and closing cases from the result is intake orchestration
(`navigator.intake.care_gaps`), above both this and the case kernel.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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

    A fixed number of queries per batch: facts (3), existing gaps (1), the
    upsert (1) and the patients' timestamps (1).
    """
    programs = programs if programs is not None else selectors.program_rules_list()
    concept_codes = selectors.concept_codes()
    now = timezone.now()
    facts_list = selectors.patient_facts(patient_ids)
    previous = {
        (gap.patient_id, gap.program_id): gap.status
        for gap in CareGap.objects.filter(patient_id__in=patient_ids).only(
            "patient_id", "program_id", "status"
        )
    }
    changes: list[CareGapChange] = []
    for facts in facts_list:
        for entry in programs:
            result = evaluate_care_gap(
                facts=facts,
                program_name=entry.program.name,
                rules=entry.rules,
                concept_codes=concept_codes,
                as_of=as_of,
            )
            gap = CareGap(
                patient_id=facts.pk,
                program_id=entry.program.pk,
                status=result.status,
                as_of=as_of,
                summary=result.summary[:300],
                reasons=result.reasons,
                evidence=result.evidence,
                last_screening_on=result.last_screening_on,
                last_modality_id=entry.modality_ids.get(result.last_modality_code or ""),
                next_due_on=result.next_due_on,
                overdue_since=result.overdue_since,
                recheck_on=result.recheck_on,
                rule_version=entry.program.rule_version,
                computed_at=now,
            )
            changes.append(
                CareGapChange(
                    facts.pk,
                    entry.program.pk,
                    previous.get((facts.pk, entry.program.pk)),
                    gap,
                    result,
                )
            )
    CareGap.objects.bulk_create(
        [change.gap for change in changes],
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
    Patient.objects.filter(pk__in=[f.pk for f in facts_list]).update(care_gaps_computed_at=now)
    return changes
