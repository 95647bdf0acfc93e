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

from patients.models import Clinic, Patient


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
