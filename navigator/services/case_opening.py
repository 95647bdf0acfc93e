"""Opening a navigation case for a patient and a screening program."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.bulk_copy import objects_copy, rows_copy
from navigator.assignment_rules import Choice
from navigator.cases import event_record
from navigator.models import (
    OPEN_STATUSES,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
    User,
)
from navigator.services.assignment import (
    case_assign_automatically,
    navigators_choose_for_cases,
    navigators_choose_for_new_patients,
)
from patients.models import Patient, PatientMerge, ScreeningProgram
from patients.mrn import patients_lock

# The event columns `cases_open_for_new_patients` and the bulk referral import give.
EVENT_FIELDS = ("case_id", "kind", "actor_id", "summary", "data", "at")


def case_open(
    *,
    patient: Patient,
    program: ScreeningProgram,
    actor: User | None,
    source: str,
    auto_assign: bool = True,
) -> tuple[NavigationCase, bool]:
    """Open a case for patient × program, or return the open one: (case, created).

    A new case goes to a navigator at once unless `auto_assign` is off, when
    it waits, new, for a manager to assign it.
    """
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        if PatientMerge.objects.filter(duplicate_id=patient.pk).exists():
            raise ValidationError(
                {"patient": f"Record #{patient.pk} was merged into another: open the case there."}
            )
        existing = NavigationCase.objects.filter(
            patient=patient, program=program, status__in=OPEN_STATUSES
        ).first()
        if existing is not None:
            return existing, False
        case = NavigationCase.objects.create(
            patient=patient,
            program=program,
            next_follow_up=timezone.localdate(),
        )
        event_record(
            case=case,
            kind=CaseEventKind.OPENED,
            actor=actor,
            summary=f"Case opened ({source})",
            data={"source": source},
        )
        if auto_assign:
            case = case_assign_automatically(case=case, actor=actor)
        return case, True


def cases_open_for_new_patients(
    *,
    openings: Sequence[tuple[Patient, ScreeningProgram]],
    actor: User | None,
    source: str,
    events_after: Sequence[int] | None = None,
) -> list[NavigationCase]:
    """`case_open` for many patients just created (no case, no merge, no other open
    case yet), in a constant number of queries: the same cases, assignments and events.

    The navigators are chosen in one go (`navigators_choose_for_new_patients`, which
    locks them until the caller's transaction ends); every case is then inserted
    assigned, with the OPENED, ASSIGNED and STATUS_CHANGED events `case_open` would
    record, in one statement each (COPY on PostgreSQL, the cases' keys reserved in one
    more query: `config.bulk_copy`). `events_after`: how many events the caller records
    next on each case (in order), counted into its version now (every event is one).
    """
    if not openings:
        return []
    with transaction.atomic():
        choices = navigators_choose_for_new_patients(openings=openings)
        return _cases_insert(
            openings=[(patient, program, source) for patient, program in openings],
            choices=choices,
            actor=actor,
            events_after=events_after,
        )


def cases_open_many(
    *, openings: Sequence[tuple[Patient, ScreeningProgram, str]], actor: User | None
) -> list[NavigationCase]:
    """`case_open` (assigned automatically) for many (patient, program, source) of
    stored patients, in a constant number of queries: the cases it would open, with the
    same assignments and events. Answers the cases opened, in order.

    As `case_open`: the patients are locked first (in pk order; then the navigators,
    once, as `navigators_choose_for_cases` does), a record merged into another is
    refused with the same error, and a patient x program with an open case already
    keeps it (nothing opened; the same pair twice opens one case).
    """
    if not openings:
        return []
    with transaction.atomic():
        ids = sorted({patient.pk for patient, _, _ in openings})
        patients_lock(ids)
        merged = set(
            PatientMerge.objects.filter(duplicate_id__in=ids).values_list("duplicate_id", flat=True)
        )
        for patient, _, _ in openings:
            if patient.pk in merged:
                # case_open's error, for the first such record in order.
                message = f"Record #{patient.pk} was merged into another: open the case there."
                raise ValidationError({"patient": message})
        taken = set(
            NavigationCase.objects.filter(patient_id__in=ids, status__in=OPEN_STATUSES).values_list(
                "patient_id", "program_id"
            )
        )
        todo = []
        for patient, program, source in openings:
            if (patient.pk, program.pk) not in taken:
                taken.add((patient.pk, program.pk))
                todo.append((patient, program, source))
        choices = navigators_choose_for_cases(
            openings=[(patient, program) for patient, program, _ in todo]
        )
        return _cases_insert(openings=todo, choices=choices, actor=actor)


def _cases_insert(
    *,
    openings: Sequence[tuple[Patient, ScreeningProgram, str]],
    choices: Sequence[Choice],
    actor: User | None,
    events_after: Sequence[int] | None = None,
) -> list[NavigationCase]:
    """Insert the cases, assigned as chosen, with the OPENED, ASSIGNED and
    STATUS_CHANGED events `case_open` records, in one statement each."""
    if not openings:
        return []
    # No savepoint: the cases and their events stand or fall with the caller's
    # transaction (two statements fewer in a referral import's batch).
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        today = timezone.localdate()
        cases = []
        after = list(events_after) if events_after is not None else [0] * len(openings)
        for (patient, program, _source), choice, later in zip(
            openings, choices, after, strict=True
        ):
            assigned = choice.navigator is not None
            cases.append(
                # Keys rather than objects: setting a related object asks the database
                # router, several times a row (the returned cases hold ids only).
                NavigationCase(
                    patient_id=patient.pk,
                    program_id=program.pk,
                    next_follow_up=today,
                    opened_at=now,
                    navigator_id=choice.navigator.pk if choice.navigator else None,
                    needs_interpreter=choice.needs_interpreter if assigned else False,
                    assignment_reason=choice.reason[:300] if assigned else "",
                    status=CaseStatus.ASSIGNED if assigned else CaseStatus.NEW,
                    # 1, and one more for each event (see event_record).
                    version=1 + (3 if assigned else 1) + later,
                )
            )
        objects_copy(cases)
        actor_id = actor.pk if actor is not None else None
        status_changed = f"{CaseStatus.NEW.label} → {CaseStatus.ASSIGNED.label}"
        # Rows of (case_id, kind, actor_id, summary, data, at): nobody reads them back.
        events: list[tuple[object, ...]] = []
        for case, choice, (_patient, _program, source) in zip(
            cases, choices, openings, strict=True
        ):
            opened = f"Case opened ({source})"[:300]
            events.append(
                (case.pk, CaseEventKind.OPENED, actor_id, opened, {"source": source}, now)
            )
            if choice.navigator is None:
                continue
            # What case_assign and case_transition record for a first assignment.
            events.append(
                (
                    case.pk,
                    CaseEventKind.ASSIGNED,
                    actor_id,
                    f"Assigned to {choice.navigator}: {choice.reason}"[:300],
                    {
                        "from": None,
                        "to": choice.navigator.pk,
                        "reason": choice.reason,
                        "needs_interpreter": choice.needs_interpreter,
                        "rebalance": None,
                    },
                    now,
                )
            )
            events.append(
                (
                    case.pk,
                    CaseEventKind.STATUS_CHANGED,
                    actor_id,
                    status_changed,
                    {"from": CaseStatus.NEW, "to": CaseStatus.ASSIGNED, "note": ""},
                    now,
                )
            )
        rows_copy(CaseEvent, EVENT_FIELDS, events)
        return cases
