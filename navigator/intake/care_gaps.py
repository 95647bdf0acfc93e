"""The care-gap refresh: recompute gaps, then open a case for each patient newly in a gap
and close the open case of one the EHR shows screened.

A gap is any of `GAP_STATUSES`: a screening programme's "overdue", a control
programme's "not tested this year", "no usable result" and "poor control". A
control programme's case is never closed from data: one lab does not end the
work (the patient stays enrolled while the condition lasts, and the next lab is
due again months later). It stays open, its gap refreshed each night (the case
page reads the current gap), until a navigator closes it; while it is open no
second case is opened for the same programme. A screening programme's case is
closed when the EHR reports the test (up to date or due soon again).

Sits above the care-gap writes (`patients.services.care_gaps`) and the case
kernel. The nightly Celery task asks `care_gaps_refresh_enqueue` to split the patients
due into batches of `REFRESH_BATCH`, one `caregaps` task each (on commit), so that the
run spreads over every worker process of that queue; each batch task calls
`care_gaps_refresh_batch` (one transaction, then its stored population measures'
refresh). The after-import task and a merge call `care_gaps_refresh` for their patients.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from config.enqueue import enqueue_many_on_commit
from navigator.cases import case_lock, case_transition, event_record
from navigator.models import OPEN_STATUSES, CaseEventKind, CaseStatus, NavigationCase
from navigator.services.case_opening import cases_open_many
from patients.models import (
    GAP_STATUSES,
    CareGapStatus,
    Patient,
    ScreeningEvent,
    ScreeningModality,
    ScreeningResult,
)
from patients.selectors import (
    ProgramRules,
    care_gap_patients_due,
    patients_unmerged,
    program_rules_list,
)
from patients.services.care_gaps import CareGapChange, care_gaps_recompute

# Patients per nightly batch: one task and one transaction each (recompute, then
# cases), well inside the task time limit; also one stored-population-measures task's
# worth (about 30 evaluations a patient: 3 measures x 10 periods).
REFRESH_BATCH = 1000
BATCH_TASK = "patients.tasks.refresh_care_gaps_batch"
POPULATIONS_TASK = "patients.tasks.refresh_measure_populations_for"


@dataclass
class RefreshResult:
    patients: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    # The patients recomputed: their stored population measures follow
    # (`care_gaps_refresh_batch`, the FHIR bulk import's care-gap step).
    patient_ids: list[int] = field(default_factory=list)


def care_gaps_refresh(
    *, as_of: dt.date, patient_ids: list[int] | None = None, batch_size: int = REFRESH_BATCH
) -> RefreshResult:
    """Recompute what may have changed; open and close cases from it, a transaction
    per `batch_size` patients.

    An import names the patients it touched, so that their pages are current at once,
    as does a nightly batch (`care_gaps_refresh_batch`). Without names, every patient
    due (`care_gap_patients_due`), here in this process, one batch after another: what
    the nightly run did before it was split across the `caregaps` workers.
    """
    programs = program_rules_list()
    result = RefreshResult()
    if patient_ids is None:
        patient_ids = care_gap_patients_due(as_of=as_of)
    else:
        # Named by a task queued before a merge: a merged record's gaps and cases are
        # its survivor's now (the merge refreshed those).
        patient_ids = patients_unmerged(patient_ids)
    for start in range(0, len(patient_ids), batch_size):
        batch = patient_ids[start : start + batch_size]
        with transaction.atomic():
            changes = care_gaps_recompute(patient_ids=batch, as_of=as_of, programs=programs)
            opened, closed = _cases_follow_gaps(changes, programs)
        result.patients += len(batch)
        result.patient_ids.extend(batch)
        result.cases_opened += opened
        result.cases_closed += closed
        for change in changes:
            result.statuses[change.gap.status] = result.statuses.get(change.gap.status, 0) + 1
    return result


def care_gaps_refresh_batches(*, as_of: dt.date, batch_size: int | None = None) -> list[list[int]]:
    """The nightly run's batches: every patient due (`care_gap_patients_due`), in id
    order, `REFRESH_BATCH` to a batch (read at call time, so a test can shrink it)."""
    size = batch_size or REFRESH_BATCH
    patient_ids = care_gap_patients_due(as_of=as_of)
    return [patient_ids[start : start + size] for start in range(0, len(patient_ids), size)]


def care_gaps_refresh_enqueue(*, as_of: dt.date) -> list[list[int]]:
    """Hand each batch of the patients due to its own `caregaps` task, once the current
    transaction commits (at once outside one); answers the batches.

    One process recomputes about one core's worth (issue 15 wants 5,000 patients/s on
    two): split up, the night's run goes as fast as that queue has worker processes.
    Batches hold different patients, so two at once lock different patient rows, then
    the navigators in pk order (`cases_open_many`): they queue, never deadlock, and the
    second counts the first's cases in the loads.
    """
    batches = care_gaps_refresh_batches(as_of=as_of)
    # The day travels with each batch: one queued before midnight and run (or retried)
    # after it answers the question the run planned, the same as the others.
    enqueue_many_on_commit(BATCH_TASK, [(batch, as_of.isoformat()) for batch in batches])
    return batches


def care_gaps_refresh_batch(*, patient_ids: list[int], as_of: dt.date) -> RefreshResult:
    """One nightly batch, or the patients an import touched: recompute and open and close
    cases (one transaction), then refresh their stored population measures (their data
    or the rules changed; once their gaps are current the nightly no longer sees them).

    Safe to run twice: a recompute writes the same gaps, and case opening skips a
    patient x program with an open case. A record merged since the batch was planned is
    left out (`care_gaps_refresh`: the merge refreshed its survivor).
    """
    result = care_gaps_refresh(as_of=as_of, patient_ids=patient_ids)
    # A thousand patients a task at most: an import can name several thousand, and a
    # task past its time limit is not retried (its patients would stay stale).
    size = REFRESH_BATCH
    ids = result.patient_ids
    if ids:
        enqueue_many_on_commit(
            POPULATIONS_TASK, [(ids[start : start + size],) for start in range(0, len(ids), size)]
        )
    return result


def _cases_follow_gaps(
    changes: list[CareGapChange], programs: list[ProgramRules]
) -> tuple[int, int]:
    """Open a case for each patient newly in a gap; close one the EHR shows screened
    (a screening programme's only: its statuses are the only "up to date" ones)."""
    program_by_id = {entry.program.pk: entry.program for entry in programs}
    closed = 0
    # Newly: from no gap, or none stored, into one. Moving between a control
    # programme's gaps (untested → poor control) opens nothing new.
    newly_overdue = [
        c for c in changes if c.gap.status in GAP_STATUSES and c.old_status not in GAP_STATUSES
    ]
    screened = [c for c in changes if c.result.last_screening_resource_pk is not None and (
        c.gap.status in {CareGapStatus.UP_TO_DATE, CareGapStatus.DUE_SOON}
    )]  # fmt: skip
    open_cases = {
        (case.patient_id, case.program_id): case
        for case in NavigationCase.objects.filter(
            patient_id__in={c.patient_id for c in newly_overdue + screened},
            status__in=OPEN_STATUSES,
        )
    }
    to_open = [
        change
        for change in newly_overdue
        if program_by_id[change.program_id].active
        and program_by_id[change.program_id].open_cases_automatically
        and (change.patient_id, change.program_id) not in open_cases
    ]
    # One set of statements for the batch (patients locked, navigators locked once,
    # cases and events inserted in bulk), not case_open per case: the same cases,
    # assignments (the same scoring, loads counted on) and events.
    patients = Patient.objects.select_related("clinic").in_bulk(
        {change.patient_id for change in to_open}
    )
    opened = len(
        cases_open_many(
            openings=[
                (
                    patients[change.patient_id],
                    program_by_id[change.program_id],
                    f"care gap: {change.gap.summary}",
                )
                for change in to_open
            ],
            actor=None,
        )
    )
    for change in screened:
        case = open_cases.get((change.patient_id, change.program_id))
        if case is None or case.screenings.exists():
            continue
        _case_close_screened_by_ehr(case=case, change=change)
        closed += 1
    return opened, closed


def _case_close_screened_by_ehr(*, case: NavigationCase, change: CareGapChange) -> None:
    """Close the loop from data: record the EHR's test on the case, then close it."""
    result = change.result
    if result.last_screening_on is None:
        return
    modality = ScreeningModality.objects.get(
        program_id=case.program_id, code=result.last_modality_code
    )
    with transaction.atomic():
        case = case_lock(case)
        if not case.is_open:
            return
        event = ScreeningEvent.objects.create(
            patient_id=case.patient_id,
            modality=modality,
            performed_on=result.last_screening_on,
            result=ScreeningResult.NOT_REPORTED,
            case=case,
            clinical_resource_id=result.last_screening_resource_pk,
        )
        event_record(
            case=case,
            kind=CaseEventKind.SCREENING_RECORDED,
            actor=None,
            summary=f"{modality} on {event.performed_on:%Y-%m-%d}, reported by the EHR",
            data={"screening": event.pk, "modality": modality.code, "source": "ehr"},
        )
        if case.status != CaseStatus.COMPLETED:
            case_transition(
                case=case,
                to_status=CaseStatus.COMPLETED,
                actor=None,
                note="reported by the EHR",
                by_result=True,
            )
        case_transition(case=case, to_status=CaseStatus.CLOSED, actor=None, note="screened")
