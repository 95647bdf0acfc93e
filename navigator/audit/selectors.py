"""Reading the audit trail: who looked at a patient, what a user looked at."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

from navigator.audit.models import AccessedPatient, AccessEvent
from patients.models import Clinic, Patient
from patients.mrn import patients_with_mrn


def access_events(
    *,
    patient_id: int | None = None,
    user_id: int | None = None,
    action: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AccessEvent]:
    """Accesses newest first, with the patient ids each touched (one more query)."""
    events = AccessEvent.objects.all()
    if patient_id is not None:
        # Through the (patient, event) index: the patient's accesses, however many rows
        # the trail holds.
        events = events.filter(
            pk__in=AccessedPatient.objects.filter(patient_id=patient_id).values("event_id")
        )
    if user_id is not None:
        events = events.filter(user_id=user_id)
    if action:
        events = events.filter(action=action)
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    return events.prefetch_related(
        Prefetch("patients", queryset=AccessedPatient.objects.order_by("patient_id"))
    )


def patient_for_mrn(*, clinic: Clinic, mrn: str) -> Patient | None:
    """The clinic's patient with this MRN, for the search form (the MRN stays out of URLs)."""
    return patients_with_mrn(Patient.objects.all(), clinic=clinic, mrn=mrn).first()
