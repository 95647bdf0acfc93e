"""A clinic's medical record numbers, compared as the clinic means them.

"CHE555001", " che555001" and "che555001 " are one MRN: EHRs and people type
them with stray spaces and in either case. Every path that registers or finds a
patient by MRN (the referral form, the API, the CSV upload, FHIR intake) stores
the normalised form and matches on it, so one person gets one record. Rows stored
before normalisation are matched too, through the same expression (indexed).
"""

from __future__ import annotations

from django.db.models import Func, QuerySet
from django.db.models.functions import Trim, Upper

from patients.models import Clinic, Patient, PatientMerge


def mrn_normalise(raw: str) -> str:
    """The MRN without surrounding spaces, in capitals."""
    return raw.strip().upper()


def mrn_key() -> Func:
    """The same normalisation in SQL (see the index on Patient)."""
    return Upper(Trim("mrn"))


def patients_with_mrn(
    queryset: QuerySet[Patient], *, clinic: Clinic, mrn: str
) -> QuerySet[Patient]:
    """The clinic's patients whose MRN is `mrn`, however either was typed."""
    return queryset.alias(mrn_key=mrn_key()).filter(clinic=clinic, mrn_key=mrn_normalise(mrn))


def patients_lock(ids: set[int] | list[int]) -> None:
    """Lock these patients' rows, in pk order (one query): every path that locks several
    patients takes them in the same order, so two of them never deadlock."""
    list(
        Patient.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def patient_with_mrn_for_update(*, clinic: Clinic, mrn: str) -> Patient | None:
    """The clinic's patient with this MRN, locked; None if there is none.

    A record that was merged into another (PatientMerge) answers with the record it
    was merged into, so that nothing new lands on a merged record. Merges are read
    after the rows are locked, so a merge that committed while this waited counts.
    """
    candidates = list(
        patients_with_mrn(Patient.objects.select_for_update(), clinic=clinic, mrn=mrn).order_by(
            "pk"
        )
    )
    if not candidates:
        return None
    merged = dict(
        PatientMerge.objects.filter(duplicate__in=candidates).values_list(
            "duplicate_id", "survivor_id"
        )
    )
    for patient in candidates:
        if patient.pk not in merged:
            return patient
    survivor_id = merged[candidates[0].pk]
    # A record kept in one merge may itself have been merged since: follow the chain.
    for _ in range(10):
        survivor = Patient.objects.select_for_update().get(pk=survivor_id)
        onward = (
            PatientMerge.objects.filter(duplicate=survivor)
            .values_list("survivor_id", flat=True)
            .first()
        )
        if onward is None:
            return survivor
        survivor_id = onward
    return None


def patient_kept(*, patient: Patient) -> Patient | None:
    """The record a patient was merged into, along a chain of merges, read without
    locks (the patient itself when it was not merged); None past ten merges, as
    `patient_with_mrn_for_update` gives up."""
    current = patient
    for _ in range(10):
        onward = (
            PatientMerge.objects.filter(duplicate=current)
            .values_list("survivor_id", flat=True)
            .first()
        )
        if onward is None:
            return current
        current = Patient.objects.get(pk=onward)
    return None
