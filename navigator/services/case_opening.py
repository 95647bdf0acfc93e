"""Opening a navigation case for a patient and a screening program."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import event_record
from navigator.models import OPEN_STATUSES, CaseEventKind, NavigationCase, User
from navigator.services.assignment import case_assign_automatically
from patients.models import Patient, PatientMerge, ScreeningProgram


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
