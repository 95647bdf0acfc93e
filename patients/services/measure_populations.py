"""Writes for population measures: each patient's populations per measure and period,
stored for the disparities dashboard (`MeasurePopulation`, `MeasurePeriod`).

- `measure_populations_refresh`: the eCQMs (CMS130, CMS125, CMS124, CMS122) over
  the patients known from EHR feeds, as `measure_report` evaluates them.
- `care_gap_populations_refresh`: EquiNav's care-gap rules on each period's last
  day, over every patient (`population_measures` says how statuses map).
- `population_measure_refresh`: either, by measure key (what a task calls).
- `stored_populations_refresh`: every stored period, for some patients (their data
  changed: the nightly care-gap run).
- `measure_period_request`: compute a period later, once the request commits.

Each batch of patients is one transaction: delete the batch's rows for the
(measure, period) pairs, then write its initial-population rows (an upsert, so two
runs that overlap cannot collide). A fixed number of queries per batch whatever its
size. A full refresh (no `patient_ids`) goes through patients in id order and
deletes by id range, so the rows of patients it no longer finds (unlinked, merged,
deleted) go too; it then lists each period as complete (`MeasurePeriod`), so a new
period is shown only once every patient is in it. Refreshing a period already listed
keeps it listed: each patient's rows are always one whole evaluation, some from
before the run and some from it until it ends. A partial refresh only touches the
given patients' rows, and only in periods already listed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from itertools import islice
from operator import or_
from typing import cast

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from patients import selectors
from patients.caregaps.dates import age_in_years
from patients.caregaps.engine import evaluate_prepared, prepare_rules
from patients.caregaps.measures.evaluation import (
    evaluated_batches,
    linked_patients,
    measure_terminology,
)
from patients.caregaps.measures.registry import MEASURES
from patients.caregaps.periods import Period, period_between, period_text
from patients.caregaps.population_measures import (
    CARE_GAP_PREFIX,
    POPULATION_MEASURES,
    PopulationMeasure,
    care_gap_measure_key,
)
from patients.models import (
    CareGapStatus,
    MeasurePeriod,
    MeasurePopulation,
    Patient,
    ScreeningProgram,
)

__all__ = [
    "BATCH_SIZE",
    "POPULATION_MEASURES",
    "PopulationMeasure",
    "RefreshStats",
    "care_gap_populations_refresh",
    "measure_period_request",
    "measure_populations_refresh",
    "population_measure_refresh",
    "stored_populations_refresh",
]

BATCH_SIZE = 500
# Rows per INSERT: 9 columns × 5,000 stays under PostgreSQL's 65,535 parameters
# (SQLite's backend splits further on its own).
INSERT_BATCH = 5000
NUMERATOR_STATUSES = frozenset({CareGapStatus.UP_TO_DATE, CareGapStatus.DUE_SOON})
REFRESH_TASK = "patients.tasks.refresh_measure_populations"

# (measure key, period start, period end): a period is its dates, whatever its label.
Pair = tuple[str, dt.date, dt.date]


@dataclass
class RefreshStats:
    patients: int = 0  # patients evaluated (for the eCQMs: those linked to an EHR feed)
    rows: int = 0  # initial-population rows written
    batches: int = 0
    periods_completed: int = 0  # (measure, period) pairs listed as complete

    def add(self, other: RefreshStats) -> RefreshStats:
        return RefreshStats(
            self.patients + other.patients,
            self.rows + other.rows,
            self.batches + other.batches,
            self.periods_completed + other.periods_completed,
        )


@dataclass
class _Batch:
    patients: Q  # whose rows this batch replaces
    evaluated: int
    rows: list[MeasurePopulation]


def measure_populations_refresh(
    *,
    measure_ids: Sequence[str],
    periods: Sequence[Period],
    patient_ids: Sequence[int] | None = None,
    batch_size: int = BATCH_SIZE,
) -> RefreshStats:
    """Store the eCQMs' populations of the EHR-linked patients for these periods.

    Queries: the listed periods (1, a partial refresh only), value sets (3) and
    programs (1) once; the links once for a full refresh, once per batch for a
    partial one; per batch the patients and their resources (2) and the write.
    """
    unknown = sorted(set(measure_ids) - set(MEASURES))
    if unknown:
        raise ValueError(f"Not an eCQM: {', '.join(unknown)}.")
    pairs = _pairs_to_refresh(measure_ids, periods, patient_ids)
    if not pairs:
        return RefreshStats()
    terminology = measure_terminology()
    program_ids = _program_ids({MEASURES[m].program_code for m, _, _ in pairs})
    wanted = set(pairs)
    measures = sorted({m for m, _, _ in pairs})
    period_list = _periods_of(pairs)

    def batches() -> Iterator[_Batch]:
        chunks: Iterable[list[int] | None] = (
            [None] if patient_ids is None else _chunks(patient_ids, batch_size)
        )
        last: int | None = None
        for chunk in chunks:
            links = linked_patients()
            if chunk is not None:
                links = links.filter(patient_id__in=chunk)
            found = False
            for evaluations in evaluated_batches(
                measures,
                period_list,
                links,
                terminology=terminology,
                batch_size=batch_size,
            ):
                ids = {e.record.pk for e in evaluations if e.record.pk is not None}
                if not ids:
                    continue
                found = True
                rows = [
                    MeasurePopulation(
                        measure=e.measure_id,
                        program_id=program_ids.get(MEASURES[e.measure_id].program_code),
                        patient_id=cast(int, e.record.pk),
                        period_start=e.period.start,
                        period_end=e.period.end,
                        denominator_exclusion=e.populations.denominator_exclusion,
                        numerator=e.populations.numerator,
                        age_at_end=age_in_years(e.record.birth_date, e.period.end),
                    )
                    for e in evaluations
                    if e.populations.initial_population
                    and (e.measure_id, e.period.start, e.period.end) in wanted
                ]
                if chunk is None:
                    yield _Batch(_id_range(last, max(ids)), len(ids), rows)
                    last = max(ids)
                else:
                    yield _Batch(Q(patient_id__in=chunk), len(ids), rows)
            if chunk is not None and not found:
                # None of them is linked to a feed (any more): only their rows go.
                yield _Batch(Q(patient_id__in=chunk), 0, [])
        if patient_ids is None:
            # Whoever comes after the last patient seen is no longer linked.
            yield _Batch(_id_range(last, None), 0, [])

    stats, counts = _store(pairs, batches())
    if patient_ids is None:
        stats.periods_completed = _complete(pairs, counts, sorted(terminology.starter_used))
    return stats


def care_gap_populations_refresh(
    *,
    program_codes: Sequence[str] | None = None,
    periods: Sequence[Period],
    patient_ids: Sequence[int] | None = None,
    batch_size: int = BATCH_SIZE,
) -> RefreshStats:
    """Store each program's care-gap population measure ("caregap:<code>") of every
    patient not merged into another, for these periods: the engine's status on the
    period's last day (all programs when `program_codes` is None).

    Limit: deceased, sex and smoking history are the record's today, not the period's.
    Queries: the rules (4) and concept codes (2) once; the listed periods (1) and the
    merged patients (1) for a partial refresh; the patients' ids once for a full one;
    per batch the facts (3) and the write.
    """
    # A control programme has no care-gap population measure: its statuses are not
    # "screened or not", and its eCQM (CMS122 for diabetes) measures it.
    programs = [entry for entry in selectors.program_rules_list() if not entry.program.is_control]
    if program_codes is not None:
        unknown = sorted(set(program_codes) - {entry.program.code for entry in programs})
        if unknown:
            raise ValueError(f"No screening program {', '.join(unknown)}.")
        programs = [entry for entry in programs if entry.program.code in program_codes]
    keys = [care_gap_measure_key(entry.program.code) for entry in programs]
    pairs = _pairs_to_refresh(keys, periods, patient_ids)
    if not pairs:
        return RefreshStats()
    wanted = set(pairs)
    period_list = _periods_of(pairs)
    concept_codes = selectors.concept_codes()
    # Each program's rules prepared once, not once per patient and period.
    prepared = {
        entry.program.pk: prepare_rules(
            program_name=entry.program.name, rules=entry.rules, concept_codes=concept_codes
        )
        for entry in programs
    }

    def rows_for(patients: list[int]) -> list[MeasurePopulation]:
        rows = []
        for facts in selectors.patient_facts(patients) if patients else []:
            for entry in programs:
                key = care_gap_measure_key(entry.program.code)
                for period in period_list:
                    if (key, period.start, period.end) not in wanted:
                        continue
                    result = evaluate_prepared(
                        facts=facts, rules=prepared[entry.program.pk], as_of=period.end
                    )
                    if result.status == CareGapStatus.NOT_ELIGIBLE:
                        continue
                    rows.append(
                        MeasurePopulation(
                            measure=key,
                            program_id=entry.program.pk,
                            patient_id=facts.pk,
                            period_start=period.start,
                            period_end=period.end,
                            denominator_exclusion=result.status == CareGapStatus.EXCLUDED,
                            numerator=result.status in NUMERATOR_STATUSES,
                            age_at_end=age_in_years(facts.birth_date, period.end),
                        )
                    )
        return rows

    def batches() -> Iterator[_Batch]:
        if patient_ids is None:
            last: int | None = None
            everyone = (
                Patient.objects.filter(merged_into__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
                .iterator(chunk_size=batch_size)
            )
            for chunk in _chunks(everyone, batch_size):
                yield _Batch(_id_range(last, chunk[-1]), len(chunk), rows_for(chunk))
                last = chunk[-1]
            yield _Batch(_id_range(last, None), 0, [])
            return
        unmerged = set(selectors.patients_unmerged(list(patient_ids)))
        for chunk in _chunks(patient_ids, batch_size):
            evaluate = [pk for pk in chunk if pk in unmerged]
            yield _Batch(Q(patient_id__in=chunk), len(evaluate), rows_for(evaluate))

    stats, counts = _store(pairs, batches())
    if patient_ids is None:
        stats.periods_completed = _complete(pairs, counts, [])
    return stats


def population_measure_refresh(
    *, measure: str, periods: Sequence[Period], patient_ids: Sequence[int] | None = None
) -> RefreshStats:
    """One measure by key ("CMS130", "caregap:colorectal"), whichever its kind."""
    if measure.startswith(CARE_GAP_PREFIX):
        return care_gap_populations_refresh(
            program_codes=[measure.removeprefix(CARE_GAP_PREFIX)],
            periods=periods,
            patient_ids=patient_ids,
        )
    return measure_populations_refresh(
        measure_ids=[measure], periods=periods, patient_ids=patient_ids
    )


def stored_populations_refresh(*, patient_ids: Sequence[int]) -> RefreshStats:
    """Bring these patients' rows up to date in every period already listed, for
    every measure (their data changed). Nothing when no period is listed yet."""
    stored: dict[str, list[Period]] = {}
    for measure, start, end in MeasurePeriod.objects.values_list(
        "measure", "period_start", "period_end"
    ):
        stored.setdefault(measure, []).append(period_between(start, end))
    stats = RefreshStats()
    if not patient_ids:
        return stats
    ecqms = sorted(m for m in stored if m in MEASURES)
    if ecqms:
        stats = stats.add(
            measure_populations_refresh(
                measure_ids=ecqms,
                periods=_union(stored[m] for m in ecqms),
                patient_ids=patient_ids,
            )
        )
    care_gaps = [m for m in stored if m.startswith(CARE_GAP_PREFIX)]
    codes = set(
        ScreeningProgram.objects.filter(
            code__in=[m.removeprefix(CARE_GAP_PREFIX) for m in care_gaps]
        ).values_list("code", flat=True)
    )
    if codes:
        stats = stats.add(
            care_gap_populations_refresh(
                program_codes=sorted(codes),
                periods=_union(stored[care_gap_measure_key(code)] for code in codes),
                patient_ids=patient_ids,
            )
        )
    return stats


def measure_period_request(*, measure: str, period: Period) -> None:
    """Compute one measure for one period for everyone, once the caller's transaction
    commits; the period is listed when that is done."""
    if measure not in POPULATION_MEASURES:
        raise ValueError(f"No population measure “{measure}”.")
    if period.end < period.start:
        raise ValueError("The period ends before it starts.")
    enqueue_on_commit(REFRESH_TASK, measure, [period_text(period)])


# --- Helpers ----------------------------------------------------------------------------------


def _pairs_to_refresh(
    measure_ids: Sequence[str], periods: Sequence[Period], patient_ids: Sequence[int] | None
) -> list[Pair]:
    """Every (measure, period) asked for; for some patients, only those already listed."""
    pairs = list(dict.fromkeys((m, p.start, p.end) for m in measure_ids for p in periods))
    if patient_ids is None:
        return pairs
    if not patient_ids or not pairs:
        return []
    listed = set(
        MeasurePeriod.objects.filter(measure__in=measure_ids).values_list(
            "measure", "period_start", "period_end"
        )
    )
    return [pair for pair in pairs if pair in listed]


def _periods_of(pairs: Iterable[Pair]) -> list[Period]:
    return [period_between(start, end) for start, end in sorted({(s, e) for _, s, e in pairs})]


def _union(groups: Iterable[list[Period]]) -> list[Period]:
    return sorted({period for group in groups for period in group})


def _program_ids(codes: set[str]) -> dict[str, int]:
    """The programmes EquiNav runs for these eCQMs, by code: an eCQM whose programme
    does not exist (CMS122 before a diabetes programme) is stored without one."""
    return dict(ScreeningProgram.objects.filter(code__in=codes).values_list("code", "pk"))


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _id_range(after: int | None, up_to: int | None) -> Q:
    """Patients after one id, up to another (either open)."""
    q = Q()
    if after is not None:
        q &= Q(patient_id__gt=after)
    if up_to is not None:
        q &= Q(patient_id__lte=up_to)
    return q


def _pairs_q(pairs: Sequence[Pair]) -> Q:
    return reduce(
        or_, (Q(measure=m, period_start=start, period_end=end) for m, start, end in pairs)
    )


def _store(pairs: Sequence[Pair], batches: Iterator[_Batch]) -> tuple[RefreshStats, Counter[Pair]]:
    """Each batch in one transaction: its patients' rows for the pairs deleted, its
    initial-population rows upserted. Two queries (plus the savepoint) per batch.

    Returns the stats and the rows written per pair (the patients in each period).
    """
    stats = RefreshStats()
    counts: Counter[Pair] = Counter()
    for batch in batches:
        now = timezone.now()
        for row in batch.rows:
            row.computed_at = now
        with transaction.atomic():
            MeasurePopulation.objects.filter(_pairs_q(pairs)).filter(batch.patients).delete()
            MeasurePopulation.objects.bulk_create(
                batch.rows,
                batch_size=INSERT_BATCH,
                update_conflicts=True,
                unique_fields=["measure", "period_end", "period_start", "patient"],
                update_fields=[
                    "program",
                    "denominator_exclusion",
                    "numerator",
                    "age_at_end",
                    "computed_at",
                ],  # fmt: skip
            )
        counts.update((r.measure, r.period_start, r.period_end) for r in batch.rows)
        stats.patients += batch.evaluated
        stats.rows += len(batch.rows)
        stats.batches += 1
    return stats, counts


def _complete(pairs: Sequence[Pair], counts: Counter[Pair], starter_value_sets: list[str]) -> int:
    """List each pair's period as computed for everyone (one upsert)."""
    now = timezone.now()
    MeasurePeriod.objects.bulk_create(
        [
            MeasurePeriod(
                measure=measure,
                period_start=start,
                period_end=end,
                computed_at=now,
                patients=counts[(measure, start, end)],
                starter_value_sets=starter_value_sets,
            )
            for measure, start, end in pairs
        ],
        update_conflicts=True,
        unique_fields=["measure", "period_start", "period_end"],
        update_fields=["computed_at", "patients", "starter_value_sets"],
    )
    return len(pairs)
